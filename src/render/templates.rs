//! The Tera templates in `templates/`, embedded in the binary, parsed once up
//! front (a broken template fails before anything renders), with podiam's
//! escaping filters registered. `--templates DIR` swaps in overrides.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tera::{Kwargs, State, Tera};

use crate::error::Error;
use crate::formats::escape;

/// Every template: name and embedded source.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "partials/header",
        include_str!("../../templates/partials/header.tera"),
    ),
    (
        "params.yaml",
        include_str!("../../templates/params.yaml.tera"),
    ),
    (
        "iam/s3-access-policy.json",
        include_str!("../../templates/iam/s3-access-policy.json.tera"),
    ),
    (
        "iam/trust-policy.json",
        include_str!("../../templates/iam/trust-policy.json.tera"),
    ),
    (
        "iam/target-trust-policy.json",
        include_str!("../../templates/iam/target-trust-policy.json.tera"),
    ),
    (
        "iam/source-role-policy.json",
        include_str!("../../templates/iam/source-role-policy.json.tera"),
    ),
    (
        "iam/bucket-policy.json",
        include_str!("../../templates/iam/bucket-policy.json.tera"),
    ),
    (
        "iam/kms-key-policy.json",
        include_str!("../../templates/iam/kms-key-policy.json.tera"),
    ),
    (
        "skypilot/config.yaml",
        include_str!("../../templates/skypilot/config.yaml.tera"),
    ),
    (
        "skypilot/task.yaml",
        include_str!("../../templates/skypilot/task.yaml.tera"),
    ),
    (
        "partials/kube-labels",
        include_str!("../../templates/partials/kube-labels.tera"),
    ),
    (
        "kubernetes/serviceaccount.yaml",
        include_str!("../../templates/kubernetes/serviceaccount.yaml.tera"),
    ),
    (
        "kubernetes/rbac.yaml",
        include_str!("../../templates/kubernetes/rbac.yaml.tera"),
    ),
    (
        "terraform/parts/variables",
        include_str!("../../templates/terraform/parts/variables.tera"),
    ),
    (
        "terraform/parts/main",
        include_str!("../../templates/terraform/parts/main.tera"),
    ),
    (
        "terraform/parts/outputs",
        include_str!("../../templates/terraform/parts/outputs.tera"),
    ),
    (
        "terraform/bucket-owner/main.tf",
        include_str!("../../templates/terraform/bucket-owner/main.tf.tera"),
    ),
    (
        "terraform/versions.tf",
        include_str!("../../templates/terraform/versions.tf.tera"),
    ),
    (
        "terraform/variables.tf",
        include_str!("../../templates/terraform/variables.tf.tera"),
    ),
    (
        "terraform/main.tf",
        include_str!("../../templates/terraform/main.tf.tera"),
    ),
    (
        "terraform/outputs.tf",
        include_str!("../../templates/terraform/outputs.tf.tera"),
    ),
    (
        "terraform/single.tf",
        include_str!("../../templates/terraform/single.tf.tera"),
    ),
    (
        "manifest.json",
        include_str!("../../templates/manifest.json.tera"),
    ),
    (
        "partials/script-values",
        include_str!("../../templates/partials/script-values.tera"),
    ),
    (
        "partials/script-lib",
        include_str!("../../templates/partials/script-lib.tera"),
    ),
    (
        "partials/script-kube",
        include_str!("../../templates/partials/script-kube.tera"),
    ),
    (
        "partials/runbook-commands",
        include_str!("../../templates/partials/runbook-commands.tera"),
    ),
    (
        "scripts/apply.sh",
        include_str!("../../templates/scripts/apply.sh.tera"),
    ),
    (
        "scripts/verify.sh",
        include_str!("../../templates/scripts/verify.sh.tera"),
    ),
    (
        "scripts/teardown.sh",
        include_str!("../../templates/scripts/teardown.sh.tera"),
    ),
    (
        "scripts/bucket-owner.sh",
        include_str!("../../templates/scripts/bucket-owner.sh.tera"),
    ),
    (
        "RUNBOOK.md",
        include_str!("../../templates/RUNBOOK.md.tera"),
    ),
    ("REVIEW.md", include_str!("../../templates/REVIEW.md.tera")),
];

