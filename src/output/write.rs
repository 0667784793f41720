//! Writing bundles so that a failure or a kill never leaves half of one.
//!
//! Every run plans each folder against the disk first (created, replaced,
//! unchanged) and refuses to replace a differing file unless forced. New
//! content is assembled in a staging folder ([`crate::output::staging`]);
//! nothing reaches a bundle folder until every target has rendered, passed
//! its checks and been staged. Then:
//!
//! - a folder that did not exist is renamed into place whole, so it is either
//!   absent or complete, manifest included, whenever the process stops;
//! - a folder that exists gets its changed files renamed in one by one, each
//!   whole, `manifest.json` last; its other files, the user's included, stay
//!   as they are. A kill in the middle of that leaves some files new and the
//!   manifest old, which `podiam check` shows and the next run finishes.
//!   (Swapping an existing folder whole was tried and dropped: owners,
//!   modes, hard links, mount points and files edited meanwhile made it
//!   lose the user's data in ways a per-file update cannot.)
//!
//! For a plain run over an existing `--out`, the staging folder is inside
//! `--out`, so podiam needs write access to `--out` alone. Nothing is
//! written through a symbolic link below `--out`. Just before the first
//! rename every destination is checked again (a new folder's place still
//! free, a file to create still absent, no link on the way, the same file
//! system as the staging folder, writable); if a folder's rename still
//! fails, the folders already renamed are moved back.
//!
//! Durability is one `syncfs` per run before the first rename (nothing is
//! renamed into place before its bytes are on disk) and one after the last
//! (the renames themselves are on disk when podiam exits); never one per
//! file.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::output::flush::Flusher;
use crate::output::folder::{self, write_err};
use crate::output::pending::{Files, Pending, apply, preflight, undo};
use crate::output::staging::Staging;
use crate::output::top::{TOP, TopFile, same_as_staged};

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

/// One folder planned and staged by [`Writer::prepare`], for
/// [`Plan::record`].
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

/// A run's writes: folders are prepared one by one (on several threads),
/// recorded in a [`Plan`], then committed together. Dropped without a
/// finished [`Writer::commit`], it removes everything it staged and every
/// directory it made.
pub struct Writer {
    /// The folder that holds the bundle folders (a plain run: `--out`'s
    /// parent, or `--out` itself when it exists).
    root: PathBuf,
    /// A plain run's one folder (`None` in a batch).
    single: Option<PathBuf>,
    /// A plain run over an existing `--out`: files are moved in one by one.
    in_place: bool,
    /// `None` only while dropping: the staging folder goes first.
    staging: Option<Staging>,
    force: bool,
    /// Set once a differing file is found without `force`: the run will be
    /// refused, so nothing more is staged.
    refused: AtomicBool,
    /// Directories made for `root`, outermost first.
    made: Vec<PathBuf>,
    /// A batch's early write-back of what it stages ([`Flusher`]).
    flusher: Option<Flusher>,
    /// The staging folder, opened before anything was staged: the commit
    /// syncs through it, so a write-back error since then reaches it.
    durable: fs::File,
}

