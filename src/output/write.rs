//! Writing a bundle: plan every file first, refuse to replace files that
//! differ unless forced, then write each file atomically (temporary file in
//! the same directory, then rename).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::artifacts::artifact::Rendered;
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

/// Writes every rendered artifact below `dir`. Nothing is written when any
/// existing file differs and `force` is false.
pub fn write_bundle(
    dir: &Path,
    rendered: &[Rendered],
    force: bool,
) -> Result<Vec<(PathBuf, Status)>, Error> {
    let files: Vec<OutFile> = rendered
        .iter()
        .map(|r| OutFile {
            path: r.artifact.path.to_owned(),
            text: &r.text,
            executable: r.artifact.executable,
        })
        .collect();
    write_files(dir, &files, force)
}

/// Writes `files` below `dir`. Nothing is written when any existing file
/// differs and `force` is false.
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
    for ((path, status), file) in plan.iter().zip(files) {
        if *status != Status::Unchanged {
            write_atomic(path, file.text.as_bytes(), file.executable)?;
        }
    }
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

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// so readers see either the old file or the whole new one. A script gets
/// mode 0755 before the rename.
pub fn write_atomic(path: &Path, bytes: &[u8], executable: bool) -> Result<(), Error> {
    let err = |source| Error::Write {
        path: path.display().to_string(),
        source,
    };
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(err)?;
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
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}
