//! The file system operations under [`crate::output::write`]: writing a
//! staged file, moving files into place, and the checks made before.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// An I/O error on `path`, as podiam reports it.
pub(super) fn write_err(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        path: path.display().to_string(),
        source,
    }
}

/// An error on `path` that is not the operating system's.
pub(super) fn refuse(path: &Path, why: &str) -> Error {
    write_err(path, std::io::Error::other(why.to_owned()))
}

/// Refuses a file path below `folder` that goes through a symbolic link (or
/// is one): podiam writes a bundle only into its own folder.
pub(super) fn no_links_below(folder: &Path, relative: &str) -> Result<(), Error> {
    let mut path = folder.to_owned();
    for part in relative.split('/') {
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(refuse(
                    &path,
                    "is a symbolic link; podiam writes a bundle only into real folders and files below --out",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(write_err(&path, source)),
        }
    }
    Ok(())
}

/// Refuses a destination directory on another file system than the
/// staging folder (a mount point below `--out`): a rename cannot cross it.
pub(super) fn same_file_system(dir: &Path, staging: &Path) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let dev = |p: &Path| fs::metadata(p).map(|m| m.dev());
        match (dev(dir), dev(staging)) {
            (Ok(a), Ok(b)) if a != b => {
                let why = "is on another file system than the rest of --out (a mount point?); podiam moves files into place by renaming them, which cannot cross file systems";
                return Err(refuse(dir, why));
            }
            (Err(source), _) => return Err(write_err(dir, source)),
            _ => {}
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, staging);
    Ok(())
}

/// Paths that must not exist yet, checked without following links.
pub(super) fn absent(path: &Path) -> Result<(), Error> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(write_err(path, source)),
        Ok(_) => Err(refuse(
            path,
            "appeared while podiam was running; nothing was moved into place",
        )),
    }
}

pub(super) fn move_files(staged: &Path, folder: &Path, files: &[String]) -> Result<(), Error> {
    for file in files {
        let to = folder.join(file);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|source| write_err(parent, source))?;
        }
        fs::rename(staged.join(file), &to).map_err(|source| write_err(&to, source))?;
    }
    Ok(())
}
/// Writes a new file in an existing directory; a script gets mode 0755.
pub(super) fn write_new(path: &Path, bytes: &[u8], executable: bool) -> std::io::Result<()> {
    let mut file = fs::File::create(path)?;
    std::io::Write::write_all(&mut file, bytes)?;
    if executable {
        set_executable(&file)?;
    }
    Ok(())
}
pub(super) fn make_dirs(dir: &Path, made: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|d| !d.exists()).collect();
    for d in missing.into_iter().rev() {
        if d.as_os_str().is_empty() {
            continue;
        }
        fs::create_dir(d)?;
        made.push(d.to_owned());
    }
    Ok(())
}
fn set_executable(file: &fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(0o755))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}
/// Syncs the file system of `handle` (a directory's). On Linux a write-back
/// error is reported once per open handle, to handles opened before it:
/// hold a handle opened before the writes it must cover.
pub(super) fn sync_with(handle: &fs::File) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    let result = rustix::fs::syncfs(handle).map_err(std::io::Error::from);
    #[cfg(not(target_os = "linux"))]
    let result = handle.sync_all();
    result
}
pub(super) fn writable(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use rustix::fs::Access;
        rustix::fs::access(dir, Access::WRITE_OK | Access::EXEC_OK).map_err(std::io::Error::from)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
