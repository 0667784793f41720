//! The bodies of podiam's commands. Each takes validated arguments from
//! [`crate::cli`] and returns an [`Error`] for `main` to map to an exit code.

use std::io::Write;
use std::path::Path;

use crate::artifacts::artifact::{self, ARTIFACTS};
use crate::artifacts::bundle;
use crate::artifacts::check;
use crate::cli::args::ParamArgs;
use crate::cli::batch_index;
use crate::cli::report::{self, Report};
use crate::cli::targets::{self, TargetBundle};
use crate::cli::ui::Ui;
use crate::error::Error;
use crate::formats::schemas::Schema;
use crate::output::drift;
use crate::output::write;
use crate::render::templates::{EXTENSION, TEMPLATES};

/// `podiam generate`: validate every target, then render, check and stage
/// them target by target, and move them all into place only when every one
/// has passed ([`write::Writer`]).
pub fn generate(params: &ParamArgs, out: &Path, force: bool, ui: &Ui) -> Result<(), Error> {
    bundle::warm_up();
    let targets = params.validated(ui)?;
    let engine = params.engine()?;
    let batch = targets::is_batch(&targets);
    batch_index::refuse_mixing(out, batch)?;
    if batch && params.one_target() && out.join(artifact::PARAMS_PATH).is_file() {
        ui.note(&format!(
            "--target: {} still lists this target's earlier parameters; generate the whole batch to update it (`podiam check` shows the difference)",
            out.join(artifact::PARAMS_PATH).display()
        ));
    }
    let writer = write::Writer::new(out, batch, force)?;
    let (mut plan, mut report) = (write::Plan::default(), Report::default());
    let mut index = (batch && !params.one_target())
        .then(|| batch_index::Index::new(writer.top_file(artifact::PARAMS_PATH)?))
        .transpose()?;
    targets::stream(
        &engine,
        &targets,
        &bundle::in_bundle(),
        |b| {
            let folder = writer.folder(b.name.as_deref());
            // A folder that is not there holds no manifest and no file of
            // another shape: one lookup instead of one per file.
            if !absent(&folder) {
                drift::keeps_overrides(&folder, engine.overrides())?;
                refuse_other_shape(&folder, b)?;
            }
            writer.prepare(b.name.as_deref(), &targets::files(b))
        },
        |b, prepared| {
            detail(&b, ui);
            if let Some(i) = index.as_mut() {
                i.add(&b)?;
            }
            let statuses = plan.record(prepared);
            if !ui.quiet() {
                report.add(b.name.as_deref(), &b.rendered, &statuses);
            }
            Ok(())
        },
    )?;
    let top = index.map(batch_index::Index::finish).transpose()?;
    let top_status = match top {
        Some(file) => plan.record(writer.prepare_top(file)?),
        None => Vec::new(),
    };
    let folders = writer.folders();
    writer.commit(plan)?;
    if !ui.quiet() {
        report.print(folders);
        report::print_folder(out, &top_status, &[artifact::PARAMS_PATH]);
    }
    Ok(())
}

