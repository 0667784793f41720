//! What a plan holds for each folder until the commit, and the commit's
//! moves: checking every destination first, moving each staged folder or
//! file into place, and moving new folders back when a move fails.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::output::folder::{self, write_err};

/// A folder staged for the commit. A plan holds one per target, so each
/// is small: a batch's new target folder, by far the most common, is held
/// by its name alone.
pub(super) enum Pending {
    /// A new folder `<root>/<name>`, staged whole at `<staging>/<name>`.
    Named(Box<OsStr>),
    /// Any other new folder, staged whole: where it is staged, and where it
    /// goes.
    Whole(Box<(PathBuf, PathBuf)>),
    /// An existing folder's files.
    Files(Box<Files>),
}

/// An existing folder: these files move from `staged` into it, in order;
/// `created` says which of them must still be absent.
pub(super) struct Files {
    pub(super) staged: PathBuf,
    pub(super) folder: PathBuf,
    pub(super) files: Vec<(String, bool)>,
}

impl Pending {
    /// A new folder staged whole, as `(staged, folder)`, with `places`
    /// (the staging folder and the root).
    pub(super) fn whole(&self, (staging, root): (&Path, &Path)) -> Option<(PathBuf, PathBuf)> {
        match self {
            Pending::Named(name) => Some((staging.join(&**name), root.join(&**name))),
            Pending::Whole(paths) => Some((paths.0.clone(), paths.1.clone())),
            Pending::Files(_) => None,
        }
    }
}

/// Moves one staged folder, or an existing folder's staged files, into
/// place.
pub(super) fn apply(pending: &Pending, places: (&Path, &Path)) -> Result<(), Error> {
    if let Pending::Files(f) = pending {
        let paths: Vec<String> = f.files.iter().map(|(p, _)| p.clone()).collect();
        return folder::move_files(&f.staged, &f.folder, &paths);
    }
    match pending.whole(places) {
        Some((staged, folder)) => {
            fs::rename(staged, &folder).map_err(|source| write_err(&folder, source))
        }
        None => Ok(()),
    }
}

/// Moves a new folder that was renamed into place back to the staging
/// folder. An existing folder's files cannot be moved back: the checks
/// before the first rename are there so that they need not be.
pub(super) fn undo(pending: &Pending, places: (&Path, &Path)) {
    if let Some((staged, folder)) = pending.whole(places) {
        let _ = fs::rename(folder, staged);
    }
}

/// Before anything moves, every destination again: a new folder's place is
/// still free; in an existing folder, a file to create is still absent, no
/// link is on the way, and each directory a file moves into is writable and
/// on the staging folder's file system (a rename cannot cross one).
pub(super) fn preflight(pending: &[Pending], places: (&Path, &Path)) -> Result<(), Error> {
    let staging = places.0;
    for p in pending {
        match p {
            Pending::Files(f) => {
                let folder = &f.folder;
                for (file, created) in &f.files {
                    let target = folder.join(file);
                    folder::no_links_below(folder, file)?;
                    if *created {
                        folder::absent(&target)?;
                    }
                    let dir = target
                        .ancestors()
                        .skip(1)
                        .find(|d| d.exists())
                        .unwrap_or(folder);
                    folder::writable(dir).map_err(|source| write_err(&target, source))?;
                    folder::same_file_system(dir, staging)?;
                }
            }
            new => {
                if let Some((_, folder)) = new.whole(places) {
                    folder::absent(&folder)?;
                }
            }
        }
    }
    Ok(())
}
