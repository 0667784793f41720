//! Early write-back of staged files: while a batch is still rendering, a
//! thread asks the kernel to put what was staged so far on disk, so the
//! `syncfs` before the first rename finds little left to write. It changes
//! when bytes reach the disk, never what is durable when: the commit still
//! syncs before any rename, through a handle opened before anything was
//! staged (since Linux 5.8, syncfs reports a write-back error once to each
//! open file opened before it: commit 735e4ae5, "vfs: track per-sb
//! writeback errors and report them to syncfs"), and an error this thread
//! meets fails the commit too.
//!
//! Measured on a fresh 1,000-target batch (150 MB): the closing `syncfs`
//! alone took 0.43 s after every target was staged (see README, Benchmarks).

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use crate::output::folder;

/// Bytes staged between two early syncs.
const EVERY: usize = 8 << 20;

/// The thread that syncs the staging folder's file system on request.
pub struct Flusher {
    kick: Option<Sender<()>>,
    thread: Option<JoinHandle<Option<std::io::Error>>>,
    staged: AtomicUsize,
}

impl Flusher {
    /// A flusher for the file system of `dir`; `None` when `dir` cannot be
    /// opened or no thread starts (the commit's own sync still runs).
    pub fn start(dir: &Path) -> Option<Flusher> {
        Flusher::start_with(dir, folder::sync_with)
    }

    /// As [`Flusher::start`], syncing with `sync`.
    fn start_with(dir: &Path, sync: SyncFn) -> Option<Flusher> {
        let handle = File::open(dir).ok()?;
        let (kick, wait) = channel();
        let thread = std::thread::Builder::new()
            .name("podiam-flush".into())
            .spawn(move || run(&handle, &wait, sync))
            .ok()?;
        Some(Flusher {
            kick: Some(kick),
            thread: Some(thread),
            staged: AtomicUsize::new(0),
        })
    }

    /// Counts `bytes` just staged; every [`EVERY`] bytes, asks for a sync.
    pub fn staged(&self, bytes: usize) {
        let before = self.staged.fetch_add(bytes, Ordering::Relaxed);
        if before / EVERY != (before + bytes) / EVERY
            && let Some(kick) = &self.kick
        {
            let _ = kick.send(());
        }
    }

    /// Stops the thread, after the sync it is running, if any; the first
    /// error a sync returned.
    pub fn stop(&mut self) -> Option<std::io::Error> {
        drop(self.kick.take());
        self.thread.take().and_then(|t| t.join().ok().flatten())
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// How the thread syncs a file system, given a handle on a folder in it.
type SyncFn = fn(&File) -> std::io::Result<()>;

/// Syncs once per request, folding requests that arrived meanwhile, until
/// the sender is gone or a sync fails; returns the failure.
fn run(dir: &File, wait: &Receiver<()>, sync: SyncFn) -> Option<std::io::Error> {
    while wait.recv().is_ok() {
        while wait.try_recv().is_ok() {}
        if let Err(e) = sync(dir) {
            return Some(e);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    static SYNCS: AtomicUsize = AtomicUsize::new(0);

    fn counted(_: &File) -> std::io::Result<()> {
        SYNCS.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    fn failing(_: &File) -> std::io::Result<()> {
        Err(std::io::Error::other("write-back failed"))
    }

    /// Whether staging `sizes` one after another asks for a sync at all
    /// (the thread folds requests, so only none or some can be told).
    fn asks(dir: &Path, sizes: &[usize]) -> bool {
        let mut flusher = Flusher::start_with(dir, counted).expect("flusher");
        let before = SYNCS.load(Ordering::SeqCst);
        sizes.iter().for_each(|s| flusher.staged(*s));
        assert!(flusher.stop().is_none());
        SYNCS.load(Ordering::SeqCst) > before
    }

    #[test]
    fn a_sync_is_asked_for_each_time_the_staged_bytes_cross_a_step() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(Flusher::start(dir.path()).is_some());
        assert!(!asks(dir.path(), &[]));
        assert!(!asks(dir.path(), &[EVERY - 1]));
        assert!(!asks(dir.path(), &[3, 5, 7, EVERY / 2]));
        assert!(asks(dir.path(), &[EVERY - 1, 1]));
        assert!(asks(dir.path(), &[EVERY / 2, EVERY / 2]));
        assert!(asks(dir.path(), &[EVERY * 3]));
    }

    #[test]
    fn a_failed_sync_is_returned_by_stop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut flusher = Flusher::start_with(dir.path(), failing).expect("flusher");
        flusher.staged(EVERY);
        let error = flusher.stop().expect("the sync's error");
        assert_eq!(error.to_string(), "write-back failed");
        assert!(flusher.stop().is_none(), "returned once");
    }
}