/// Whether nothing is at `path` (any other answer, an error included,
/// leaves the checks to run and report it).
fn absent(path: &Path) -> bool {
    matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

/// Refuses to regenerate a folder that holds artifacts of another bundle
/// shape (a bucket owner's script after `--bucket-account` was dropped):
/// they would stay behind, still granting what they set up, and the script
/// that undoes it would be stale. The user tears down and deletes them.
fn refuse_other_shape(folder: &Path, bundle: &TargetBundle) -> Result<(), Error> {
    let stale: Vec<String> = bundle::in_bundle()
        .into_iter()
        .filter(|a| a.only.is_some())
        .filter(|a| !bundle.rendered.iter().any(|r| std::ptr::eq(r.artifact, *a)))
        .filter(|a| folder.join(a.path).is_file())
        .map(|a| {
            let rule = a.only.map(|o| o.rule()).unwrap_or_default();
            format!("{} ({rule}); undo what it set up first{}, then delete it", a.path, match a.name {
                "bucket-owner-script" => " (scripts/bucket-owner.sh teardown, with the bucket account's credentials)",
                "target-trust-policy" | "source-role-policy" => " (scripts/teardown.sh of this bundle as it is)",
                _ => "",
            })
        })
        .collect();
    if stale.is_empty() {
        return Ok(());
    }
    Err(Error::OtherShape {
        folder: folder.display().to_string(),
        files: stale,
    })
}

/// The verbose lines for one rendered target.
fn detail(bundle: &TargetBundle, ui: &Ui) {
    for r in &bundle.rendered {
        ui.detail(&format!(
            "rendered and checked {}{} (schema {})",
            targets::prefix(bundle.name.as_deref()),
            r.artifact.path,
            r.artifact.check_name()
        ));
    }
}

/// `podiam check`: compare a directory with a fresh in-memory render,
/// target by target.
pub fn check_dir(dir: &Path, params: &ParamArgs, format: &str, ui: &Ui) -> Result<(), Error> {
    bundle::warm_up();
    let targets = params.validated_in(dir, ui)?;
    let engine = params.engine()?;
    let batch = targets::is_batch(&targets);
    let whole_batch = batch && !params.one_target();
    let drift = drift::Drift::new(dir, whole_batch, engine.overrides())?;
    let mut found = drift::Found::default();
    // A batch written before podiam wrote its params.yaml has none: its
    // targets' entries are still checked, and compared with nothing.
    let indexed = params.has_params_file() || dir.join(artifact::PARAMS_PATH).is_file();
    let mut index = match whole_batch {
        true => {
            let top = indexed.then(|| drift.top_compare(artifact::PARAMS_PATH));
            Some(batch_index::Index::new(top.transpose()?)?)
        }
        false => None,
    };
    targets::stream(
        &engine,
        &targets,
        &bundle::in_bundle(),
        |b| drift.compare(b.name.as_deref(), &targets::files(b)),
        |b, one| {
            detail(&b, ui);
            if let Some(i) = index.as_mut() {
                i.add(&b)?;
            }
            found.record(one);
            Ok(())
        },
    )?;
    match index.map(batch_index::Index::finish).transpose()? {
        Some(Some(compared)) => found.record(compared.finish()?),
        Some(None) => ui.note(&format!(
            "{} has no params.yaml listing its targets (a batch written by an older podiam): the target folders present were checked, and a deleted one cannot be seen; generate the batch again to write it",
            dir.display()
        )),
        None => {}
    }
    // The targets' folders, to tell them from extras at the top.
    let mut folders: Vec<&str> = targets.iter().filter_map(|t| t.name.as_deref()).collect();
    folders.sort_unstable();
    let report = drift.finish(found, |n| folders.binary_search(&n).is_ok())?;
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

/// `podiam render`: one artifact of one target to stdout.
pub fn render(name: &str, params: &ParamArgs, ui: &Ui) -> Result<(), Error> {
    let artifact =
        artifact::by_name(name).ok_or_else(|| Error::UnknownArtifact(name.to_owned()))?;
    let targets = params.targets(ui)?;
    if targets.len() > 1 {
        let names: Vec<&str> = targets.iter().filter_map(|t| t.name.as_deref()).collect();
        let rule = format!(
            "render prints one target; choose one of {} with --target",
            targets::listed(&names)
        );
        return Err(Error::Invalid(vec![crate::error::Violation::new(
            "target", None, rule,
        )]));
    }
    let engine = params.engine_for(&[artifact])?;
    for target in &targets {
        let bundle = targets::render(&engine, target, &[artifact])?;
        detail(&bundle, ui);
        bundle.rendered.iter().for_each(|r| print(&r.text));
    }
    Ok(())
}

/// `podiam explain`: the review sheet of every target.
pub fn explain(params: &ParamArgs, ui: &Ui) -> Result<(), Error> {
    let mut sheets = Vec::new();
    let mut problems = Vec::new();
    for target in params.targets(ui)? {
        let prefix = targets::prefix(target.name.as_deref());
        match crate::iam::explain::markdown(&target.model) {
            Ok(sheet) => {
                ui.detail(&format!(
                    "{prefix}explained the permission and trust policies of role {}",
                    target.model.role_name.as_str()
                ));
                sheets.push(sheet)
            }
            Err(e) => problems.push(format!("{prefix}cannot explain: {e}")),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Targets { problems, code: 2 });
    }
    print(&sheets.join("\n"));
    Ok(())
}

/// `podiam validate`: check an existing file as an artifact.
pub fn validate(name: &str, file: &Path, ui: &Ui) -> Result<(), Error> {
    let artifact =
        artifact::by_name(name).ok_or_else(|| Error::UnknownArtifact(name.to_owned()))?;
    let path = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| Error::InputRead {
        path: path.clone(),
        source,
    })?;
    ui.detail(&format!(
        "{path}: parsing as {} and checking with {}",
        artifact.format.name(),
        artifact.check_name()
    ));
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
        artifact.check_name()
    ));
    Ok(())
}

