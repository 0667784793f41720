//! Output: what reaches the disk. Bundles are staged ([`staging`]) and moved
//! into place all or none, never over a differing file without `--force`
//! ([`write`]); [`drift`] compares a rendered bundle with what is on disk.
//!
//! This layer may use [`crate::artifacts`] and the layers below it; it knows
//! nothing of the command line.

pub mod drift;
mod flush;
mod folder;
pub mod staging;
pub mod write;
