//! Targets: the one set of parameters of a plain run, or the named targets
//! of a batch params file. Every target is validated and rendered before
//! anything is written, and every error names its target.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::artifacts::artifact::Artifact;
use crate::artifacts::artifact::Rendered;
use crate::artifacts::bundle;
use crate::cli::parallel;
use crate::error::Error;
use crate::input::held::{Held, Holder};
use crate::input::model::Model;
use crate::input::params::RawParams;
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

/// One of a batch's parameters held by `holder`, as what differs from the
/// first it held.
pub fn hold_in(holder: &mut Holder, raw: &RawParams) -> Result<Held, Error> {
    holder.hold(raw).map_err(|e| internal("holding", &e))
}

/// Parameters held by [`hold`] or [`hold_in`], read back.
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
    // Two lists side by side: the names that must not clash, and what the
    // batch keeps; the keys are dropped once the clashes are checked.
    let mut keys: Vec<Keys> = Vec::with_capacity(raws.len());
    let mut valid: Vec<Valid> = Vec::with_capacity(raws.len());
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
                    keys.push(Keys::of(&target));
                    valid.push(Valid {
                        name: target.name,
                        params: held,
                    });
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
    drop(raws);
    if let Some(only) = only {
        merged_into(&keys, &valid, only)?;
        let role = valid.iter().position(|v| v.name.as_deref() == Some(only));
        if let Some(key) = role.map(|i| &keys[i]) {
            for (_, why) in rejected
                .into_iter()
                .filter(|(r, _)| r.eq_ignore_ascii_case(&key.role))
            {
                problems.extend(why);
            }
        }
    }
    let (mut keys, mut valid) = if batch {
        merged(keys, valid, only, &mut problems, &mut each)?
    } else {
        (keys, valid)
    };
    if let Some(only) = only {
        (keys, valid) = keys
            .into_iter()
            .zip(valid)
            .filter(|(_, v)| v.name.as_deref() == Some(only))
            .unzip();
    }
    problems.extend(clashes(&keys, &valid));
    if problems.is_empty() {
        Ok(valid)
    } else {
        Err(Error::Targets { problems, code: 2 })
    }
}