/// `podiam schema`: print one schema.
pub fn schema(name: &str, ui: &Ui) -> Result<(), Error> {
    let schema = Schema::by_name(name).ok_or_else(|| {
        Error::UnknownSchema(
            name.to_owned(),
            Schema::names().collect::<Vec<_>>().join(", "),
        )
    })?;
    ui.detail(&format!(
        "schema {name}: schemas/{name}.schema.json, {} bytes",
        schema.text().len()
    ));
    print(schema.text());
    Ok(())
}

/// `podiam man [PAGE]`: podiam's page, or one subcommand's.
pub fn man(page: Option<&str>, ui: &Ui) -> Result<(), Error> {
    let command = crate::cli::args::man_command(page).ok_or_else(|| {
        let rule = "no such page: `podiam man` names each page as podiam-<page>(1); give <page>, e.g. generate or templates-export";
        Error::Invalid(vec![crate::error::Violation::new("page", page, rule)])
    })?;
    ui.detail(&format!("man page {}(1)", command.get_name()));
    let mut out = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut out)
        .map_err(|source| Error::Write {
            path: "(stdout)".into(),
            source,
        })?;
    print(&String::from_utf8_lossy(&out));
    Ok(())
}

/// `podiam templates export`: the built-in templates as files.
pub fn export_templates(dir: &Path, force: bool, ui: &Ui) -> Result<(), Error> {
    let paths: Vec<String> = TEMPLATES
        .iter()
        .map(|(name, _)| format!("{name}{EXTENSION}"))
        .collect();
    let files: Vec<write::OutFile> = paths
        .iter()
        .zip(TEMPLATES)
        .map(|(p, (_, text))| write::OutFile {
            path: p.clone(),
            text,
            executable: false,
        })
        .collect();
    ui.detail(&format!(
        "{} built-in templates, to write below {}",
        files.len(),
        dir.display()
    ));
    let writer = write::Writer::new(dir, false, force)?;
    let mut plan = write::Plan::default();
    let statuses = plan.record(writer.prepare(None, &files)?);
    let folder = writer.folder(None);
    writer.commit(plan)?;
    if !ui.quiet() {
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        report::print_folder(&folder, &statuses, &paths);
    }
    Ok(())
}

/// The artifact table as text.
pub fn list() -> String {
    let rows: Vec<[&str; 5]> = std::iter::once(["NAME", "PATH", "FORMAT", "CHECKED BY", "WHAT"])
        .chain(
            ARTIFACTS
                .iter()
                .map(|a| [a.name, a.path, a.format.name(), a.check_name(), a.summary]),
        )
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0);
    let widths = [width(0), width(1), width(2), width(3)];
    rows.iter()
        .map(|r| {
            format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}\n",
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2],
                w3 = widths[3]
            )
        })
        .collect()
}

/// The artifact table as Markdown, for the README.
pub fn list_markdown() -> String {
    let mut text =
        String::from("| name | path | format | checked by | what it is |\n|---|---|---|---|---|\n");
    for a in ARTIFACTS {
        text.push_str(&format!(
            "| `{}` | `{}` | {} | `{}` | {} |\n",
            a.name,
            a.path,
            a.format.name(),
            a.check_name(),
            a.summary
        ));
    }
    text
}

/// Writes to stdout, ignoring a closed pipe (as `podiam render … | head` does).
pub fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
