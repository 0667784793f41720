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
        let handle = File::open(dir).ok()?;
        let (kick, wait) = channel();
        let thread = std::thread::Builder::new()
            .name("podiam-flush".into())
            .spawn(move || run(&handle, &wait))
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

/// Syncs once per request, folding requests that arrived meanwhile, until
/// the sender is gone or a sync fails; returns the failure.
fn run(dir: &File, wait: &Receiver<()>) -> Option<std::io::Error> {
    while wait.recv().is_ok() {
        while wait.try_recv().is_ok() {}
        if let Err(e) = folder::sync_with(dir) {
            return Some(e);
        }
    }
    None
}
