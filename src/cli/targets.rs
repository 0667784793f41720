//! Targets: the one set of parameters of a plain run, or the named targets
//! of a batch params file. Every target is validated and rendered before
//! anything is written, and every error names its target.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::artifacts::artifact::Artifact;
use crate::artifacts::artifact::Rendered;
use crate::artifacts::bundle;
use crate::cli::parallel;
use crate::error::Error;
use crate::input::model::Model;
use crate::input::params::{Held, RawParams};
use crate::input::rules;
use crate::output::write::OutFile;
use crate::render::templates::Engine;

/// A validated target: its name (batch only) and model.
#[derive(Debug)]
pub struct Target {
    /// The target's name, which is also its folder; `None` for a plain run.
    pub name: Option<String>,
    /// Its validated parameters.
    pub model: Model,
}

/// A target's rendered artifacts.
#[derive(Debug)]
pub struct TargetBundle {
    /// The target's name; `None` for a plain run.
    pub name: Option<String>,
    /// Its rendered, checked artifacts.
    pub rendered: Vec<Rendered>,
}

/// A target's raw parameters, named in a batch, held as JSON text until
/// validation reads them.
pub type Raw = (Option<String>, Held);

/// A target that passed validation, while the batch is still being
/// checked: what must not clash, its name, and its parameters, still held.
type Checked = (Keys, Option<String>, Held);

/// Parameters held as JSON text until they are needed.
pub fn hold(raw: &RawParams) -> Result<Held, Error> {
    Held::new(raw).map_err(|e| internal("holding", &e))
}

/// Parameters held by [`hold`], read back.
pub fn unhold(held: &Held) -> Result<RawParams, Error> {
    held.get().map_err(|e| internal("reading back", &e))
}

/// A validated target, held compactly until its chunk is rendered: its
/// name and its merged parameters as JSON text. A batch of 10,000 targets
/// holds 10,000 of these, never 10,000 models or parsed parameter sets.
#[derive(Debug)]
pub struct Valid {
    /// The target's name (batch only).
    pub name: Option<String>,
    /// Its parameters, held as they were validated.
    params: Held,
}

/// A failure to hold a target's parameters as JSON: a bug in podiam.
fn internal(doing: &str, e: &serde_json::Error) -> Error {
    Error::Targets {
        problems: vec![format!(
            "{doing} a target's parameters failed (a bug in podiam): {e}"
        )],
        code: 1,
    }
}

/// Whether these targets come from a batch (named targets).
pub fn is_batch(targets: &[Valid]) -> bool {
    targets.iter().any(|t| t.name.is_some())
}

/// Validates every target, then checks that targets do not clash.
pub fn models(raws: Vec<Raw>) -> Result<Vec<Target>, Error> {
    let valid = validate(raws, None, |_| {})?;
    build(&valid)
}