/// Template files carry this extension on disk.
pub const EXTENSION: &str = ".tera";

/// A parsed set of templates, and which of them came from overrides.
pub struct Engine {
    tera: Tera,
    /// The built-in templates it holds, when not all of them
    /// ([`Engine::builtin_for`]).
    only: Option<Vec<&'static str>>,
    /// Overridden template name → the override file.
    overridden: BTreeMap<String, PathBuf>,
    /// What the manifest records about the overrides, if there are any.
    overrides: Option<Overrides>,
}

/// The template overrides a bundle was rendered from, as its manifest
/// records them: `podiam check` needs the same ones.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Overrides {
    /// The names of the overrides that differ from the built-in, sorted.
    pub templates: Vec<String>,
    /// SHA-256 over those overrides: name, NUL, text, NUL, in name order.
    pub sha256: String,
}

impl Overrides {
    /// The overrides in `sources` that differ from their built-in: one
    /// identical to the built-in template renders what the built-in does.
    fn of(sources: &BTreeMap<&str, String>) -> Option<Overrides> {
        let differing: Vec<(&str, &String)> = sources
            .iter()
            .filter(|(name, text)| !TEMPLATES.contains(&(**name, text.as_str())))
            .map(|(name, text)| (*name, text))
            .collect();
        if differing.is_empty() {
            return None;
        }
        let mut all = Vec::new();
        for (name, text) in &differing {
            all.extend_from_slice(name.as_bytes());
            all.push(0);
            all.extend_from_slice(text.as_bytes());
            all.push(0);
        }
        Some(Overrides {
            templates: differing.iter().map(|(n, _)| (*n).to_owned()).collect(),
            sha256: crate::formats::digest::sha256_hex(&all),
        })
    }
}

impl Engine {
    /// Whether a template this engine holds may use context field `field`:
    /// its name appears in one of them as a word. Always `true` for an engine that
    /// holds every template (overrides included), so only `podiam render`
    /// skips computing what its one artifact does not use; a template that
    /// used a skipped field would fail on the undefined variable.
    pub fn may_use(&self, field: &str) -> bool {
        let Some(names) = &self.only else {
            return true;
        };
        TEMPLATES
            .iter()
            .filter(|(n, _)| names.contains(n))
            .any(|(_, text)| names_word(text, field))
    }

