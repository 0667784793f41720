//! Writing bundles so that a failure or a kill never leaves half of one.
//!
//! Every run plans each folder against the disk first (created, replaced,
//! unchanged) and refuses to replace a differing file unless forced. New
//! content is assembled in one staging folder, `.podiam-staging-<pid>`,
//! beside the bundle folders; nothing reaches a bundle folder until every
//! target has rendered, passed its checks and been staged. Then:
//!
//! - a folder that did not exist is renamed into place whole, so it is either
//!   absent or complete, manifest included, whenever the process stops;
//! - a folder that exists and holds only bundle files is staged whole and
//!   swapped: the old one moves aside, the new one takes its name and mode;
//!   in between it is absent, never half old and half new;
//! - a folder that also holds files of the user's (or is the current
//!   directory) gets its changed files renamed in one by one, each whole,
//!   `manifest.json` last, and the user's files stay.
//!
//! Durability is one `syncfs` per run before the first rename (nothing is
//! renamed into place before its bytes are on disk) and one after the last
//! (the renames themselves are on disk when podiam exits); never one per
//! file. A staging folder left by a killed run is removed by the next run
//! in the same place, once its process is gone.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// One file to write: its path below its folder, its text, and whether it
/// is a script (mode 0755).
#[derive(Debug, Clone)]
pub struct OutFile<'a> {
    /// Path below the folder, `/`-separated.
    pub path: String,
    /// The content.
    pub text: &'a str,
    /// Whether to write it with mode 0755.
    pub executable: bool,
}

/// The prefix of a staging folder's name; the process id follows.
pub const STAGING: &str = ".podiam-staging-";

/// One folder planned and staged by [`Writer::prepare`], for
/// [`Writer::record`].
pub struct Prepared {
    statuses: Vec<Status>,
    conflicts: Vec<String>,
    pending: Option<Pending>,
}

/// The folders prepared so far, in order, and every conflict found.
#[derive(Default)]
pub struct Plan {
    pending: Vec<Pending>,
    conflicts: Vec<String>,
}

impl Plan {
    /// Records a prepared folder; returns its files' statuses.
    pub fn record(&mut self, prepared: Prepared) -> Vec<Status> {
        self.conflicts.extend(prepared.conflicts);
        self.pending.extend(prepared.pending);
        prepared.statuses
    }
}

/// A folder staged for the commit.
enum Pending {
    /// A new folder, staged whole at `staged`.
    Whole { staged: PathBuf, folder: PathBuf },
    /// An existing folder that holds only bundle files, staged whole: the
    /// old one is moved aside, the new one into its place.
    Swap { staged: PathBuf, folder: PathBuf },
    /// An existing folder: these files (in order) move from `staged` into it.
    Files {
        staged: PathBuf,
        folder: PathBuf,
        files: Vec<String>,
    },
}

/// A run's writes: folders are added one by one, then committed together.
/// Dropped without [`Writer::commit`], it removes everything it staged.
pub struct Writer {
    /// The folder that holds the bundle folders.
    root: PathBuf,
    /// A plain run's one folder name (`None` in a batch).
    single: Option<OsString>,
    staging: PathBuf,
    force: bool,
    /// Set once a differing file is found without `force`: the run will be
    /// refused, so nothing more is staged.
    refused: AtomicBool,
    /// Directories made for `root`, outermost first.
    made: Vec<PathBuf>,
}

impl Writer {
    /// A writer for `out`: in a batch (`batch`), each target is a folder
    /// below `out`; otherwise `out` itself is the one folder.
    pub fn new(out: &Path, batch: bool, force: bool) -> Result<Writer, Error> {
        let (root, single) = if batch {
            (out.to_owned(), None)
        } else {
            let (root, name) = split(out)?;
            (root, Some(name))
        };
        refuse_non_dir(&root)?;
        let mut made = Vec::new();
        make_dirs(&root, &mut made).map_err(|source| write_err(&root, source))?;
        remove_stale(&root);
        let staging = root.join(format!("{STAGING}{}", std::process::id()));
        Ok(Writer {
            root,
            single,
            staging,
            force,
            refused: AtomicBool::new(false),
            made,
        })
    }

    /// The folder of target `name` (`None` for a plain run).
    pub fn folder(&self, name: Option<&str>) -> PathBuf {
        match (name, &self.single) {
            (Some(n), _) => self.root.join(n),
            (None, Some(single)) => self.root.join(single),
            (None, None) => self.root.clone(),
        }
    }

