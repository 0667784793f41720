//! podiam renders, offline, every artifact needed to give pods on Amazon EKS
//! access to S3 through an IAM role, by EKS Pod Identity or by IRSA.
//!
//! The modules are grouped by the stage of the data flow they own, and each
//! layer uses only the layers listed before it (and [`error`]):
//!
//! 1. [`formats`]: each output language's escaping, writer and parse-back
//!    check (shell, HCL, JSON Schema, Markdown); knows nothing of podiam;
//! 2. [`input`]: raw values from flags, environment or a params file, and the
//!    validated, typed [`input::model::Model`]; nothing downstream sees a raw string;
//! 3. [`iam`]: the IAM policy documents built from the model, and what they
//!    mean in words;
//! 4. [`render`]: the one serializable context handed to every template, and
//!    the template engine;
//! 5. [`artifacts`]: the one table of artifacts that drives `render`,
//!    `generate`, `list` and validation; a bundle rendered and checked in memory;
//! 6. [`output`]: what reaches the disk: atomic writes, and drift against it;
//! 7. [`cli`]: the command line, its commands and batches.
//!
//! `tests/integration/layout.rs` holds the layers to that order.

pub mod artifacts;
pub mod cli;
pub mod error;
pub mod formats;
pub mod iam;
pub mod input;
pub mod output;
pub mod render;

pub use error::Error;