impl Writer {
    /// A writer for `out`: in a batch (`batch`), each target is a folder
    /// below `out`; otherwise `out` itself is the one folder.
    pub fn new(out: &Path, batch: bool, force: bool) -> Result<Writer, Error> {
        let (root, single, in_place) = match (batch, out.exists()) {
            (true, _) => (out.to_owned(), None, false),
            (false, true) => (out.to_owned(), Some(out.to_owned()), true),
            (false, false) => {
                let root = match out.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                    _ => PathBuf::from("."),
                };
                (root, Some(out.to_owned()), false)
            }
        };
        refuse_non_dir(&root)?;
        let mut made = Vec::new();
        folder::make_dirs(&root, &mut made).map_err(|source| write_err(&root, source))?;
        crate::output::staging::remove_stale(&root);
        if in_place {
            // A plain run killed after it renamed a new --out into place
            // left its staging folder beside it.
            let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
            crate::output::staging::remove_stale(parent.unwrap_or(Path::new(".")));
        }
        let staging = match Staging::create(&root) {
            Ok(staging) => staging,
            Err(source) => {
                made.iter().rev().for_each(|d| {
                    let _ = fs::remove_dir(d);
                });
                return Err(write_err(&root, source));
            }
        };
        let durable = match fs::File::open(&staging.dir) {
            Ok(handle) => handle,
            Err(source) => {
                let dir = staging.dir.clone();
                drop(staging);
                made.iter().rev().for_each(|d| {
                    let _ = fs::remove_dir(d);
                });
                return Err(write_err(&dir, source));
            }
        };
        let flusher = batch.then(|| Flusher::start(&staging.dir)).flatten();
        Ok(Writer {
            root,
            single,
            in_place,
            staging: Some(staging),
            force,
            refused: AtomicBool::new(false),
            made,
            flusher,
            durable,
        })
    }

    /// The staging folder (always there until the writer drops).
    fn staging_dir(&self) -> &Path {
        self.staging
            .as_ref()
            .map_or(Path::new(""), |s| s.dir.as_path())
    }

    /// The folder of target `name` (`None` for a plain run).
    pub fn folder(&self, name: Option<&str>) -> PathBuf {
        folder_of(&self.root, self.single.as_deref(), name)
    }

    /// [`Writer::folder`], kept after the commit (for the lines printed then).
    pub fn folders(&self) -> impl Fn(Option<&str>) -> PathBuf + use<> {
        let (root, single) = (self.root.clone(), self.single.clone());
        move |name| folder_of(&root, single.as_deref(), name)
    }

    /// Plans `files` for target `name` against the disk and stages what
    /// changes, for [`Plan::record`]. Several threads may run it at once for
    /// different targets.
    pub fn prepare(&self, name: Option<&str>, files: &[OutFile]) -> Result<Prepared, Error> {
        let folder = self.folder(name);
        let staged = folder.file_name().map(OsString::from).unwrap_or_default();
        self.prepare_in(folder, staged, files)
    }

    /// A batch's own file at the top of `--out` (its `params.yaml`), to be
    /// written piece by piece into the staging folder, apart from every
    /// target folder, then planned by [`Writer::prepare_top`].
    pub fn top_file(&self, path: &str) -> Result<TopFile, Error> {
        let staged = self.staging_dir().join(TOP).join(path);
        if let Some(parent) = staged.parent() {
            fs::create_dir_all(parent).map_err(|source| write_err(parent, source))?;
        }
        let file = fs::File::create_new(&staged).map_err(|source| write_err(&staged, source))?;
        Ok(TopFile {
            path: path.to_owned(),
            staged,
            out: std::io::BufWriter::new(file),
            len: 0,
        })
    }

    /// As [`Writer::prepare`], for a [`TopFile`]: it is compared with the
    /// file at the top of `--out` without reading either whole, and stays
    /// staged only when it changes; record it last, so it moves into place
    /// after every target.
    pub fn prepare_top(&self, top: TopFile) -> Result<Prepared, Error> {
        let TopFile {
            path,
            staged,
            out,
            len,
        } = top;
        out.into_inner()
            .map_err(|e| write_err(&staged, e.into_error()))?;
        let folder = self.root.clone();
        let exists = self.existing(&folder)?;
        let status = match exists {
            true => match same_as_staged(&folder.join(&path), &staged)? {
                None => Status::Created,
                Some(true) => Status::Unchanged,
                Some(false) => Status::Replaced,
            },
            false => Status::Created,
        };
        let (conflicts, stage) = self.decide(&folder, [path.as_str()], &[status]);
        let pending = match stage {
            true => {
                if exists {
                    folder::no_links_below(&folder, &path)?;
                }
                if let Some(flusher) = &self.flusher {
                    flusher.staged(len);
                }
                let staged = self.staging_dir().join(TOP);
                let files = vec![(path, status == Status::Created)];
                Some(self.pending(staged, folder, exists.then_some(files)))
            }
            false => {
                // Unchanged, or the run is refused: nothing to sync or move.
                let _ = fs::remove_file(&staged);
                None
            }
        };
        Ok(Prepared {
            statuses: vec![status],
            conflicts,
            pending,
        })
    }

    fn prepare_in(
        &self,
        folder: PathBuf,
        staged: OsString,
        files: &[OutFile],
    ) -> Result<Prepared, Error> {
        let exists = self.existing(&folder)?;
        let statuses = files
            .iter()
            .map(|f| match exists {
                true => plan_one(&folder.join(&f.path), f.text),
                false => Ok(Status::Created),
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let paths = files.iter().map(|f| f.path.as_str());
        let (conflicts, stage) = self.decide(&folder, paths, &statuses);
        let pending = match stage {
            true => Some(self.stage(folder, staged, exists, files, &statuses)?),
            false => None,
        };
        Ok(Prepared {
            statuses,
            conflicts,
            pending,
        })
    }

    /// The files of `folder` that would be replaced (each a conflict unless
    /// forced, and the first one refuses the run), and whether to stage:
    /// not once the run is refused, nor when nothing changes.
    fn decide<'p>(
        &self,
        folder: &Path,
        paths: impl IntoIterator<Item = &'p str>,
        statuses: &[Status],
    ) -> (Vec<String>, bool) {
        let conflicts: Vec<String> = paths
            .into_iter()
            .zip(statuses)
            .filter(|(_, s)| **s == Status::Replaced)
            .map(|(p, _)| folder.join(p).display().to_string())
            .collect();
        if !conflicts.is_empty() && !self.force {
            self.refused.store(true, Ordering::Relaxed);
        }
        let stage = !self.refused.load(Ordering::Relaxed)
            && statuses.iter().any(|s| *s != Status::Unchanged);
        (conflicts, stage)
    }

    /// Whether `folder` exists; anything there that is not a folder (or a
    /// link to one) is refused.
    fn existing(&self, folder: &Path) -> Result<bool, Error> {
        match fs::symlink_metadata(folder) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(write_err(folder, source)),
            Ok(_) => refuse_non_dir(folder).map(|()| true),
        }
    }

    /// Writes one folder's new and changed files below the staging folder,
    /// refusing any that would be written through a symbolic link (a batch's
    /// target folder that is a link included; a plain run's `--out` may be
    /// a link to a folder).
    fn stage(
        &self,
        folder: PathBuf,
        staged: OsString,
        exists: bool,
        files: &[OutFile],
        plan: &[Status],
    ) -> Result<Pending, Error> {
        // A folder that does not exist is no link (`existing` just looked).
        let linked =
            exists && fs::symlink_metadata(&folder).is_ok_and(|m| m.file_type().is_symlink());
        if linked && !self.in_place && folder != self.root {
            let why = "is a symbolic link; podiam writes a target folder only as a real folder";
            return Err(folder::refuse(&folder, why));
        }
        let staged = self.staging_dir().join(staged);
        let mut moved = Vec::new();
        // The staged folder first, so that each folder below it is made in
        // one step (create_dir_all tries the folder itself first).
        fs::create_dir_all(&staged).map_err(|source| write_err(&staged, source))?;
        let mut dirs: Vec<PathBuf> = vec![staged.clone()];
        for (file, status) in files.iter().zip(plan) {
            if *status == Status::Unchanged {
                continue;
            }
            // Below a new folder nothing exists yet to be a link; the commit
            // checks again that it is still absent.
            if exists {
                folder::no_links_below(&folder, &file.path)?;
            }
            let path = staged.join(&file.path);
            if let Some(parent) = path.parent().filter(|p| !dirs.iter().any(|d| d == p)) {
                fs::create_dir_all(parent).map_err(|source| write_err(parent, source))?;
                for made in parent.ancestors().take_while(|a| *a != staged) {
                    if !dirs.iter().any(|d| d == made) {
                        dirs.push(made.to_owned());
                    }
                }
            }
            folder::write_new(&path, file.text.as_bytes(), file.executable)
                .map_err(|source| write_err(&path, source))?;
            if let Some(flusher) = &self.flusher {
                flusher.staged(file.text.len());
            }
            moved.push((file.path.clone(), *status == Status::Created));
        }
        Ok(self.pending(staged, folder, exists.then_some(moved)))
    }

    /// What the commit moves from `staged` to `folder`: the whole folder,
    /// or an existing folder's `files`.
    fn pending(
        &self,
        staged: PathBuf,
        folder: PathBuf,
        files: Option<Vec<(String, bool)>>,
    ) -> Pending {
        if let Some(files) = files {
            return Pending::Files(Box::new(Files {
                staged,
                folder,
                files,
            }));
        }
        match (staged.file_name(), folder.file_name()) {
            (Some(name), Some(same))
                if name == same
                    && staged == self.staging_dir().join(name)
                    && folder == self.root.join(name) =>
            {
                Pending::Named(name.into())
            }
            _ => Pending::Whole(Box::new((staged, folder))),
        }
    }

    /// The staging folder and the root, which a [`Pending::Named`] is below.
    fn places(&self) -> (&Path, &Path) {
        (self.staging_dir(), &self.root)
    }

    /// Refuses the run when a differing file would be replaced without
    /// `force`; otherwise checks every destination again, syncs the staged
    /// content, moves every staged folder or file into place (moving back
    /// the folders already moved if one fails), and syncs again.
    pub fn commit(mut self, plan: Plan) -> Result<(), Error> {
        if !self.force && !plan.conflicts.is_empty() {
            return Err(Error::WouldOverwrite(plan.conflicts));
        }
        if plan.pending.is_empty() {
            return Ok(());
        }
        preflight(&plan.pending, self.places())?;
        let staging = self.staging_dir().to_owned();
        let early = self.flusher.as_mut().and_then(Flusher::stop);
        if let Some(source) = early {
            return Err(write_err(&staging, source));
        }
        folder::sync_with(&self.durable).map_err(|source| write_err(&staging, source))?;
        for (i, pending) in plan.pending.iter().enumerate() {
            if let Err(e) = apply(pending, self.places()) {
                for done in plan.pending[..i].iter().rev() {
                    undo(done, self.places());
                }
                return Err(e);
            }
        }
        folder::sync_with(&self.durable).map_err(|source| write_err(&self.root, source))?;
        self.made.clear();
        Ok(())
    }
}

