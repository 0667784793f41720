//! Writing a bundle: plan every file first, refuse to replace files that
//! differ unless forced, then write each file atomically (temporary file in
//! the same directory, then rename).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::bundle::Rendered;
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

/// Writes every rendered artifact below `dir`. Nothing is written when any
/// existing file differs and `force` is false.
pub fn write_bundle(
    dir: &Path,
    rendered: &[Rendered],
    force: bool,
) -> Result<Vec<(PathBuf, Status)>, Error> {
    let plan = rendered
        .iter()
        .map(|r| {
            let path = dir.join(r.artifact.path);
            plan_one(&path, &r.text).map(|status| (path, status))
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
    for ((path, status), r) in plan.iter().zip(rendered) {
        if *status != Status::Unchanged {
            write_atomic(path, r.text.as_bytes())?;
        }
        if r.artifact.executable {
            make_executable(path)?;
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

/// Sets mode 0755 on a generated script (on Unix; elsewhere a no-op).
pub fn make_executable(path: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(|source| {
            Error::Write {
                path: path.display().to_string(),
                source,
            }
        })?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// so readers see either the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
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
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(err)
}