    /// The built-in templates, parsed once per process.
    pub fn builtin() -> Result<&'static Engine, Error> {
        static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
        let sources: BTreeMap<&str, String> = BTreeMap::new();
        let build = || Engine::build(sources, BTreeMap::new()).map_err(|e| e.to_string());
        match ENGINE.get_or_init(build) {
            Ok(engine) => Ok(engine),
            Err(message) => Err(Error::Template {
                template: "(built-in templates)".into(),
                message: message.clone(),
            }),
        }
    }

    /// Only the built-in templates that `wanted` need (they and the partials
    /// they include or import), parsed now and not kept: what `podiam render`
    /// uses for one artifact, so it parses a few templates, not all of them.
    pub fn builtin_for(wanted: &[&str]) -> Result<Engine, Error> {
        let names = closure(wanted);
        let mut tera = Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        register_filters(&mut tera);
        let chosen = TEMPLATES.iter().filter(|(n, _)| names.contains(n)).copied();
        let overridden = BTreeMap::new();
        tera.add_raw_templates(chosen)
            .map_err(|e| template_error("(parse)", &overridden, &e))?;
        Ok(Engine {
            tera,
            only: Some(
                TEMPLATES
                    .iter()
                    .map(|(n, _)| *n)
                    .filter(|n| names.contains(n))
                    .collect(),
            ),
            overridden,
            overrides: None,
        })
    }

    /// The built-in templates with every `<name>.tera` file below `dir` in
    /// place of the built-in of the same name.
    pub fn with_overrides(dir: &Path) -> Result<Engine, Error> {
        if !dir.is_dir() {
            let shown = dir.display().to_string();
            let rule = "the template override directory does not exist (or is not a directory); `podiam templates export DIR` creates one";
            return Err(Error::Invalid(vec![crate::error::Violation::new(
                "--templates",
                Some(&shown),
                rule,
            )]));
        }
        let mut found = Vec::new();
        collect(dir, dir, &mut found).map_err(|source| Error::InputRead {
            path: dir.display().to_string(),
            source,
        })?;
        let mut sources = BTreeMap::new();
        let mut files = BTreeMap::new();
        for (name, path) in found {
            let Some((builtin, _)) = TEMPLATES.iter().find(|(n, _)| *n == name) else {
                return Err(Error::UnknownTemplate {
                    path: path.display().to_string(),
                    name,
                });
            };
            let text = std::fs::read_to_string(&path).map_err(|source| Error::InputRead {
                path: path.display().to_string(),
                source,
            })?;
            sources.insert(*builtin, text);
            files.insert(name, path);
        }
        Engine::build(sources, files)
    }

    fn build(
        overrides: BTreeMap<&str, String>,
        overridden: BTreeMap<String, PathBuf>,
    ) -> Result<Engine, Error> {
        let mut tera = Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        register_filters(&mut tera);
        let merged = TEMPLATES
            .iter()
            .map(|(name, text)| (*name, overrides.get(name).map_or(*text, String::as_str)));
        tera.add_raw_templates(merged)
            .map_err(|e| template_error("(parse)", &overridden, &e))?;
        Ok(Engine {
            tera,
            only: None,
            overrides: Overrides::of(&overrides),
            overridden,
        })
    }

    /// The overrides this engine renders with, if any.
    pub fn overrides(&self) -> Option<&Overrides> {
        self.overrides.as_ref()
    }

    /// Whether `template` came from `--templates DIR`.
    pub fn is_overridden(&self, template: &str) -> bool {
        self.overridden.contains_key(template)
    }

    /// Renders one template, naming it (and its line) in any error.
    pub fn render(&self, template: &str, context: &tera::Context) -> Result<String, Error> {
        self.tera
            .render(template, context)
            .map_err(|e| template_error(template, &self.overridden, &e))
    }
}

/// `wanted` and every built-in template they name in quotes (an include or
/// an import), transitively. Naming a template anywhere else in quotes only
/// adds one template to parse, never drops one.
/// Whether `word` stands in `text` on its own: neither neighbour is a
/// letter, digit or `_` (so `reviewed` does not name `review`).
fn names_word(text: &str, word: &str) -> bool {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    text.match_indices(word).any(|(at, _)| {
        !ident(text[..at].chars().next_back()) && !ident(text[at + word.len()..].chars().next())
    })
}

fn closure<'a>(wanted: &[&'a str]) -> Vec<&'a str>
where
    'static: 'a,
{
    let mut names: Vec<&str> = wanted.to_vec();
    let mut next = 0;
    while let Some(name) = names.get(next).copied() {
        next += 1;
        let Some((_, text)) = TEMPLATES.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        for (other, _) in TEMPLATES {
            if !names.contains(other) && text.contains(&format!("\"{other}\"")) {
                names.push(other);
            }
        }
    }
    names
}

/// A template error: from an override it is the user's input (exit 2),
/// named by the override file and line; from a built-in it is a bug in
/// podiam (exit 1). The error's own location decides, so an error inside an
/// overridden partial is the override's even when a built-in includes it.
fn template_error(
    template: &str,
    overridden: &BTreeMap<String, PathBuf>,
    error: &tera::Error,
) -> Error {
    let message = describe(error);
    let at = location(error);
    let culprit = match &at {
        Some((name, _, _)) if overridden.contains_key(name.as_str()) => Some(name.as_str()),
        Some(_) => None,
        None if overridden.contains_key(template) => Some(template),
        None => None,
    };
    let Some((culprit, file)) = culprit.and_then(|c| overridden.get_key_value(c)) else {
        return Error::Template {
            template: template.to_owned(),
            message,
        };
    };
    let location = match at {
        Some((_, line, col)) => format!("{}:{line}:{col}", file.display()),
        None => file.display().to_string(),
    };
    let context = if culprit == template || template == "(parse)" {
        format!("template {culprit}")
    } else {
        format!("template {culprit}, rendering {template}")
    };
    Error::OverrideTemplate {
        location,
        context,
        message,
    }
}

