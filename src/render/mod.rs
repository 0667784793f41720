//! Rendering: the one serializable [`context::Context`] handed to every
//! template, what it is built from (the test task's [`mounts`], the Terraform
//! blocks, the Kubernetes objects ([`kube`]), the runbook [`prose`]), and the Tera engine with its escaping
//! filters ([`templates`]).
//!
//! This layer may use [`crate::iam`], [`crate::input`] and [`crate::formats`];
//! it knows nothing of the artifact table, the disk or the command line.

pub mod context;
pub mod cross;
pub mod kube;
pub mod mounts;
pub mod params_doc;
pub mod prose;
pub mod templates;
pub mod terraform;
pub mod terraform_cross;
pub mod terraform_role;
pub mod tf_refs;
