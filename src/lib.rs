//! podiam renders, offline, every artifact needed to give pods on Amazon EKS
//! access to S3 through an IAM role, by EKS Pod Identity or by IRSA.
//!
//! Data flows in one direction:
//!
//! 1. [`params`]: raw values from flags, environment variables or a params file;
//! 2. [`model`]: the validated, typed parameters (nothing downstream sees a raw string);
//! 3. [`context`]: the one serializable struct handed to every template;
//! 4. [`artifact`]: the one table of artifacts that drives `render`, `generate`,
//!    `list` and validation;
//! 5. [`bundle`] and [`output`]: render everything, check everything, then write.

pub mod access;
pub mod artifact;
pub mod awscli;
pub mod bundle;
pub mod check;
pub mod cli;
pub mod commands;
pub mod context;
pub mod drift;
pub mod error;
pub mod escape;
pub mod explain;
pub mod hclwrite;
pub mod manifest;
pub mod markdown;
pub mod model;
pub mod names;
pub mod output;
pub mod params;
pub mod partition;
pub mod policy;
pub mod prose;
pub mod role;
pub mod rules;
pub mod schemas;
pub mod script;
pub mod targets;
pub mod templates;
pub mod terraform;
pub mod terraform_check;
pub mod terraform_role;
pub mod ui;
pub mod values;
pub mod wording;

pub use error::Error;
