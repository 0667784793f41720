//! The JSON Schemas in `schemas/`, embedded in the binary and compiled once.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use jsonschema::Validator;
use serde_json::Value;

use crate::error::Problem;
use crate::formats::schema_errors;

/// Every schema podiam ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// The params file.
    Params,
    /// An IAM identity (permission) policy.
    IamPolicy,
    /// An IAM role trust policy.
    TrustPolicy,
    /// Statements for another account's bucket or key policy.
    ResourcePolicy,
    /// The subset of SkyPilot's `~/.sky/config.yaml` that podiam writes.
    SkypilotConfig,
    /// The SkyPilot smoke-test task.
    SkypilotTask,
    /// One Kubernetes object podiam writes: Namespace, ServiceAccount or RBAC.
    KubernetesManifest,
    /// The bundle's `manifest.json`.
    Manifest,
    /// The blocks of a Terraform file podiam writes, as hcl-rs reads them.
    Terraform,
}

/// The schemas: variant, name, and the embedded text.
const ALL: [(Schema, &str, &str); 9] = [
    (
        Schema::Params,
        "params",
        include_str!("../../schemas/params.schema.json"),
    ),
    (
        Schema::IamPolicy,
        "iam-policy",
        include_str!("../../schemas/iam-policy.schema.json"),
    ),
    (
        Schema::TrustPolicy,
        "trust-policy",
        include_str!("../../schemas/trust-policy.schema.json"),
    ),
    (
        Schema::ResourcePolicy,
        "resource-policy",
        include_str!("../../schemas/resource-policy.schema.json"),
    ),
    (
        Schema::SkypilotConfig,
        "skypilot-config",
        include_str!("../../schemas/skypilot-config.schema.json"),
    ),
    (
        Schema::SkypilotTask,
        "skypilot-task",
        include_str!("../../schemas/skypilot-task.schema.json"),
    ),
    (
        Schema::KubernetesManifest,
        "kubernetes-manifest",
        include_str!("../../schemas/kubernetes-manifest.schema.json"),
    ),
    (
        Schema::Manifest,
        "manifest",
        include_str!("../../schemas/manifest.schema.json"),
    ),
    (
        Schema::Terraform,
        "terraform",
        include_str!("../../schemas/terraform.schema.json"),
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

/// Each schema compiled at most once per process, on first use. An
/// embedded schema that does not compile is a build defect, caught by the
/// test suite; here it becomes a validator that reports the compile error on
/// every check.
static VALIDATORS: [OnceLock<Result<Compiled, String>>; ALL.len()] =
    [const { OnceLock::new() }; ALL.len()];

/// A compiled schema and its JSON, which error messages quote from.
struct Compiled {
    validator: Validator,
    schema: Value,
}

fn validator(schema: Schema) -> &'static Result<Compiled, String> {
    let (_, name, text) = entry(schema);
    VALIDATORS[schema as usize].get_or_init(|| compile(name, text))
}

/// Which schemas [`warm_up`] has already handed to a thread.
static REQUESTED: [AtomicBool; ALL.len()] = [const { AtomicBool::new(false) }; ALL.len()];

/// Starts compiling `schemas` in the background on every core but the
/// caller's, from the last to the first, and returns at once: the caller
/// parses its templates and renders meanwhile, then checks in order, so it
/// compiles the first schemas itself while the background works back
/// towards them (a check that needs a schema still being compiled waits for
/// it). Compiling the schemas is most of one bundle's time; done one after
/// another before rendering, it added up, and done in the caller's order
/// the caller only ever waited behind the background thread.
pub fn warm_up(schemas: &[Schema]) {
    let mut cold: Vec<Schema> = Vec::new();
    for s in schemas {
        if !REQUESTED[*s as usize].swap(true, Ordering::Relaxed) {
            cold.push(*s);
        }
    }
    if cold.is_empty() {
        return;
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .saturating_sub(1)
        .clamp(1, cold.len());
    for w in 0..workers {
        let mine: Vec<Schema> = cold
            .iter()
            .rev()
            .skip(w)
            .step_by(workers)
            .copied()
            .collect();
        let spawned = std::thread::Builder::new()
            .name("podiam-schemas".into())
            .spawn(move || {
                for s in mine {
                    let _ = validator(s);
                }
            });
        // Without a thread, each schema compiles on first use instead.
        drop(spawned);
    }
}

fn compile(name: &str, text: &str) -> Result<Compiled, String> {
    let schema: Value =
        serde_json::from_str(text).map_err(|e| format!("schema {name} is not JSON: {e}"))?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| format!("schema {name} does not compile: {e}"))?;
    Ok(Compiled { validator, schema })
}

/// Checks `instance` against `schema`, returning every problem found, each
/// in plain words (see [`crate::formats::schema_errors`]).
pub fn check(schema: Schema, instance: &Value) -> Vec<Problem> {
    match validator(schema) {
        Ok(compiled) => {
            let mut problems: Vec<Problem> = Vec::new();
            for error in compiled.validator.iter_errors(instance) {
                for problem in schema_errors::explain(&compiled.schema, &error) {
                    if !problems.contains(&problem) {
                        problems.push(problem);
                    }
                }
            }
            problems
        }
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
                validator(*schema).is_ok(),
                "{name}: {:?}",
                validator(*schema).as_ref().err()
            );
        }
    }
}
