//! The JSON Schemas in `schemas/`, embedded in the binary and compiled once.

use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value;

use crate::error::Problem;

/// Every schema podiam ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// The params file.
    Params,
    /// An IAM identity (permission) policy.
    IamPolicy,
    /// An IAM role trust policy.
    TrustPolicy,
    /// The subset of SkyPilot's `~/.sky/config.yaml` that podiam writes.
    SkypilotConfig,
    /// The SkyPilot smoke-test task.
    SkypilotTask,
    /// One Kubernetes Namespace or ServiceAccount document.
    KubernetesManifest,
    /// The bundle's `manifest.json`.
    Manifest,
    /// The blocks of a Terraform file podiam writes, as hcl-rs reads them.
    Terraform,
}

/// The schemas: variant, name, and the embedded text.
const ALL: [(Schema, &str, &str); 8] = [
    (
        Schema::Params,
        "params",
        include_str!("../schemas/params.schema.json"),
    ),
    (
        Schema::IamPolicy,
        "iam-policy",
        include_str!("../schemas/iam-policy.schema.json"),
    ),
    (
        Schema::TrustPolicy,
        "trust-policy",
        include_str!("../schemas/trust-policy.schema.json"),
    ),
    (
        Schema::SkypilotConfig,
        "skypilot-config",
        include_str!("../schemas/skypilot-config.schema.json"),
    ),
    (
        Schema::SkypilotTask,
        "skypilot-task",
        include_str!("../schemas/skypilot-task.schema.json"),
    ),
    (
        Schema::KubernetesManifest,
        "kubernetes-manifest",
        include_str!("../schemas/kubernetes-manifest.schema.json"),
    ),
    (
        Schema::Manifest,
        "manifest",
        include_str!("../schemas/manifest.schema.json"),
    ),
    (
        Schema::Terraform,
        "terraform",
        include_str!("../schemas/terraform.schema.json"),
    ),
];

impl Schema {
    /// The schema's name (`schemas/<name>.schema.json`).
    pub fn name(self) -> &'static str {
        entry(self).1
    }

    /// The schema's JSON text.
    pub fn text(self) -> &'static str {
        entry(self).2
    }

    /// Looks a schema up by name.
    pub fn by_name(name: &str) -> Option<Schema> {
        ALL.iter().find(|(_, n, _)| *n == name).map(|(s, _, _)| *s)
    }

    /// The names of all schemas.
    pub fn names() -> impl Iterator<Item = &'static str> {
        ALL.iter().map(|(_, n, _)| *n)
    }
}

/// `ALL` is ordered by variant, so a variant's discriminant is its index.
fn entry(schema: Schema) -> &'static (Schema, &'static str, &'static str) {
    &ALL[schema as usize]
}

/// Compiles every schema once per process. An embedded schema that does not
/// compile is a build defect, caught by the test suite; here it becomes a
/// validator that reports the compile error on every check.
fn validators() -> &'static Vec<Result<Validator, String>> {
    static VALIDATORS: OnceLock<Vec<Result<Validator, String>>> = OnceLock::new();
    VALIDATORS.get_or_init(|| {
        ALL.iter()
            .map(|(_, name, text)| compile(name, text))
            .collect()
    })
}

fn compile(name: &str, text: &str) -> Result<Validator, String> {
    let schema: Value =
        serde_json::from_str(text).map_err(|e| format!("schema {name} is not JSON: {e}"))?;
    jsonschema::validator_for(&schema).map_err(|e| format!("schema {name} does not compile: {e}"))
}

/// Checks `instance` against `schema`, returning every problem found.
pub fn check(schema: Schema, instance: &Value) -> Vec<Problem> {
    match &validators()[schema as usize] {
        Ok(validator) => validator
            .iter_errors(instance)
            .map(|e| Problem {
                path: e.instance_path().to_string(),
                message: e.to_string(),
            })
            .collect(),
        Err(message) => vec![Problem {
            path: String::new(),
            message: message.clone(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles() {
        for (i, (schema, name, _)) in ALL.iter().enumerate() {
            assert_eq!(*schema as usize, i, "ALL must be ordered by variant");
            assert!(
                validators()[i].is_ok(),
                "{name}: {:?}",
                validators()[i].as_ref().err()
            );
        }
    }
}