/// Validates every target (handing each model to `each`, for its notices),
/// merges batch targets that name the same role ([`crate::cli::merge`]) and
/// checks that targets do not clash, keeping only the raw parameters: a
/// batch rebuilds each model when its chunk is rendered ([`stream`]), so it
/// never holds every model at once. `only` keeps one target (`--target`):
/// the others are validated only to find the targets merged with it, and
/// their own errors are not reported.
pub fn validate(
    raws: Vec<Raw>,
    only: Option<&str>,
    mut each: impl FnMut(&Target),
) -> Result<Vec<Valid>, Error> {
    let batch = raws.iter().any(|(n, _)| n.is_some());
    let mut problems = Vec::new();
    let mut checked: Vec<Checked> = Vec::with_capacity(raws.len());
    let mut rejected: Vec<(String, Vec<String>)> = Vec::new();
    let mut raws = raws.into_iter();
    loop {
        let chunk: Vec<Raw> = raws.by_ref().take(VALIDATE_CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        let results = parallel::map(&chunk, |(_, held)| {
            unhold(held).and_then(|raw| checked_model(&raw))
        });
        for ((name, held), result) in chunk.into_iter().zip(results) {
            let wanted = only.is_none() || name.as_deref() == only;
            if let Some(n) = &name
                && let Err(rule) = rules::namespace(n)
            {
                if wanted {
                    problems.push(format!(
                        "target {n:?}: target names become folder names; {rule}"
                    ));
                }
                continue;
            }
            match result.unwrap_or_else(|| Err(panicked())) {
                Ok(model) => {
                    let target = Target { name, model };
                    if wanted {
                        each(&target);
                    }
                    checked.push((Keys::of(&target), target.name, held));
                }
                Err(e) if !wanted => {
                    if let Some(role) = unhold(&held).ok().as_ref().and_then(raw_role) {
                        rejected.push((role, lines(name.as_deref(), &e)));
                    }
                }
                Err(e) if batch => problems.extend(lines(name.as_deref(), &e)),
                Err(e) => return Err(e),
            }
        }
    }
    if let Some(only) = only {
        merged_into(&checked, only)?;
        let role = checked.iter().find(|(_, n, _)| n.as_deref() == Some(only));
        if let Some((key, _, _)) = role {
            for (_, why) in rejected.into_iter().filter(|(r, _)| *r == key.role) {
                problems.extend(why);
            }
        }
    }
    let merged = if batch {
        merged(checked, only, &mut problems, &mut each)?
    } else {
        checked
    };
    let mut keys = Vec::with_capacity(merged.len());
    let mut valid = Vec::with_capacity(merged.len());
    for (key, name, params) in merged {
        if only.is_some() && name.as_deref() != only {
            continue;
        }
        keys.push(key);
        valid.push(Valid { name, params });
    }
    problems.extend(clashes(&keys));
    if problems.is_empty() {
        Ok(valid)
    } else {
        Err(Error::Targets { problems, code: 2 })
    }
}

/// Refuses `--target` naming a target merged into an earlier one.
fn merged_into(checked: &[Checked], only: &str) -> Result<(), Error> {
    let Some((key, _, _)) = checked.iter().find(|(_, n, _)| n.as_deref() == Some(only)) else {
        return Ok(());
    };
    let head = checked.iter().find(|(k, _, _)| k.role == key.role);
    match head.and_then(|(_, n, _)| n.as_deref()) {
        Some(first) if first != only => Err(Error::Invalid(vec![crate::error::Violation::new(
            "target",
            Some(only),
            format!(
                "names the same role as target {first:?}, so the batch merges it into {first:?}'s bundle; give --target {first}"
            ),
        )])),
        _ => Ok(()),
    }
}

/// The role a target that failed validation would name, lowercased: its
/// `role_name`, or the one derived from its first bucket.
fn raw_role(raw: &RawParams) -> Option<String> {
    let name = match &raw.role_name {
        Some(name) => name.clone(),
        None => {
            let bucket = raw.bucket.as_ref()?.first()?;
            crate::input::names::derive(
                crate::input::names::ROLE_PREFIX,
                bucket,
                crate::input::names::ROLE_MAX,
            )
            .name
        }
    };
    Some(name.to_ascii_lowercase())
}

/// A model, with IAM's limits on its documents checked.
fn checked_model(raw: &RawParams) -> Result<Model, Error> {
    Model::from_raw(raw).and_then(|model| crate::iam::limits::check_limits(&model).map(|()| model))
}

/// Targets naming the same role, each group merged into its first target;
/// a disagreement, or a merged role that breaks a rule, becomes a problem.
fn merged(
    checked: Vec<Checked>,
    only: Option<&str>,
    problems: &mut Vec<String>,
    each: &mut impl FnMut(&Target),
) -> Result<Vec<Checked>, Error> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, (key, _, _)) in checked.iter().enumerate() {
        groups.entry(key.role.clone()).or_default().push(i);
    }
    groups.retain(|_, members| members.len() > 1);
    if groups.is_empty() {
        return Ok(checked);
    }
    let shown: Vec<String> = checked
        .iter()
        .map(|(k, _, _)| k.role_name.clone())
        .collect();
    let mut slots: Vec<Option<Checked>> = checked.into_iter().map(Some).collect();
    for members in groups.into_values() {
        let holds_only = |slots: &[Option<Checked>]| {
            members
                .iter()
                .any(|&i| slots[i].as_ref().and_then(|(_, n, _)| n.as_deref()) == only)
        };
        if only.is_some() && !holds_only(&slots) {
            continue;
        }
        let role = &shown[members[0]];
        let group: Vec<crate::cli::merge::Member> = members
            .iter()
            .filter_map(|&i| slots[i].take())
            .map(|(_, name, held)| {
                unhold(&held)
                    .map(|raw| crate::cli::merge::Member::new(name.unwrap_or_default(), raw))
            })
            .collect::<Result<_, Error>>()?;
        let names: Vec<String> = group.iter().map(|m| m.name.clone()).collect();
        let Ok((name, raw)) = crate::cli::merge::merge(role, group).map_err(|p| problems.extend(p))
        else {
            continue;
        };
        match checked_model(&raw) {
            Ok(mut model) => {
                model.notices = vec![format!(
                    "targets {} name the same role and agree on everything else: one role with {} bindings, written to folder {name:?}",
                    quoted(&names),
                    model.bindings.len()
                )];
                let target = Target {
                    name: Some(name),
                    model,
                };
                each(&target);
                slots[members[0]] = Some((Keys::of(&target), target.name, hold(&raw)?));
            }
            Err(e) => problems.extend(lines(Some(&format!("{} merged", names.join("+"))), &e)),
        }
    }
    Ok(slots.into_iter().flatten().collect())
}

