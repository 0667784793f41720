//! The file system operations under [`crate::output::write`]: planning one
//! file, writing a staged file, moving files and folders into place, and
//! the checks that decide whether a folder may be swapped whole.

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

/// Whether the existing `folder` may be swapped whole for a staged copy:
/// it is a real folder on the staging folder's file system (so not a mount
/// point), with the owner and group a new folder there gets, it holds only
/// bundle files, and it is not (nor holds) the current directory.
pub(super) fn swappable(folder: &Path, staging: &Path, files: &[String]) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (Ok(f), Ok(s)) = (fs::symlink_metadata(folder), fs::metadata(staging)) else {
            return false;
        };
        if !f.is_dir() || f.dev() != s.dev() || f.uid() != s.uid() || f.gid() != s.gid() {
            return false;
        }
    }
    let holds_cwd = match (std::env::current_dir(), folder.canonicalize()) {
        (Ok(cwd), Ok(f)) => cwd.starts_with(f),
        _ => true,
    };
    !holds_cwd && only_bundle_entries(folder, folder, files).unwrap_or(false)
}

/// Puts `staged` in the place of the existing `folder`, which moves aside
/// to `aside`, keeping the folder's mode. When the folder turns out to hold
/// something else by now (a file added since it was planned), it goes back
/// untouched and `Ok(false)` says so.
pub(super) fn swap(
    staged: &Path,
    folder: &Path,
    aside: &Path,
    files: &[String],
) -> Result<bool, Error> {
    let err = |source| write_err(folder, source);
    let mode = fs::metadata(folder).map_err(err)?.permissions();
    fs::set_permissions(staged, mode).map_err(err)?;
    fs::rename(folder, aside).map_err(err)?;
    if !only_bundle_entries(aside, aside, files).unwrap_or(false) {
        fs::rename(aside, folder).map_err(err)?;
        return Ok(false);
    }
    if let Err(source) = fs::rename(staged, folder) {
        let _ = fs::rename(aside, folder);
        return Err(err(source));
    }
    Ok(true)
}

/// The staged copy of an unchanged file: a hard link to the file in place,
/// so the swapped folder keeps its inode and time; a copy where a link
/// cannot be made.
pub(super) fn link_unchanged(
    from: &Path,
    to: &Path,
    text: &str,
    executable: bool,
) -> std::io::Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    write_new(to, text.as_bytes(), executable)
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

/// Whether every entry below `dir` is one of `files` or a directory that
/// holds some of them; a link of any kind is not.
pub(super) fn only_bundle_entries(
    root: &Path,
    dir: &Path,
    files: &[String],
) -> std::io::Result<bool> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        let relative = path
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let ok = if kind.is_dir() {
            let prefix = format!("{relative}/");
            files.iter().any(|f| f.starts_with(&prefix)) && only_bundle_entries(root, &path, files)?
        } else {
            kind.is_file() && files.contains(&relative)
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
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
pub(super) fn write_new(path: &Path, bytes: &[u8], executable: bool) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, bytes)?;
    if executable {
        set_executable(path)?;
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
pub(super) fn sync(dir: &Path) -> Result<(), Error> {
    let handle = fs::File::open(dir).map_err(|source| write_err(dir, source))?;
    #[cfg(target_os = "linux")]
    let result = rustix::fs::syncfs(&handle).map_err(std::io::Error::from);
    #[cfg(not(target_os = "linux"))]
    let result = handle.sync_all();
    result.map_err(|source| write_err(dir, source))
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
