//! `podiam check`: re-render a bundle in memory and compare it with a
//! directory, file by file, so CI can prove reviewed artifacts still match
//! their parameters.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use similar::TextDiff;

use crate::artifacts::artifact::MANIFEST_PATH;
use crate::error::Error;
use crate::output::write::OutFile;
use crate::render::templates::Overrides;

/// One file whose content differs.
#[derive(Debug, Serialize)]
pub struct Changed {
    /// Path inside the bundle.
    pub path: String,
    /// Unified diff from the file on disk to the rendered artifact.
    pub diff: String,
}

/// How a directory differs from the rendered bundle.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The directory compared.
    pub dir: String,
    /// Whether it matches exactly.
    pub matches: bool,
    /// Files present in both with different content.
    pub changed: Vec<Changed>,
    /// Rendered artifacts with no file in the directory.
    pub missing: Vec<String>,
    /// Files in the directory that the bundle does not have.
    pub extra: Vec<String>,
    /// Manifests that record other template overrides than this run's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub templates: Vec<String>,
}

/// What differs in one target's folder.
#[derive(Debug, Default)]
pub struct Found {
    changed: Vec<Changed>,
    missing: Vec<String>,
    extra: Vec<String>,
    /// Manifests whose recorded overrides differ: path, and what they record.
    templates: Vec<(String, Option<Overrides>)>,
    /// A batch's own files at the top of the directory, compared apart.
    top: BTreeSet<String>,
}

impl Found {
    /// Adds what [`Drift::compare`] found in a target's folder.
    pub fn record(&mut self, found: Found) {
        self.changed.extend(found.changed);
        self.missing.extend(found.missing);
        self.extra.extend(found.extra);
        self.templates.extend(found.templates);
        self.top.extend(found.top);
    }
}

/// A comparison in progress: folders are added one by one (a batch streams
/// its targets), then [`Drift::finish`] lists what no target accounts for.
pub struct Drift {
    dir: std::path::PathBuf,
    batch: bool,
    overrides: Option<Overrides>,
}

impl Drift {
    /// Starts comparing `dir`, which must be a directory; with `batch`,
    /// the whole of a batch is compared, so anything below `dir` outside
    /// the targets' folders is extra (a batch checked with `--target` is
    /// not: only the chosen folder is compared). `overrides` are the
    /// template overrides of this run, to compare with each manifest's.
    pub fn new(dir: &Path, batch: bool, overrides: Option<&Overrides>) -> Result<Drift, Error> {
        if !dir.is_dir() {
            let source = std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory");
            return Err(read_err(dir, source));
        }
        Ok(Drift {
            dir: dir.to_owned(),
            batch,
            overrides: overrides.cloned(),
        })
    }

    /// What differs between one target's folder (`name`, or `dir` itself
    /// for a plain run) and the files a run would write there. Several
    /// threads may run it at once for different targets.
    pub fn compare(&self, name: Option<&str>, files: &[OutFile]) -> Result<Found, Error> {
        let prefix = name.map(|n| format!("{n}/")).unwrap_or_default();
        let folder = name.map_or(self.dir.clone(), |n| self.dir.join(n));
        let mut found = Found::default();
        self.compare_files(&folder, &prefix, files, &mut found)?;
        if !folder.is_dir() {
            return Ok(found);
        }
        let expected: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        let mut present = Vec::new();
        walk(&folder, &folder, &mut present).map_err(|source| read_err(&folder, source))?;
        found.extra = present
            .into_iter()
            .filter(|p| !expected.contains(p.as_str()))
            .map(|p| format!("{prefix}{p}"))
            .collect();
        Ok(found)
    }

