//! IAM: the permission and trust policy documents built from the model
//! ([`policy`]), their size limits, and what they grant in plain words
//! ([`wording`], [`explain`]).
//!
//! This layer may use [`crate::input`] and [`crate::formats`]; it knows no
//! template, artifact or command.

pub mod cross;
pub mod explain;
pub mod explain_cross;
pub mod limits;
pub mod policy;
pub mod trust;
pub mod wording;
