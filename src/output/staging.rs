//! The staging folder where a run assembles its bundles before they move
//! into place, and the lock that tells a live run's staging folder from a
//! killed run's.
//!
//! A run's staging folder is `.podiam-staging-<pid>-<random>`, beside the
//! folders it writes, with a lock file of the same name plus `.lock`. The
//! run holds an exclusive `flock` on that file for as long as it lives; the
//! kernel drops it when the process ends, however it ends. A later run
//! removes every staging folder whose lock it can take, so it never touches
//! a live run's, whatever process namespace that run is in.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// The prefix of every staging folder's and lock file's name.
pub const PREFIX: &str = ".podiam-staging-";

/// A live staging folder: removed, with its lock file, when dropped.
pub struct Staging {
    /// The folder.
    pub dir: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

impl Staging {
    /// Takes a new staging folder in `root`. The lock file is created and
    /// locked under a temporary name and only then renamed into place, so
    /// no other run ever sees it unlocked.
    pub fn create(root: &Path) -> std::io::Result<Staging> {
        let id = format!("{PREFIX}{}-{:016x}", std::process::id(), random());
        let lock_path = root.join(format!("{id}.lock"));
        let fresh = root.join(format!("{id}.lock.new"));
        let lock = File::options().write(true).create_new(true).open(&fresh)?;
        let taken = lock.lock().and_then(|()| fs::rename(&fresh, &lock_path));
        if let Err(e) = taken {
            let _ = fs::remove_file(&fresh);
            return Err(e);
        }
        let dir = root.join(&id);
        if let Err(e) = fs::create_dir(&dir) {
            let _ = fs::remove_file(&lock_path);
            return Err(e);
        }
        Ok(Staging {
            dir,
            lock_path,
            _lock: lock,
        })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// Whether `name` is a staging folder's or lock file's name.
pub fn is_staging(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// Removes the staging folders in `root` that no live run holds: those
/// whose lock file can be locked, or has gone. Errors are ignored: what
/// cannot be removed now is removed by a later run.
pub fn remove_stale(root: &Path) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_staging(&name) {
            continue;
        }
        if name.ends_with(".lock.new") {
            // A lock file of a run killed before it was renamed into place;
            // a minute old, so never one a starting run is about to lock.
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age.as_secs() > 60));
            if old && File::open(entry.path()).is_ok_and(|l| l.try_lock().is_ok()) {
                let _ = fs::remove_file(entry.path());
            }
            continue;
        }
        if let Some(dir) = name.strip_suffix(".lock") {
            // A lock without its folder: the run ended between the two.
            let orphan = !root.join(dir).exists()
                && File::open(entry.path()).is_ok_and(|l| l.try_lock().is_ok());
            if orphan {
                let _ = fs::remove_file(entry.path());
            }
            continue;
        }
        let lock_path = root.join(format!("{name}.lock"));
        let lock = match File::options().write(true).open(&lock_path) {
            Ok(lock) => lock,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = fs::remove_dir_all(entry.path());
                continue;
            }
            Err(_) => continue,
        };
        if lock.try_lock().is_ok() {
            let _ = fs::remove_dir_all(entry.path());
            let _ = fs::remove_file(&lock_path);
        }
    }
}

/// 64 bits from the standard library's per-process random hash keys.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish()
}