    /// A batch's own file at the top of `dir` (its `params.yaml`), to be
    /// compared piece by piece as the batch renders ([`TopCompare`]).
    pub fn top_compare(&self, path: &str) -> Result<TopCompare, Error> {
        let on_disk = self.dir.join(path);
        let disk = match std::fs::File::open(&on_disk) {
            Ok(file) => Some(std::io::BufReader::new(file)),
            Err(e) if gone(&e) => None,
            Err(source) => return Err(read_err(&on_disk, source)),
        };
        Ok(TopCompare {
            path: path.to_owned(),
            on_disk,
            disk,
            agreed: 0,
            rest: None,
            piece: Vec::new(),
        })
    }

    /// Compares each of `files` with its namesake in `folder`.
    fn compare_files(
        &self,
        folder: &Path,
        prefix: &str,
        files: &[OutFile],
        found: &mut Found,
    ) -> Result<(), Error> {
        for OutFile { path, text, .. } in files {
            let shown = format!("{prefix}{path}");
            let on_disk = folder.join(path);
            match std::fs::read(&on_disk) {
                Ok(bytes) if bytes == text.as_bytes() => {}
                Ok(bytes) => {
                    if path == MANIFEST_PATH {
                        self.compare_overrides(&shown, &bytes, found);
                    }
                    found.changed.push(Changed {
                        diff: diff(&shown, &bytes, text),
                        path: shown,
                    });
                }
                Err(e) if gone(&e) => found.missing.push(shown),
                Err(source) => return Err(read_err(&on_disk, source)),
            }
        }
        Ok(())
    }

    /// Notes a manifest on disk that records other template overrides.
    fn compare_overrides(&self, shown: &str, bytes: &[u8], found: &mut Found) {
        let recorded = recorded_overrides(bytes);
        if recorded != self.overrides {
            found.templates.push((shown.to_owned(), recorded));
        }
    }

    /// The report: in a batch, everything below `dir` outside the targets'
    /// folders (`folder` says whether a name is one) is extra too. A bundle
    /// rendered from template overrides, checked without `--templates`, is
    /// a usage error (exit 2).
    pub fn finish(&self, mut found: Found, folder: impl Fn(&str) -> bool) -> Result<Report, Error> {
        let recorded = found.templates.iter().find(|(_, o)| o.is_some());
        if let (None, Some((path, Some(o)))) = (&self.overrides, recorded) {
            return Err(needs_templates(path, o, ""));
        }
        if self.batch {
            let entries =
                std::fs::read_dir(&self.dir).map_err(|source| read_err(&self.dir, source))?;
            for entry in entries {
                let path = entry.map_err(|source| read_err(&self.dir, source))?.path();
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let known = folder(&name) || found.top.contains(&name);
                if known || crate::output::staging::is_staging(&name) {
                    continue;
                }
                if path.is_dir() {
                    walk(&self.dir, &path, &mut found.extra)
                        .map_err(|source| read_err(&path, source))?;
                } else {
                    found.extra.push(name);
                }
            }
        }
        found.extra.sort();
        let matches =
            found.changed.is_empty() && found.missing.is_empty() && found.extra.is_empty();
        let templates = found
            .templates
            .iter()
            .map(|(path, recorded)| self.templates_note(path, recorded.as_ref()))
            .collect();
        Ok(Report {
            dir: self.dir.display().to_string(),
            matches,
            changed: found.changed,
            missing: found.missing,
            extra: found.extra,
            templates,
        })
    }

    /// Why a manifest's recorded overrides differ from this run's.
    fn templates_note(&self, path: &str, recorded: Option<&Overrides>) -> String {
        let shown = |o: Option<&Overrides>| {
            o.map_or("the built-in templates".to_owned(), |o| {
                format!(
                    "overrides of {} (sha256 {})",
                    o.templates.join(", "),
                    o.sha256
                )
            })
        };
        format!(
            "{path}: rendered from {}; this check used {}",
            shown(recorded),
            shown(self.overrides.as_ref())
        )
    }
}

/// The template overrides a manifest's bytes record, if any.
pub fn recorded_overrides(manifest: &[u8]) -> Option<Overrides> {
    serde_json::from_slice::<serde_json::Value>(manifest)
        .ok()
        .and_then(|m| m.get("templates").cloned())
        .and_then(|t| serde_json::from_value::<Overrides>(t).ok())
}

