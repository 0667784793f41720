//! Output: what reaches the disk. Bundles are staged ([`staging`]) and moved
//! into place all or none, never over a differing file without `--force`
//! ([`write`]), a batch's own `params.yaml` streamed into staging
//! ([`top`]); [`drift`] compares a rendered bundle with what is on disk.
//!
//! This layer may use [`crate::artifacts`] and the layers below it; it knows
//! nothing of the command line.

pub mod drift;
mod flush;
mod folder;
mod pending;
pub mod staging;
pub mod top;
pub mod write;
