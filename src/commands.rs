//! The bodies of podiam's commands. Each takes validated arguments from
//! [`crate::cli`] and returns an [`Error`] for `main` to map to an exit code.

use std::io::Write;
use std::path::Path;

use crate::artifact::{self, ARTIFACTS};
use crate::bundle;
use crate::check;
use crate::cli::ParamArgs;
use crate::drift;
use crate::error::Error;
use crate::output;
use crate::schemas::Schema;
use crate::templates::{EXTENSION, TEMPLATES};
use crate::ui::Ui;

/// `podiam generate`: render and check everything, then write it.
pub fn generate(params: &ParamArgs, out: &Path, force: bool, ui: &Ui) -> Result<(), Error> {
    let model = params.model(ui)?;
    let rendered = bundle::render_with(&*params.engine()?, &model, &bundle::all())?;
    rendered.iter().for_each(|r| {
        ui.detail(&format!(
            "rendered and checked {} (schema {})",
            r.artifact.path,
            r.artifact.schema.name()
        ))
    });
    let report = output::write_bundle(out, &rendered, force)?;
    print_report(&report, ui);
    Ok(())
}

fn print_report(report: &[(std::path::PathBuf, output::Status)], ui: &Ui) {
    if !ui.quiet() {
        let lines: String = report
            .iter()
            .map(|(path, status)| format!("{:<9} {}\n", status.word(), path.display()))
            .collect();
        print(&lines);
    }
}

/// `podiam check`: compare a directory with a fresh in-memory render.
pub fn check_dir(dir: &Path, params: &ParamArgs, format: &str, ui: &Ui) -> Result<(), Error> {
    let model = params.model(ui)?;
    let rendered = bundle::render_with(&*params.engine()?, &model, &bundle::all())?;
    let report = drift::compare(dir, &rendered)?;
    if format == "json" {
        let json =
            serde_json::to_string_pretty(&report).map_err(|e| Error::Drift(e.to_string()))?;
        print(&format!("{json}\n"));
    } else if !(ui.quiet() && report.matches) {
        print(&report.text());
    }
    if report.matches {
        Ok(())
    } else {
        Err(Error::Drift(report.summary()))
    }
}

/// `podiam render`: one artifact to stdout.
pub fn render(name: &str, params: &ParamArgs, ui: &Ui) -> Result<(), Error> {
    let artifact =
        artifact::by_name(name).ok_or_else(|| Error::UnknownArtifact(name.to_owned()))?;
    let model = params.model(ui)?;
    let rendered = bundle::render_with(&*params.engine()?, &model, &[artifact])?;
    rendered.iter().for_each(|r| print(&r.text));
    Ok(())
}

/// `podiam validate`: check an existing file as an artifact.
pub fn validate(name: &str, file: &Path) -> Result<(), Error> {
    let artifact =
        artifact::by_name(name).ok_or_else(|| Error::UnknownArtifact(name.to_owned()))?;
    let path = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| Error::InputRead {
        path: path.clone(),
        source,
    })?;
    let problems = check::check(artifact, &text);
    if !problems.is_empty() {
        return Err(Error::InvalidFile {
            path,
            artifact: artifact.name,
            problems,
        });
    }
    print(&format!(
        "{path}: valid {name} (schema {})\n",
        artifact.schema.name()
    ));
    Ok(())
}

/// `podiam schema`: print one schema.
pub fn schema(name: &str) -> Result<(), Error> {
    let schema = Schema::by_name(name).ok_or_else(|| {
        Error::UnknownSchema(
            name.to_owned(),
            Schema::names().collect::<Vec<_>>().join(", "),
        )
    })?;
    print(schema.text());
    Ok(())
}

/// `podiam templates export`: the built-in templates as files.
pub fn export_templates(dir: &Path, force: bool, ui: &Ui) -> Result<(), Error> {
    let paths: Vec<String> = TEMPLATES
        .iter()
        .map(|(name, _)| format!("{name}{EXTENSION}"))
        .collect();
    let files: Vec<(&str, &str)> = paths
        .iter()
        .zip(TEMPLATES)
        .map(|(p, (_, text))| (p.as_str(), *text))
        .collect();
    let report = output::write_files(dir, &files, force)?;
    print_report(&report, ui);
    Ok(())
}

/// The artifact table as text.
pub fn list() -> String {
    let row = |a: &str, b: &str, c: &str, d: &str, e: &str| {
        format!("{a:<18} {b:<32} {c:<12} {d:<20} {e}\n")
    };
    let mut text = row("NAME", "PATH", "FORMAT", "SCHEMA", "WHAT");
    for a in ARTIFACTS {
        text.push_str(&row(
            a.name,
            a.path,
            a.format.name(),
            a.schema.name(),
            a.summary,
        ));
    }
    text
}

/// The artifact table as Markdown, for the README.
pub fn list_markdown() -> String {
    let mut text =
        String::from("| name | path | format | schema | what it is |\n|---|---|---|---|---|\n");
    for a in ARTIFACTS {
        text.push_str(&format!(
            "| `{}` | `{}` | {} | `{}` | {} |\n",
            a.name,
            a.path,
            a.format.name(),
            a.schema.name(),
            a.summary
        ));
    }
    text
}

/// Writes to stdout, ignoring a closed pipe (as `podiam render … | head` does).
pub fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