/// The template, line and column (1-based) where Tera places an error.
fn location(error: &tera::Error) -> Option<(String, usize, usize)> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tera_error) = e.downcast_ref::<tera::Error>()
            && let tera::ErrorKind::SyntaxError(report) | tera::ErrorKind::RenderingError(report) =
                tera_error.kind()
        {
            let span = report.span();
            return Some((
                report.filename().to_owned(),
                span.start_line,
                span.start_col + 1,
            ));
        }
        current = e.source();
    }
    None
}

/// Every `*.tera` file below `dir`, as (template name, path).
fn collect(
    root: &Path,
    dir: &Path,
    out: &mut Vec<(String, std::path::PathBuf)>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if let Some(name) = template_name(root, &path) {
            out.push((name, path));
        }
    }
    Ok(())
}

fn template_name(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/").strip_suffix(EXTENSION).map(str::to_owned)
}

fn register_filters(tera: &mut Tera) {
    tera.register_filter("json", |v: &tera::Value, _: Kwargs, _: &State| {
        if v.is_undefined() {
            return Err(tera::Error::message(
                "the json filter was given an undefined value (a misspelt variable?)",
            ));
        }
        let value = serde_json::to_value(v).map_err(tera::Error::message)?;
        escape::json(&value).map_err(tera::Error::message)
    });
    tera.register_filter("yaml", |v: &str, _: Kwargs, _: &State| escape::yaml(v));
    tera.register_filter("shell", |v: &str, _: Kwargs, _: &State| {
        escape::shell(v).map_err(tera::Error::message)
    });
    tera.register_filter("hcl", |v: &str, _: Kwargs, _: &State| {
        crate::formats::hclwrite::string(v)
    });
    tera.register_filter("hcl_expr", |v: &tera::Value, kwargs: Kwargs, _: &State| {
        let value = serde_json::to_value(v).map_err(tera::Error::message)?;
        let refs: Vec<String> = kwargs.must_get("refs")?;
        let indent: i64 = kwargs.get("indent")?.unwrap_or(0);
        let indent = usize::try_from(indent).map_err(tera::Error::message)?;
        let each: Option<crate::formats::hclwrite::Each> =
            match kwargs.get::<tera::Value>("each")? {
                Some(e) => serde_json::to_value(e)
                    .and_then(serde_json::from_value)
                    .map(Some)
                    .map_err(tera::Error::message)?,
                None => None,
            };
        crate::formats::hclwrite::Writer::new(&refs)
            .with_each(each.as_ref())
            .expression(&value, indent)
            .map_err(tera::Error::message)
    });
    tera.register_filter("comment", |v: &str, _: Kwargs, _: &State| {
        escape::comment(v).map_err(tera::Error::message)
    });
    tera.register_filter("md", |v: &str, _: Kwargs, _: &State| {
        escape::md(v).map_err(tera::Error::message)
    });
    tera.register_filter("md_code", |v: &str, _: Kwargs, _: &State| {
        escape::md_code(v).map_err(tera::Error::message)
    });
    tera.register_filter("aws_tag", |v: &tera::Value, _: Kwargs, _: &State| {
        let tag: crate::input::role::Tag = serde_json::to_value(v)
            .and_then(serde_json::from_value)
            .map_err(tera::Error::message)?;
        crate::formats::awscli::tag(&tag.key, &tag.value).map_err(tera::Error::message)
    });
    tera.register_filter("fenced", |v: &str, kwargs: Kwargs, _: &State| {
        let lang: &str = kwargs.get("lang")?.unwrap_or("");
        escape::fenced(v, lang).map_err(tera::Error::message)
    });
}

/// Tera's error with its whole cause chain.
fn describe(error: &tera::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_field_is_named_only_as_a_word() {
        assert!(super::names_word("{{ review }}", "review"));
        assert!(super::names_word("{% if review %}x", "review"));
        assert!(super::names_word("{{ prose.access }}", "prose"));
        assert!(!super::names_word("reviewed and signed", "review"));
        assert!(!super::names_word("my_review", "review"));
        assert!(!super::names_word("", "review"));
    }
}
