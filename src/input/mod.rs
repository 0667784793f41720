//! Input: raw parameters from flags, environment variables or a params file
//! ([`params`]), the rules every value must follow ([`rules`], [`values`]),
//! and the validated [`model::Model`] that everything downstream reads.
//!
//! This layer may use [`crate::formats`] (the params file is checked against
//! its JSON Schema) and nothing above it: it knows no policy, template,
//! artifact or command. Checks that need a rendered document, such as IAM's
//! size limits, live with that document and run after the model is built.

pub mod access;
pub mod accounts;
pub mod batch_text;
pub mod bindings;
pub mod held;
pub mod model;
pub mod names;
pub mod params;
pub mod partition;
pub mod role;
pub mod rules;
pub mod values;