/// `generate` into `folder`, whose manifest records template overrides,
/// with the built-in templates (`overrides` is `None`) would silently drop
/// them: refused. With `--templates`, edited overrides included, the usual
/// rule for changed files (`--force`) decides.
pub fn keeps_overrides(folder: &Path, overrides: Option<&Overrides>) -> Result<(), Error> {
    if overrides.is_some() {
        return Ok(());
    }
    let path = folder.join(MANIFEST_PATH);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(());
    };
    match recorded_overrides(&bytes) {
        Some(recorded) => {
            let shown = path.display().to_string();
            let or =
                format!(", or delete {shown} to render the folder from the built-in templates");
            Err(needs_templates(&shown, &recorded, &or))
        }
        _ => Ok(()),
    }
}

/// A bundle rendered from template overrides cannot be checked without them.
fn needs_templates(path: &str, recorded: &Overrides, or: &str) -> Error {
    let rule = format!(
        "this bundle was rendered from template overrides ({}; sha256 {}): give the same templates with --templates DIR{or}",
        recorded.templates.join(", "),
        recorded.sha256
    );
    Error::Invalid(vec![crate::error::Violation::new(
        "templates",
        Some(path),
        rule,
    )])
}

/// A file that is not there (or a file where its folder should be).
fn gone(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// A batch's own file at the top of the directory, compared with the file
/// there as the batch renders ([`Drift::top_compare`]). While the two agree
/// it holds only how far they agree, so checking a batch never holds its
/// index whole; from the first difference on it holds the rendered rest,
/// for the diff, which takes the part that agreed from the file.
pub struct TopCompare {
    /// Path below the directory.
    path: String,
    on_disk: std::path::PathBuf,
    /// The file, read as far as it agrees; `None` when it is missing.
    disk: Option<std::io::BufReader<std::fs::File>>,
    /// Bytes that agree so far.
    agreed: usize,
    /// What was rendered after the part that agreed, once the two differ.
    rest: Option<String>,
    /// The bytes read to compare with a piece.
    piece: Vec<u8>,
}

impl TopCompare {
    /// Compares the next piece of the rendered file with the file's next
    /// bytes.
    pub fn push(&mut self, piece: &str) -> Result<(), Error> {
        if let Some(rest) = &mut self.rest {
            rest.push_str(piece);
            return Ok(());
        }
        let Some(disk) = &mut self.disk else {
            return Ok(());
        };
        self.piece.clear();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(disk, piece.len() as u64),
            &mut self.piece,
        )
        .map_err(|source| read_err(&self.on_disk, source))?;
        if self.piece == piece.as_bytes() {
            self.agreed += piece.len();
        } else {
            self.rest = Some(piece.to_owned());
        }
        Ok(())
    }

    /// What differs: the file missing, or changed, with its diff.
    pub fn finish(mut self) -> Result<Found, Error> {
        use std::io::{Read, Seek};
        let mut found = Found::default();
        found.top.insert(self.path.clone());
        let Some(disk) = &mut self.disk else {
            found.missing.push(self.path);
            return Ok(found);
        };
        let fail = |source| read_err(&self.on_disk, source);
        let rest = match self.rest.take() {
            Some(rest) => rest,
            None => {
                let mut more = Vec::new();
                disk.take(1).read_to_end(&mut more).map_err(fail)?;
                if more.is_empty() {
                    return Ok(found);
                }
                String::new()
            }
        };
        // The whole file again, through the handle compared: the same file,
        // even if another has taken its name meanwhile.
        let mut bytes = Vec::new();
        let file = disk.get_mut();
        file.rewind()
            .and_then(|()| file.read_to_end(&mut bytes))
            .map_err(fail)?;
        let agreed = bytes
            .get(..self.agreed)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| {
                let why = "changed while it was compared";
                fail(std::io::Error::new(std::io::ErrorKind::InvalidData, why))
            })?;
        found.changed.push(Changed {
            diff: diff(&self.path, &bytes, &format!("{agreed}{rest}")),
            path: self.path,
        });
        Ok(found)
    }
}