/// The models of targets already validated.
pub fn build(valid: &[Valid]) -> Result<Vec<Target>, Error> {
    valid
        .iter()
        .map(|v| {
            let raw = unhold(&v.params)?;
            Model::from_raw(&raw).map(|model| Target {
                name: v.name.clone(),
                model,
            })
        })
        .collect()
}

/// Renders and checks `selection` for one target (`podiam render`); in a
/// batch, a failure's lines name the target.
pub fn render(
    engine: &Engine,
    target: &Target,
    selection: &[&'static Artifact],
) -> Result<TargetBundle, Error> {
    let name = target.name.as_deref();
    let rendered =
        bundle::render_with(engine, &target.model, selection).map_err(|e| match name {
            None => e,
            Some(_) => Error::Targets {
                code: e.exit_code(),
                problems: lines(name, &e),
            },
        })?;
    Ok(TargetBundle {
        name: target.name.clone(),
        rendered,
    })
}

/// What a thread that panicked leaves: a bug in podiam.
fn panicked() -> Error {
    Error::Targets {
        problems: vec!["rendering a target panicked (a bug in podiam)".into()],
        code: 1,
    }
}

/// A bundle's files, with their paths below the target's folder.
pub fn files(bundle: &TargetBundle) -> Vec<OutFile<'_>> {
    bundle
        .rendered
        .iter()
        .map(|r| OutFile {
            path: r.artifact.path.to_owned(),
            text: &r.text,
            executable: r.artifact.executable,
        })
        .collect()
}

/// How many targets are validated at a time, spread over the cores.
const VALIDATE_CHUNK: usize = 256;

/// How many targets may be rendered and checked ahead of the one being
/// handed on: what bounds a batch's memory, whatever its size.
pub const WINDOW: usize = 16;