/// Refuses `--target` naming a target merged into an earlier one.
fn merged_into(keys: &[Keys], valid: &[Valid], only: &str) -> Result<(), Error> {
    let Some(i) = valid.iter().position(|v| v.name.as_deref() == Some(only)) else {
        return Ok(());
    };
    let head = keys
        .iter()
        .position(|k| k.role.eq_ignore_ascii_case(&keys[i].role))
        .map(|j| &valid[j]);
    match head.and_then(|v| v.name.as_deref()) {
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
    keys: Vec<Keys>,
    valid: Vec<Valid>,
    only: Option<&str>,
    problems: &mut Vec<String>,
    each: &mut impl FnMut(&Target),
) -> Result<(Vec<Keys>, Vec<Valid>), Error> {
    let groups: Vec<(String, Vec<usize>)> = shared(keys.iter().map(|k| Some(&*k.role)))
        .into_iter()
        .map(|(_, members)| (keys[members[0]].role.to_string(), members))
        .collect();
    if groups.is_empty() {
        return Ok((keys, valid));
    }
    let mut slots: Vec<Option<Checked>> = keys
        .into_iter()
        .zip(valid)
        .map(|(k, v)| Some((k, v.name, v.params)))
        .collect();
    for (role, members) in groups {
        let holds_only = |slots: &[Option<Checked>]| {
            members
                .iter()
                .any(|&i| slots[i].as_ref().and_then(|(_, n, _)| n.as_deref()) == only)
        };
        if only.is_some() && !holds_only(&slots) {
            continue;
        }
        let group: Vec<crate::cli::merge::Member> = members
            .iter()
            .filter_map(|&i| slots[i].take())
            .map(|(_, name, held)| {
                unhold(&held)
                    .map(|raw| crate::cli::merge::Member::new(name.unwrap_or_default(), raw))
            })
            .collect::<Result<_, Error>>()?;
        let names: Vec<String> = group.iter().map(|m| m.name.clone()).collect();
        let Ok((name, raw)) =
            crate::cli::merge::merge(&role, group).map_err(|p| problems.extend(p))
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
    Ok(slots
        .into_iter()
        .flatten()
        .map(|(k, name, params)| (k, Valid { name, params }))
        .unzip())
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

/// What two targets must not share besides their folder: the names IAM
/// gives their role and policy, as the model holds them. IAM's names are
/// unique case-insensitively, so they are compared ASCII-lowercased.
struct Keys {
    role: Box<str>,
    policy: Box<str>,
}

impl Keys {
    fn of(t: &Target) -> Keys {
        Keys {
            role: t.model.role_name.as_str().into(),
            policy: t.model.policy_name.as_str().into(),
        }
    }
}

/// `a` and `b` ordered as their ASCII-lowercased forms are.
fn caseless(a: &str, b: &str) -> std::cmp::Ordering {
    let a = a.bytes().map(|c| c.to_ascii_lowercase());
    a.cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// The indices of `keys`, in groups of equal keys (compared
/// case-insensitively), the groups in the order of their lowercased key and
/// each group in index order; only the groups of two or more.
fn shared<'a>(keys: impl Iterator<Item = Option<&'a str>>) -> Vec<(&'a str, Vec<usize>)> {
    let mut order: Vec<(&str, usize)> = keys
        .enumerate()
        .filter_map(|(i, k)| k.map(|k| (k, i)))
        .collect();
    order.sort_by(|a, b| caseless(a.0, b.0).then(a.1.cmp(&b.1)));
    order
        .chunk_by(|a, b| a.0.eq_ignore_ascii_case(b.0))
        .filter(|run| run.len() > 1)
        .map(|run| (run[0].0, run.iter().map(|&(_, i)| i).collect()))
        .collect()
}

/// Targets that would write the same folder or create the same IAM names.
/// `keys` and `valid` are the same targets, in the same order.
fn clashes(keys: &[Keys], valid: &[Valid]) -> Vec<String> {
    let folders = shared(valid.iter().map(|v| v.name.as_deref()));
    let roles = shared(keys.iter().map(|k| Some(&*k.role)));
    let policies = shared(keys.iter().map(|k| Some(&*k.policy)));
    let checks = [
        ("output folder", folders),
        ("role name", roles),
        ("policy name", policies),
    ];
    let mut problems = Vec::new();
    for (what, groups) in checks {
        for (value, members) in groups {
            let names: Vec<String> = members
                .iter()
                .map(|&i| valid[i].name.clone().unwrap_or_default())
                .collect();
            problems.push(format!(
                "targets {} share the {what} {:?} (compared case-insensitively, as IAM does); each target needs its own",
                quoted(&names),
                value.to_ascii_lowercase()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_groups_equal_keys_caselessly_in_lowercased_order() {
        let keys = [
            Some("Role-B"),
            Some("role-a"),
            None,
            Some("ROLE-B"),
            Some("Role-A"),
            Some("role-c"),
            Some("role-b"),
        ];
        let groups = shared(keys.into_iter());
        assert_eq!(
            groups,
            vec![("role-a", vec![1, 4]), ("Role-B", vec![0, 3, 6])]
        );
        // The order is that of the lowercased keys, not of the keys as given
        // ('R' sorts before 'r'), as the BTreeMap of lowercased keys had it.
        let mixed = shared([Some("b"), Some("A"), Some("B"), Some("a")].into_iter());
        assert_eq!(mixed, vec![("A", vec![1, 3]), ("b", vec![0, 2])]);
        assert_eq!(caseless("Zeta", "alpha"), std::cmp::Ordering::Greater);
        assert_eq!(caseless("ab", "ABC"), std::cmp::Ordering::Less);
    }
}
