//! Artifacts: the one table of artifacts ([`artifact::ARTIFACTS`]) that drives
//! `render`, `generate`, `list`, validation and the README; a bundle rendered
//! and checked in memory ([`bundle`], [`check`]); and its [`manifest`].
//!
//! This layer may use every layer below it ([`crate::render`], [`crate::iam`],
//! [`crate::input`], [`crate::formats`]); it writes nothing to disk.

pub mod artifact;
pub mod bundle;
pub mod check;
pub mod manifest;