impl Drop for Writer {
    /// Removes the staging folder, then any directory made for the run
    /// unless the commit finished.
    fn drop(&mut self) {
        drop(self.flusher.take());
        drop(self.staging.take());
        for dir in self.made.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// The folder of target `name` below `root` (`single`: a plain run's).
fn folder_of(root: &Path, single: Option<&Path>, name: Option<&str>) -> PathBuf {
    match (name, single) {
        (Some(n), _) => root.join(n),
        (None, Some(single)) => single.to_owned(),
        (None, None) => root.to_owned(),
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

/// The status `text` would have at `path`.
fn plan_one(path: &Path, text: &str) -> Result<Status, Error> {
    match fs::read(path) {
        Ok(existing) if existing == text.as_bytes() => Ok(Status::Unchanged),
        Ok(_) => Ok(Status::Replaced),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Status::Created),
        Err(source) => Err(write_err(path, source)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch writer in a fresh `out`, with `names` prepared and recorded.
    fn planned(out: &Path, names: &[&str]) -> (Writer, Plan) {
        let writer = Writer::new(out, true, false).expect("writer");
        let mut plan = Plan::default();
        for name in names {
            let files = [OutFile {
                path: "dir/file.txt".into(),
                text: "text\n",
                executable: false,
            }];
            plan.record(writer.prepare(Some(name), &files).expect("prepared"));
        }
        (writer, plan)
    }

    #[test]
    fn a_top_file_counts_the_bytes_pushed_for_the_early_write_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Writer::new(&dir.path().join("out"), true, false).expect("writer");
        let mut top = writer.top_file("top.yaml").expect("top file");
        for piece in ["ab", "", "cde"] {
            top.push(piece).expect("push");
        }
        assert_eq!(top.len, 5);
    }

    #[test]
    fn a_batchs_new_folders_are_held_by_name_and_committed_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let (writer, plan) = planned(&out, &["t1", "t2"]);
        assert!(plan.pending.iter().all(|p| matches!(p, Pending::Named(_))));
        writer.commit(plan).expect("commit");
        for name in ["t1", "t2"] {
            let text = fs::read_to_string(out.join(name).join("dir/file.txt")).expect("file");
            assert_eq!(text, "text\n");
        }
    }

    #[test]
    fn only_a_folder_named_alike_under_the_staging_folder_and_the_root_is_held_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = Writer::new(&dir.path().join("out"), true, false).expect("writer");
        let (staging, root) = (writer.staging_dir().to_owned(), writer.root.clone());
        let named = |staged: PathBuf, folder: PathBuf| {
            matches!(writer.pending(staged, folder, None), Pending::Named(_))
        };
        assert!(named(staging.join("a"), root.join("a")));
        assert!(!named(staging.join("a"), root.join("b")));
        assert!(!named(staging.join("a"), dir.path().join("a")));
        assert!(!named(dir.path().join("a"), root.join("a")));
        assert!(!named(staging.join("a/b"), root.join("a/b")));
        let files = Some(vec![("f".to_owned(), true)]);
        let existing = writer.pending(staging.join("a"), root.join("a"), files);
        assert!(matches!(existing, Pending::Files(_)));
    }

    #[test]
    fn a_failed_rename_moves_the_folders_already_renamed_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let (writer, plan) = planned(&out, &["t1", "t2", "t3"]);
        fs::remove_dir_all(writer.staging_dir().join("t3")).expect("unstage t3");
        let error = writer.commit(plan).expect_err("t3 has nothing staged");
        assert!(error.to_string().contains("t3"), "{error}");
        for name in ["t1", "t2", "t3"] {
            assert!(!out.join(name).exists(), "{name} stayed in place");
        }
    }

    #[test]
    fn a_folder_that_appeared_meanwhile_stops_the_commit_before_any_rename() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("out");
        let (writer, plan) = planned(&out, &["t1", "t2"]);
        fs::create_dir(out.join("t2")).expect("another run's folder");
        let error = writer.commit(plan).expect_err("t2 appeared");
        assert!(
            error
                .to_string()
                .contains("appeared while podiam was running"),
            "{error}"
        );
        assert!(!out.join("t1").exists(), "t1 was moved before the check");
        assert_eq!(fs::read_dir(out.join("t2")).expect("t2").count(), 0);
    }
}
