//! Output: what reaches the disk. Files are written atomically, all or none,
//! and never over a differing file without `--force` ([`write`]); [`drift`]
//! compares a rendered bundle with what is on disk.
//!
//! This layer may use [`crate::artifacts`] and the layers below it; it knows
//! nothing of the command line.

pub mod drift;
pub mod write;
