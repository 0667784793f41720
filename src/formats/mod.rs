//! Output languages: for each one podiam writes (shell, HCL, JSON and YAML
//! through JSON Schema, Markdown, AWS CLI shorthand), how a value is written
//! into it safely and how a finished document is parsed back and checked.
//!
//! This layer knows nothing of podiam's parameters, policies or artifacts: it
//! uses only [`crate::error`], so every layer above may use it.

pub mod awscli;
pub mod digest;
pub mod escape;
pub mod hclwrite;
pub mod markdown;
pub mod schema_errors;
pub mod schemas;
pub mod script;
pub mod shell_syntax;
pub mod terraform_check;
