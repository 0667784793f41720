//! `podiam check`: re-render a bundle in memory and compare it with a
//! directory, file by file, so CI can prove reviewed artifacts still match
//! their parameters.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use similar::TextDiff;

use crate::error::Error;
use crate::output::write::OutFile;

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
}

/// Compares `dir` with the files a run would write.
pub fn compare(dir: &Path, files: &[OutFile]) -> Result<Report, Error> {
    let read_err = |path: &Path, source| Error::InputRead {
        path: path.display().to_string(),
        source,
    };
    if !dir.is_dir() {
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory");
        return Err(read_err(dir, source));
    }
    let mut changed = Vec::new();
    let mut missing = Vec::new();
    for OutFile {
        path: relative,
        text,
        ..
    } in files
    {
        let path = dir.join(relative);
        match std::fs::read(&path) {
            Ok(bytes) if bytes == text.as_bytes() => {}
            Ok(bytes) => changed.push(Changed {
                path: relative.clone(),
                diff: diff(relative, &bytes, text),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => missing.push(relative.clone()),
            Err(source) => return Err(read_err(&path, source)),
        }
    }
    let expected: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut extra = Vec::new();
    walk(dir, dir, &mut extra).map_err(|source| read_err(dir, source))?;
    extra.retain(|p| !expected.contains(p.as_str()));
    extra.sort();
    let matches = changed.is_empty() && missing.is_empty() && extra.is_empty();
    Ok(Report {
        dir: dir.display().to_string(),
        matches,
        changed,
        missing,
        extra,
    })
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
fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
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
