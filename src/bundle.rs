//! Rendering: every selected artifact is rendered and checked in memory; the
//! caller gets all of them or an error, never a partial set.

use crate::artifact::{self, Artifact};
use crate::check;
use crate::context::Context;
use crate::error::Error;
use crate::model::Model;
use crate::templates;

/// One rendered, checked artifact.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The table row it came from.
    pub artifact: &'static Artifact,
    /// Its text, ready to write.
    pub text: String,
}

/// Renders and checks `artifacts` for `model`.
///
/// Fails with [`Error::Missing`] (before rendering) when a parameter an
/// artifact needs is absent, and with [`Error::ArtifactCheck`] when a
/// rendered artifact fails its parse-back or schema check.
pub fn render(model: &Model, artifacts: &[&'static Artifact]) -> Result<Vec<Rendered>, Error> {
    require(model, artifacts)?;
    let tera = templates::engine()?;
    let context =
        tera::Context::from_serialize(&Context::new(model)).map_err(|e| Error::Template {
            template: "(context)".into(),
            message: e.to_string(),
        })?;
    artifacts
        .iter()
        .map(|artifact| {
            let text = templates::render(tera, artifact.template, &context)?;
            let problems = check::check(artifact, &text);
            if problems.is_empty() {
                Ok(Rendered { artifact, text })
            } else {
                Err(Error::ArtifactCheck {
                    artifact: artifact.name,
                    problems,
                })
            }
        })
        .collect()
}

/// Every artifact in the table.
pub fn all() -> Vec<&'static Artifact> {
    artifact::ARTIFACTS.iter().collect()
}

/// The artifacts `generate` writes.
pub fn in_bundle() -> Vec<&'static Artifact> {
    artifact::ARTIFACTS
        .iter()
        .filter(|a| a.in_bundle())
        .collect()
}

fn require(model: &Model, artifacts: &[&'static Artifact]) -> Result<(), Error> {
    let mut names = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for artifact in artifacts {
        let lacks = artifact::missing(artifact, model);
        if !lacks.is_empty() {
            names.push(artifact.name);
        }
        for line in lacks {
            if !missing.contains(&line) {
                missing.push(line);
            }
        }
    }
    if names.is_empty() {
        Ok(())
    } else {
        Err(Error::Missing {
            artifacts: names,
            missing,
        })
    }
}
