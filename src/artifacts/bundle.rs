//! Rendering: every selected artifact is rendered and checked in memory; the
//! caller gets all of them or an error, never a partial set.

use crate::artifacts::artifact::{self, ARTIFACTS, Artifact, Rendered};
use crate::artifacts::check;
use crate::artifacts::manifest;
use crate::error::Error;
use crate::input::model::Model;
use crate::render::context::Context;
use crate::render::templates::Engine;

/// Renders and checks `selection` for `model`.
///
/// Fails with [`Error::Missing`] (before rendering) when a parameter an
/// artifact needs is absent, and with [`Error::ArtifactCheck`] when a
/// rendered artifact fails its parse-back or schema check. The manifest
/// hashes every other artifact, so selecting it renders them all.
pub fn render(model: &Model, selection: &[&'static Artifact]) -> Result<Vec<Rendered>, Error> {
    render_with(Engine::builtin()?, model, selection)
}

/// [`render`] with a given template engine (built-ins or overrides).
pub fn render_with(
    engine: &Engine,
    model: &Model,
    selection: &[&'static Artifact],
) -> Result<Vec<Rendered>, Error> {
    let rendered = render_in_process(engine, model, selection)?;
    match check_scripts(engine, &rendered) {
        Some(error) => Err(error),
        None => Ok(rendered),
    }
}

/// The shell syntax of the scripts in `rendered`: the first failure.
fn check_scripts(engine: &Engine, rendered: &[Rendered]) -> Option<Error> {
    let scripts: Vec<&Rendered> = rendered
        .iter()
        .filter(|r| r.artifact.format == crate::artifacts::artifact::Format::Shell)
        .collect();
    let texts: Vec<&str> = scripts.iter().map(|r| r.text.as_str()).collect();
    crate::formats::script::syntax_many(&texts)
        .into_iter()
        .zip(scripts)
        .find_map(|(result, r)| {
            let message = result.err()?;
            Some(Error::ArtifactCheck {
                artifact: r.artifact.name,
                origin: origin(engine, r.artifact),
                problems: vec![crate::formats::script::problem(message)],
            })
        })
}

/// [`render_with`] without the shell syntax check.
fn render_in_process(
    engine: &Engine,
    model: &Model,
    selection: &[&'static Artifact],
) -> Result<Vec<Rendered>, Error> {
    let wants_manifest = selection.iter().any(|a| a.name == artifact::MANIFEST);
    let mut needed: Vec<&'static Artifact> = selection.to_vec();
    if wants_manifest {
        needed.extend(
            in_bundle()
                .into_iter()
                .filter(|a| !selection.iter().any(|s| std::ptr::eq(*s, *a))),
        );
        // A bundle holds the artifacts of its own shape only.
        needed.retain(|a| a.applies(model));
    }
    require(model, &needed)?;
    let schemas: Vec<crate::formats::schemas::Schema> =
        needed.iter().filter_map(|a| a.schema).collect();
    if schemas.len() > 1 {
        crate::formats::schemas::warm_up(&schemas);
    }
    let mut context =
        tera::Context::from_serialize(&Context::for_templates(model, |f| engine.may_use(f)))
            .map_err(|e| Error::Template {
                template: "(context)".into(),
                message: e.to_string(),
            })?;
    // Whether the whole bundle is rendered (its params.yaml among it): the
    // headers of a lone artifact printed by `render` cannot point at one.
    context.insert("bundle", &wants_manifest);
    let mut rendered = needed
        .iter()
        .filter(|a| a.name != artifact::MANIFEST)
        .map(|a| render_one(engine, &context, a))
        .collect::<Result<Vec<_>, Error>>()?;
    if let Some(row) = needed.iter().find(|a| a.name == artifact::MANIFEST) {
        let hashed = rendered.iter().filter(|r| r.artifact.in_bundle());
        context.insert(
            "manifest",
            &manifest::build(model, hashed, engine.overrides()),
        );
        rendered.push(render_one(engine, &context, row)?);
    }
    rendered.retain(|r| selection.iter().any(|a| std::ptr::eq(*a, r.artifact)));
    Ok(rendered)
}

fn render_one(
    engine: &Engine,
    context: &tera::Context,
    artifact: &'static Artifact,
) -> Result<Rendered, Error> {
    let text = engine.render(artifact.template, context)?;
    let problems = check_once(artifact, &text);
    if problems.is_empty() {
        Ok(Rendered { artifact, text })
    } else {
        let origin = origin(engine, artifact);
        Err(Error::ArtifactCheck {
            artifact: artifact.name,
            origin,
            problems,
        })
    }
}

thread_local! {
    /// The last text of each artifact that passed its checks on this thread.
    static PASSED: std::cell::RefCell<Vec<(&'static str, String)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// [`check::check_in_process`], skipped for a text byte-identical to the
/// last one of the same artifact that passed on this thread: the checks are
/// a function of the artifact and its text alone. In a batch, the targets'
/// Terraform `main.tf`, `outputs.tf` and `versions.tf` are the same bytes.
fn check_once(artifact: &'static Artifact, text: &str) -> Vec<crate::error::Problem> {
    let seen = |passed: &Vec<(&str, String)>| {
        passed
            .iter()
            .any(|(name, t)| *name == artifact.name && t == text)
    };
    if PASSED.with_borrow(seen) {
        return Vec::new();
    }
    let problems = check::check_in_process(artifact, text);
    if problems.is_empty() {
        PASSED.with_borrow_mut(|passed| {
            passed.retain(|(name, _)| *name != artifact.name);
            passed.push((artifact.name, text.to_owned()));
        });
    }
    problems
}

/// Where a failing artifact's text came from, for error messages.
fn origin(engine: &Engine, artifact: &Artifact) -> String {
    if engine.is_overridden(artifact.template) {
        format!("rendered by the override of template {}", artifact.template)
    } else {
        "a bug in podiam".to_owned()
    }
}

/// Starts compiling the schemas of every bundle artifact in the background
/// ([`crate::formats::schemas::warm_up`]), in the order they are checked.
pub fn warm_up() {
    let schemas: Vec<crate::formats::schemas::Schema> =
        in_bundle().iter().filter_map(|a| a.schema).collect();
    crate::formats::schemas::warm_up(&schemas);
}

/// Every artifact in the table, render-only ones included.
pub fn all() -> Vec<&'static Artifact> {
    ARTIFACTS.iter().collect()
}

/// Every artifact a bundle for `model` can render, render-only ones included.
pub fn for_model(model: &Model) -> Vec<&'static Artifact> {
    ARTIFACTS.iter().filter(|a| a.applies(model)).collect()
}

/// The artifacts `generate` writes into some bundle (each bundle holds
/// those of them that apply to it).
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
        let mut lacks = artifact::missing(artifact, model);
        if let Some(only) = artifact.only.filter(|o| !o.applies(model)) {
            lacks.push(only.rule().to_owned());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh thread: nothing passed on it yet.
    fn on_a_new_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
        std::thread::scope(|s| s.spawn(f).join().expect("thread"))
    }

    const POLICY: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "List", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::my-bucket"]}]}"#;

    #[test]
    fn a_text_is_skipped_only_after_the_same_text_of_the_same_artifact_passed() {
        let policy = artifact::by_name("s3-access-policy").expect("artifact");
        let trust = artifact::by_name("trust-policy").expect("artifact");
        on_a_new_thread(|| {
            assert!(check_once(policy, POLICY).is_empty());
            // The same artifact, another text: checked.
            assert!(!check_once(policy, "{}").is_empty());
            // The same text, another artifact: checked (a permission
            // policy is no trust policy).
            assert!(!check_once(trust, POLICY).is_empty());
            assert!(check_once(policy, POLICY).is_empty());
            // One text kept per artifact: the last that passed.
            let other = POLICY.replace("\"List\"", "\"ListAll\"");
            assert!(check_once(policy, &other).is_empty());
            PASSED.with_borrow(|p| {
                assert_eq!(p.len(), 1);
                assert_eq!((p[0].0, p[0].1.as_str()), (policy.name, other.as_str()));
            });
        });
    }
}