fn read_err(path: &Path, source: std::io::Error) -> Error {
    Error::InputRead {
        path: path.display().to_string(),
        source,
    }
}

fn diff(path: &str, on_disk: &[u8], rendered: &str) -> String {
    let old = String::from_utf8_lossy(on_disk);
    TextDiff::from_lines(old.as_ref(), rendered)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("a/{path} (on disk)"),
            &format!("b/{path} (rendered)"),
        )
        .to_string()
}

/// Collects every file below `dir` as a `/`-separated path relative to `root`.
/// A run's staging folder and lock file (a live run's, or a killed one's
/// that the next run removes) are not part of the bundle.
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if crate::output::staging::is_staging(&entry.file_name().to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.push(parts.join("/"));
        }
    }
    Ok(())
}

impl Report {
    /// The report as text: a diff per changed file, then missing and extra files.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for c in &self.changed {
            text.push_str(&format!("changed: {}\n{}", c.path, c.diff));
        }
        for m in &self.missing {
            text.push_str(&format!("missing: {m}\n"));
        }
        for e in &self.extra {
            text.push_str(&format!("extra:   {e}\n"));
        }
        for t in &self.templates {
            text.push_str(&format!("templates: {t}\n"));
        }
        text.push_str(&format!("{}\n", self.summary()));
        text
    }

    /// One line: matches, or how many files differ.
    pub fn summary(&self) -> String {
        if self.matches {
            format!("{} matches the parameters", self.dir)
        } else {
            format!(
                "{} differs from the parameters: {} changed, {} missing, {} extra",
                self.dir,
                self.changed.len(),
                self.missing.len(),
                self.extra.len()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rendered` pushed in `pieces` against `on_disk`: what `finish` finds.
    fn compared(on_disk: Option<&str>, pieces: &[&str]) -> Found {
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some(text) = on_disk {
            std::fs::write(dir.path().join("top.yaml"), text).expect("write");
        }
        let drift = Drift::new(dir.path(), true, None).expect("drift");
        let mut top = drift.top_compare("top.yaml").expect("open");
        for piece in pieces {
            top.push(piece).expect("push");
        }
        top.finish().expect("finish")
    }

    #[test]
    fn a_top_file_compared_piece_by_piece_gives_the_whole_files_diff() {
        let pieces = ["head\n", "a\nb\n", "c\n", "d\ne\n"];
        let rendered = pieces.concat();
        let cases = [
            ("the same", rendered.clone()),
            ("shorter", "head\na\nb\n".to_owned()),
            ("cut inside a piece", "head\na\nb\nc\nd".to_owned()),
            ("longer", format!("{rendered}f\n")),
            ("another first piece", format!("HEAD\n{}", &rendered[5..])),
            ("another middle piece", "head\na\nB\nc\nd\ne\n".to_owned()),
            ("empty", String::new()),
        ];
        for (what, on_disk) in cases {
            let found = compared(Some(&on_disk), &pieces);
            assert!(found.missing.is_empty(), "{what}");
            assert_eq!(found.top, ["top.yaml".to_owned()].into(), "{what}");
            if on_disk == rendered {
                assert!(found.changed.is_empty(), "{what}");
                continue;
            }
            let [changed] = &found.changed[..] else {
                panic!("{what}: {:?}", found.changed.len());
            };
            assert_eq!(changed.path, "top.yaml", "{what}");
            assert_eq!(
                changed.diff,
                diff("top.yaml", on_disk.as_bytes(), &rendered),
                "{what}"
            );
        }
    }

    #[test]
    fn a_missing_top_file_is_missing() {
        let found = compared(None, &["head\n", "a\n"]);
        assert_eq!(found.missing, ["top.yaml"]);
        assert!(found.changed.is_empty());
    }
}