    /// Plans `files` for target `name` against the disk and stages what
    /// changes, for [`Plan::record`]. Several threads may run it at once for
    /// different targets.
    pub fn prepare(&self, name: Option<&str>, files: &[OutFile]) -> Result<Prepared, Error> {
        let folder = self.folder(name);
        refuse_non_dir(&folder)?;
        let exists = folder.is_dir();
        let statuses = files
            .iter()
            .map(|f| match exists {
                true => plan_one(&folder.join(&f.path), f.text),
                false => Ok(Status::Created),
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let conflicts: Vec<String> = files
            .iter()
            .zip(&statuses)
            .filter(|(_, s)| **s == Status::Replaced)
            .map(|(f, _)| folder.join(&f.path).display().to_string())
            .collect();
        if !conflicts.is_empty() && !self.force {
            self.refused.store(true, Ordering::Relaxed);
        }
        let stage = !self.refused.load(Ordering::Relaxed)
            && statuses.iter().any(|s| *s != Status::Unchanged);
        let pending = match stage {
            true => Some(self.stage(folder, exists, files, &statuses)?),
            false => None,
        };
        Ok(Prepared {
            statuses,
            conflicts,
            pending,
        })
    }

    /// Writes one folder below the staging folder: all of it when the folder
    /// is new, or when every entry of the existing folder is a bundle file
    /// (then the folder is swapped whole); otherwise only the changed files.
    fn stage(
        &self,
        folder: PathBuf,
        exists: bool,
        files: &[OutFile],
        plan: &[Status],
    ) -> Result<Pending, Error> {
        let name = folder.file_name().map(OsString::from).unwrap_or_default();
        let staged = self.staging.join(name);
        let whole = !exists || swappable(&folder, files);
        let mut moved = Vec::new();
        for (file, status) in files.iter().zip(plan) {
            if whole || *status != Status::Unchanged {
                let path = staged.join(&file.path);
                write_new(&path, file.text.as_bytes(), file.executable)
                    .map_err(|source| write_err(&path, source))?;
                moved.push(file.path.clone());
            }
        }
        Ok(match (exists, whole) {
            (false, _) => Pending::Whole { staged, folder },
            (true, true) => Pending::Swap { staged, folder },
            (true, false) => Pending::Files {
                staged,
                folder,
                files: moved,
            },
        })
    }

    /// Refuses the run when a differing file would be replaced without
    /// `force`; otherwise syncs the staged content, moves every staged
    /// folder or file into place, and syncs again.
    pub fn commit(mut self, plan: Plan) -> Result<(), Error> {
        if !self.force && !plan.conflicts.is_empty() {
            return Err(Error::WouldOverwrite(plan.conflicts));
        }
        if plan.pending.is_empty() {
            return Ok(());
        }
        preflight(&plan.pending)?;
        sync(&self.staging)?;
        for pending in plan.pending {
            match pending {
                Pending::Whole { staged, folder } => {
                    fs::rename(&staged, &folder).map_err(|source| write_err(&folder, source))?
                }
                Pending::Swap { staged, folder } => swap(&staged, &folder)?,
                Pending::Files {
                    staged,
                    folder,
                    files,
                } => move_files(&staged, &folder, &files)?,
            }
        }
        sync(&self.root)?;
        self.made.clear();
        Ok(())
    }
}

impl Drop for Writer {
    /// Removes the staging folder and any directory made for the run, unless
    /// the commit finished (then only the emptied staging folder goes).
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.staging);
        for dir in self.made.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Before anything moves: every existing folder's destination directories
/// must be writable, so a read-only `scripts/` stops the run with nothing
/// moved rather than halfway through.
fn preflight(pending: &[Pending]) -> Result<(), Error> {
    for p in pending {
        if let Pending::Files { folder, files, .. } = p {
            for file in files {
                let target = folder.join(file);
                let dir = target
                    .ancestors()
                    .skip(1)
                    .find(|d| d.exists())
                    .unwrap_or(folder);
                writable(dir).map_err(|source| write_err(&target, source))?;
            }
        }
    }
    Ok(())
}

/// Puts the staged folder in the place of the existing `folder`: the old
/// one moves aside into the staging folder (removed with it), the new one
/// takes its name and mode. Between the two renames the folder is absent,
/// never half old and half new.
fn swap(staged: &Path, folder: &Path) -> Result<(), Error> {
    let err = |source| write_err(folder, source);
    let mode = fs::metadata(folder).map_err(err)?.permissions();
    fs::set_permissions(staged, mode).map_err(err)?;
    let mut aside = staged.as_os_str().to_owned();
    aside.push(".old");
    fs::rename(folder, &aside).map_err(err)?;
    if let Err(source) = fs::rename(staged, folder) {
        let _ = fs::rename(&aside, folder);
        return Err(err(source));
    }
    Ok(())
}

/// Whether the existing `folder` can be swapped whole: every entry below it
/// is one of `files` or a directory holding them, nothing is a link, and it
/// is not (or does not hold) the current directory.
fn swappable(folder: &Path, files: &[OutFile]) -> bool {
    let holds_cwd = match (std::env::current_dir(), folder.canonicalize()) {
        (Ok(cwd), Ok(f)) => cwd.starts_with(f),
        _ => true,
    };
    !holds_cwd && only_bundle_entries(folder, folder, files).unwrap_or(false)
}

fn only_bundle_entries(root: &Path, dir: &Path, files: &[OutFile]) -> std::io::Result<bool> {
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
            files.iter().any(|f| f.path.starts_with(&prefix))
                && only_bundle_entries(root, &path, files)?
        } else {
            kind.is_file() && files.iter().any(|f| f.path == relative)
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Moves `files` from `staged` into the existing `folder`, in order, making
/// the subdirectories they need.
fn move_files(staged: &Path, folder: &Path, files: &[String]) -> Result<(), Error> {
    for file in files {
        let to = folder.join(file);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(|source| write_err(parent, source))?;
        }
        fs::rename(staged.join(file), &to).map_err(|source| write_err(&to, source))?;
    }
    Ok(())
}

/// A plain run's folder split into the folder that holds it and its name.
fn split(out: &Path) -> Result<(PathBuf, OsString), Error> {
    let out = match out.file_name() {
        Some(_) => out.to_owned(),
        None => out
            .canonicalize()
            .map_err(|source| write_err(out, source))?,
    };
    let name = out.file_name().map(OsString::from).ok_or_else(|| {
        let source = std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a bundle needs a folder of its own, not the file system root",
        );
        write_err(&out, source)
    })?;
    let root = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((root, name))
}

fn write_err(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        path: path.display().to_string(),
        source,
    }
}