/// Renders and checks `targets` on every core, each target on one core from
/// its model to its checks, no more than [`WINDOW`] ahead of the one handed
/// on. While no target has failed, each checked bundle also goes through
/// `prepare` there (staging its files, comparing them with the disk), and
/// then, in the targets' order, through `record`. Every target is still
/// rendered, so every failure is reported, and the run fails if any did.
pub fn stream<P: Send>(
    engine: &Engine,
    targets: &[Valid],
    selection: &[&'static Artifact],
    prepare: impl Fn(&TargetBundle) -> Result<P, Error> + Sync,
    mut record: impl FnMut(TargetBundle, P) -> Result<(), Error>,
) -> Result<(), Error> {
    let failed = AtomicBool::new(false);
    let one = |valid: &Valid| -> Result<(TargetBundle, Option<Result<P, Error>>), Error> {
        let model = build(std::slice::from_ref(valid))?
            .pop()
            .map(|t| t.model)
            .ok_or_else(panicked)?;
        let rendered = bundle::render_with(engine, &model, selection)?;
        let bundle = TargetBundle {
            name: valid.name.clone(),
            rendered,
        };
        let prepared = (!failed.load(Ordering::Relaxed)).then(|| prepare(&bundle));
        Ok((bundle, prepared))
    };
    let (mut problems, mut code) = (Vec::new(), 0);
    let mut stopped: Option<Error> = None;
    parallel::in_order(targets, WINDOW, one, |i, result| {
        let valid = &targets[i];
        let step = match result.unwrap_or_else(|| Err(panicked())) {
            Ok((bundle, Some(prepared))) if problems.is_empty() => {
                prepared.and_then(|p| record(bundle, p))
            }
            Ok(_) => Ok(()),
            Err(e) if valid.name.is_some() => {
                failed.store(true, Ordering::Relaxed);
                code = code.max(e.exit_code());
                problems.extend(lines(valid.name.as_deref(), &e));
                Ok(())
            }
            Err(e) => Err(e),
        };
        match step {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                stopped = Some(e);
                ControlFlow::Break(())
            }
        }
    });
    if let Some(e) = stopped {
        return Err(e);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Targets { problems, code })
    }
}

/// Names for a message: all of them up to ten, then the first ten and how
/// many more, so a batch of thousands gives one readable line.
pub fn listed<S: AsRef<str>>(names: &[S]) -> String {
    const SHOWN: usize = 10;
    let first: Vec<&str> = names.iter().take(SHOWN).map(AsRef::as_ref).collect();
    match names.len().saturating_sub(SHOWN) {
        0 => first.join(", "),
        more => format!("{} and {more} more", first.join(", ")),
    }
}

/// `target "<name>": ` in a batch, nothing for a plain run: how every
/// message about one target starts.
pub fn prefix(name: Option<&str>) -> String {
    name.map(|n| format!("target {n:?}: ")).unwrap_or_default()
}

/// An error's lines, each naming the target.
fn lines(name: Option<&str>, error: &Error) -> Vec<String> {
    let prefix = prefix(name);
    match error {
        Error::Invalid(violations) => violations.iter().map(|v| format!("{prefix}{v}")).collect(),
        other => vec![format!("{prefix}{other}")],
    }
}

/// What two targets must not share: folder, role name and policy name,
/// lowercased (IAM names are unique case-insensitively).
struct Keys {
    name: Option<String>,
    role: String,
    role_name: String,
    policy: String,
}

impl Keys {
    fn of(t: &Target) -> Keys {
        Keys {
            name: t.name.clone(),
            role: t.model.role_name.as_str().to_ascii_lowercase(),
            role_name: t.model.role_name.as_str().to_owned(),
            policy: t.model.policy_name.as_str().to_ascii_lowercase(),
        }
    }
}

/// Targets that would write the same folder or create the same IAM names.
fn clashes(targets: &[Keys]) -> Vec<String> {
    type Key = fn(&Keys) -> Option<String>;
    let checks: [(&str, Key); 3] = [
        ("output folder", |t| {
            t.name.as_ref().map(|n| n.to_ascii_lowercase())
        }),
        ("role name", |t| Some(t.role.clone())),
        ("policy name", |t| Some(t.policy.clone())),
    ];
    let mut problems = Vec::new();
    for (what, key) in checks {
        let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in targets {
            if let Some(k) = key(t) {
                seen.entry(k)
                    .or_default()
                    .push(t.name.clone().unwrap_or_default());
            }
        }
        for (value, names) in seen.into_iter().filter(|(_, n)| n.len() > 1) {
            problems.push(format!(
                "targets {} share the {what} {value:?} (compared case-insensitively, as IAM does); each target needs its own",
                quoted(&names)
            ));
        }
    }
    problems
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(" and ")
}
