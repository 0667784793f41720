//! Parse-back checks: every artifact is parsed in its own format and
//! validated against its schema before anything is written.

use serde_json::Value;

use crate::artifacts::artifact::{Artifact, Format};
use crate::error::Problem;
use crate::formats::schemas;

/// Parses `text` as `artifact`'s format and checks it against its schema.
/// Returns every problem found; empty means the text is good.
pub fn check(artifact: &Artifact, text: &str) -> Vec<Problem> {
    match artifact.format {
        Format::Shell => crate::formats::script::check(text),
        _ => check_in_process(artifact, text),
    }
}

/// [`check`] without the shell syntax check, which the caller runs for all
/// of a bundle's scripts at once with [`crate::formats::script::syntax_many`].
pub fn check_in_process(artifact: &Artifact, text: &str) -> Vec<Problem> {
    match artifact.format {
        Format::Shell => return crate::formats::script::check_static(text),
        Format::Markdown => return crate::formats::markdown::check(text),
        _ => {}
    }
    let Some(schema) = artifact.schema else {
        return vec![Problem {
            path: String::new(),
            message: format!("artifact {} has no schema to check against", artifact.name),
        }];
    };
    match documents(artifact.format, text) {
        Ok(docs) => docs
            .iter()
            .enumerate()
            .flat_map(|(i, doc)| {
                let prefix = if docs.len() > 1 {
                    format!("(document {}) ", i + 1)
                } else {
                    String::new()
                };
                schemas::check(schema, doc).into_iter().map(move |mut p| {
                    p.path = format!("{prefix}{}", p.path);
                    p
                })
            })
            .collect(),
        Err(message) => vec![Problem {
            path: String::new(),
            message,
        }],
    }
}

/// Parses `text` into the JSON values of its documents.
pub fn documents(format: Format, text: &str) -> Result<Vec<Value>, String> {
    match format {
        Format::Json => serde_json::from_str(text)
            .map(|v| vec![v])
            .map_err(|e| format!("not valid JSON: {e}")),
        Format::Yaml => {
            yaml_document(serde_yaml::Deserializer::from_str(text).next(), text).map(|v| vec![v])
        }
        Format::YamlStream => serde_yaml::Deserializer::from_str(text)
            .map(|doc| yaml_document(Some(doc), text))
            .collect(),
        Format::Hcl => crate::formats::terraform_check::document(text).map(|v| vec![v]),
        Format::Shell | Format::Markdown => Err(format!("{} is not a data format", format.name())),
    }
}

/// One YAML document as JSON. Going through `serde_yaml::Value` first makes
/// duplicate keys an error; non-string keys fail the conversion.
fn yaml_document(doc: Option<serde_yaml::Deserializer<'_>>, text: &str) -> Result<Value, String> {
    use serde::Deserialize;
    let Some(doc) = doc else {
        return Err(format!("empty YAML ({} bytes)", text.len()));
    };
    let yaml = serde_yaml::Value::deserialize(doc).map_err(|e| format!("not valid YAML: {e}"))?;
    serde_json::to_value(&yaml).map_err(|e| format!("YAML that is not plain JSON data: {e}"))
}