/// An existing path that is not a directory cannot hold a bundle.
fn refuse_non_dir(path: &Path) -> Result<(), Error> {
    match fs::metadata(path) {
        Ok(m) if !m.is_dir() => Err(write_err(
            path,
            std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        )),
        _ => Ok(()),
    }
}

fn plan_one(path: &Path, text: &str) -> Result<Status, Error> {
    match fs::read(path) {
        Ok(existing) if existing == text.as_bytes() => Ok(Status::Unchanged),
        Ok(_) => Ok(Status::Replaced),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Status::Created),
        Err(source) => Err(write_err(path, source)),
    }
}

/// Creates `path` (and its missing directories) with `bytes`; mode 0755
/// for a script.
fn write_new(path: &Path, bytes: &[u8], executable: bool) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, bytes)?;
    if executable {
        set_executable(path)?;
    }
    Ok(())
}

/// `create_dir_all`, remembering each directory it makes.
fn make_dirs(dir: &Path, made: &mut Vec<PathBuf>) -> std::io::Result<()> {
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

/// Removes staging folders in `root` whose process is gone (a killed run's).
/// Only on systems with `/proc`; elsewhere they stay for the user to remove.
fn remove_stale(root: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(STAGING)) else {
            continue;
        };
        let dead = pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists();
        if dead {
            let _ = fs::remove_dir_all(entry.path());
        }
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

/// Flushes the file system that holds `dir` to disk: one `syncfs` (on
/// Linux; elsewhere an `fsync` of the directory).
fn sync(dir: &Path) -> Result<(), Error> {
    let handle = fs::File::open(dir).map_err(|source| write_err(dir, source))?;
    #[cfg(target_os = "linux")]
    let result = rustix::fs::syncfs(&handle).map_err(std::io::Error::from);
    #[cfg(not(target_os = "linux"))]
    let result = handle.sync_all();
    result.map_err(|source| write_err(dir, source))
}

/// Whether the current user may create entries in `dir`.
fn writable(dir: &Path) -> std::io::Result<()> {
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
