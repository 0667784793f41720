//! Writing a bundle: plan every file first, refuse to replace files that
//! differ unless forced, stage every new content in a temporary file beside
//! its destination, then rename them all into place.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// What happened, or will happen, to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The file did not exist.
    Created,
    /// The file existed with different content and was replaced (`--force`).
    Replaced,
    /// The file already had exactly this content; it was not touched.
    Unchanged,
}

impl Status {
    /// A word for reports.
    pub fn word(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Replaced => "replaced",
            Status::Unchanged => "unchanged",
        }
    }
}

/// One file to write: its path below the output directory, its text, and
/// whether it is a script (mode 0755).
#[derive(Debug, Clone)]
pub struct OutFile<'a> {
    /// Path below the output directory, `/`-separated.
    pub path: String,
    /// The content.
    pub text: &'a str,
    /// Whether to write it with mode 0755.
    pub executable: bool,
}

/// Writes `files` below `dir`. Nothing is written when any existing file
/// differs and `force` is false. Every new content is first staged in a
/// temporary file beside its destination; only when all are staged are they
/// renamed into place, so a write failure (a read-only directory, a full
/// disk) leaves nothing behind: no file, no temporary, no new directory.
pub fn write_files(
    dir: &Path,
    files: &[OutFile],
    force: bool,
) -> Result<Vec<(PathBuf, Status)>, Error> {
    let plan = files
        .iter()
        .map(|f| {
            let path = dir.join(&f.path);
            plan_one(&path, f.text).map(|status| (path, status))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let conflicts: Vec<String> = plan
        .iter()
        .filter(|(_, s)| *s == Status::Replaced)
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !force && !conflicts.is_empty() {
        return Err(Error::WouldOverwrite(conflicts));
    }
    let mut staging = Staging::default();
    for ((path, status), file) in plan.iter().zip(files) {
        if *status != Status::Unchanged
            && let Err(e) = staging.stage(path, file.text.as_bytes(), file.executable)
        {
            staging.abandon();
            return Err(e);
        }
    }
    staging.commit()?;
    Ok(plan)
}

fn plan_one(path: &Path, text: &str) -> Result<Status, Error> {
    match fs::read(path) {
        Ok(existing) if existing == text.as_bytes() => Ok(Status::Unchanged),
        Ok(_) => Ok(Status::Replaced),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Status::Created),
        Err(source) => Err(Error::Write {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Sets mode 0755 (on Unix; elsewhere a no-op).
fn set_executable(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Temporary files waiting to be renamed into place, and the directories
/// made for them.
#[derive(Default)]
struct Staging {
    /// (temporary file, destination).
    staged: Vec<(PathBuf, PathBuf)>,
    /// Directories that did not exist before, outermost first.
    made: Vec<PathBuf>,
}

impl Staging {
    /// Writes `bytes` to a synced temporary file beside `path` (mode 0755
    /// for a script), making the missing directories.
    fn stage(&mut self, path: &Path, bytes: &[u8], executable: bool) -> Result<(), Error> {
        let err = |source| Error::Write {
            path: path.display().to_string(),
            source,
        };
        let parent = path.parent().unwrap_or(Path::new("."));
        self.make_dirs(parent).map_err(err)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let tmp = parent.join(format!(".{name}.podiam-{}.tmp", std::process::id()));
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(bytes)?;
            if executable {
                set_executable(&tmp)?;
            }
            file.sync_all()
        })();
        match result {
            Ok(()) => {
                self.staged.push((tmp, path.to_owned()));
                Ok(())
            }
            Err(source) => {
                let _ = fs::remove_file(&tmp);
                Err(err(source))
            }
        }
    }

    /// `create_dir_all`, remembering each directory it makes.
    fn make_dirs(&mut self, dir: &Path) -> std::io::Result<()> {
        let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
        for d in missing.into_iter().rev() {
            if d.as_os_str().is_empty() {
                continue;
            }
            fs::create_dir(d)?;
            self.made.push(d.to_owned());
        }
        Ok(())
    }

    /// Renames every staged file into place.
    fn commit(mut self) -> Result<(), Error> {
        let staged = std::mem::take(&mut self.staged);
        for (i, (tmp, path)) in staged.iter().enumerate() {
            if let Err(source) = fs::rename(tmp, path) {
                staged[i..].iter().for_each(|(t, _)| {
                    let _ = fs::remove_file(t);
                });
                return Err(Error::Write {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
        Ok(())
    }

    /// Removes every staged file and every directory made for them.
    fn abandon(self) {
        for (tmp, _) in &self.staged {
            let _ = fs::remove_file(tmp);
        }
        for dir in self.made.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}
