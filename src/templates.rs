//! The Tera templates in `templates/`, embedded in the binary, parsed once up
//! front (a broken template fails before anything renders), with podiam's
//! escaping filters registered.

use std::sync::OnceLock;

use tera::{Kwargs, State, Tera};

use crate::error::Error;
use crate::escape;

/// Every template: name and embedded source.
pub const TEMPLATES: &[(&str, &str)] = &[
    (
        "partials/header",
        include_str!("../templates/partials/header.tera"),
    ),
    (
        "iam/s3-access-policy.json",
        include_str!("../templates/iam/s3-access-policy.json.tera"),
    ),
    (
        "iam/trust-policy.json",
        include_str!("../templates/iam/trust-policy.json.tera"),
    ),
    (
        "skypilot/config.yaml",
        include_str!("../templates/skypilot/config.yaml.tera"),
    ),
    (
        "skypilot/task.yaml",
        include_str!("../templates/skypilot/task.yaml.tera"),
    ),
    (
        "kubernetes/serviceaccount.yaml",
        include_str!("../templates/kubernetes/serviceaccount.yaml.tera"),
    ),
    (
        "partials/script-values",
        include_str!("../templates/partials/script-values.tera"),
    ),
    (
        "partials/script-lib",
        include_str!("../templates/partials/script-lib.tera"),
    ),
    (
        "partials/runbook-commands",
        include_str!("../templates/partials/runbook-commands.tera"),
    ),
    (
        "scripts/apply.sh",
        include_str!("../templates/scripts/apply.sh.tera"),
    ),
    (
        "scripts/verify.sh",
        include_str!("../templates/scripts/verify.sh.tera"),
    ),
    (
        "scripts/teardown.sh",
        include_str!("../templates/scripts/teardown.sh.tera"),
    ),
    ("RUNBOOK.md", include_str!("../templates/RUNBOOK.md.tera")),
];

/// The engine with every built-in template, parsed once per process.
pub fn engine() -> Result<&'static Tera, Error> {
    static ENGINE: OnceLock<Result<Tera, Error>> = OnceLock::new();
    match ENGINE.get_or_init(|| build(TEMPLATES)) {
        Ok(tera) => Ok(tera),
        Err(e) => Err(Error::Template {
            template: "(built-in templates)".into(),
            message: e.to_string(),
        }),
    }
}

/// Builds an engine from `(name, source)` pairs: no autoescaping (nothing
/// here is HTML), and podiam's filters for every target language.
pub fn build(templates: &[(&str, &str)]) -> Result<Tera, Error> {
    let mut tera = Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    register_filters(&mut tera);
    tera.add_raw_templates(templates.iter().copied())
        .map_err(|e| Error::Template {
            template: "(parse)".into(),
            message: describe(&e),
        })?;
    Ok(tera)
}

fn register_filters(tera: &mut Tera) {
    tera.register_filter("json", |v: &tera::Value, _: Kwargs, _: &State| {
        let value = serde_json::to_value(v).map_err(tera::Error::message)?;
        escape::json(&value).map_err(tera::Error::message)
    });
    tera.register_filter("yaml", |v: &str, _: Kwargs, _: &State| escape::yaml(v));
    tera.register_filter("shell", |v: &str, _: Kwargs, _: &State| {
        escape::shell(v).map_err(tera::Error::message)
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
    tera.register_filter("fenced", |v: &str, kwargs: Kwargs, _: &State| {
        let lang: &str = kwargs.get("lang")?.unwrap_or("");
        escape::fenced(v, lang).map_err(tera::Error::message)
    });
}

/// Renders one template, naming it in any error.
pub fn render(tera: &Tera, template: &str, context: &tera::Context) -> Result<String, Error> {
    tera.render(template, context).map_err(|e| Error::Template {
        template: template.to_owned(),
        message: describe(&e),
    })
}

/// Tera's error with its whole cause chain, on one line.
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
