//! Where each target's raw parameters come from: flags and environment
//! variables ([`Given`]) over or under a params file, by the precedence the
//! README gives; a conflict is refused, never silently resolved.

use std::collections::BTreeMap;

use crate::cli::targets::{Raw, hold, hold_in, listed, unhold};
use crate::error::Error;
use crate::input::held::Holder;
use crate::input::params::{ParamsFile, RawParams};

/// The parameters from flags and environment variables, and which of them
/// came from the environment (field → variable).
#[derive(Debug, Default)]
pub struct Given {
    /// Their values.
    pub params: RawParams,
    /// The fields set by an environment variable, and that variable.
    pub from_env: BTreeMap<String, String>,
}

impl Given {
    /// A note naming the environment variables used, with their values.
    pub fn note(&self) -> Option<String> {
        if self.from_env.is_empty() {
            return None;
        }
        let values = RawParams::fields(&self.params);
        let vars: BTreeMap<&str, String> = self
            .from_env
            .iter()
            .map(|(field, var)| {
                (
                    var.as_str(),
                    values.get(field).map(shown).unwrap_or_default(),
                )
            })
            .collect();
        let listed: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Some(format!("from the environment: {}", listed.join(", ")))
    }

    /// The flags' values and the environment's, apart.
    pub fn split(&self) -> (RawParams, RawParams) {
        let (mut flags, mut env) = (RawParams::fields(&self.params), serde_json::Map::new());
        for field in self.from_env.keys() {
            if let Some(value) = flags.remove(field) {
                env.insert(field.clone(), value);
            }
        }
        let raw = |m| serde_json::from_value(serde_json::Value::Object(m)).unwrap_or_default();
        (raw(flags), raw(env))
    }

    /// Where a field's value came from: its variable, or its flag.
    fn source(&self, field: &str) -> String {
        self.from_env
            .get(field)
            .cloned()
            .unwrap_or_else(|| format!("--{}", field.replace('_', "-")))
    }
}

/// Combines flags and environment (`given`) with the params file, giving
/// each target's raw parameters. `only` must name a target of a batch;
/// every target is returned, since [`crate::cli::targets::validate`] keeps
/// `only` after merging the targets that share its role.
///
/// A plain run: flag > environment. A single params file: flag > file >
/// environment, and a variable that differs from the file is refused. A batch:
/// flags and environment only fill what a target and `defaults:` leave
/// unset; a different value there is refused, never silently replaced.
pub fn raw_targets(
    given: Given,
    file: Option<ParamsFile>,
    only: Option<&str>,
) -> Result<Vec<Raw>, Error> {
    let targets = match file {
        None if only.is_some() => return Err(needs_batch(only)),
        Some(ParamsFile::Single(_)) if only.is_some() => return Err(needs_batch(only)),
        None => vec![(None, hold(&given.params)?)],
        Some(ParamsFile::Single(params)) => vec![(None, hold(&single(&given, params)?)?)],
        Some(ParamsFile::Batch { defaults, targets }) => batch(&given, &defaults, targets)?,
    };
    let Some(only) = only else { return Ok(targets) };
    let names: Vec<String> = targets.iter().filter_map(|(n, _)| n.clone()).collect();
    if !names.iter().any(|n| n == only) {
        let rule = format!(
            "the params file has no such target; it has: {}",
            listed(&names)
        );
        return Err(Error::Invalid(vec![crate::error::Violation::new(
            "target",
            Some(only),
            rule,
        )]));
    }
    Ok(targets)
}

/// One params file: flags over the file, the file over environment
/// variables, which only fill what it leaves unset. A variable that differs
/// from a value the file sets is refused, so an exported `AWS_REGION`
/// cannot silently move a bundle regenerated from its `params.yaml`.
fn single(given: &Given, file: RawParams) -> Result<RawParams, Error> {
    let (flags, env) = given.split();
    let in_file = RawParams::fields(&file);
    let problems: Vec<crate::error::Violation> = RawParams::fields(&env)
        .iter()
        .filter(|(_, v)| !v.is_null())
        .filter_map(|(field, value)| {
            let set = in_file.get(field).filter(|v| !v.is_null() && *v != value)?;
            let var = given.source(field);
            let rule = format!(
                "{} differs from {field} {} in the params file: environment variables only fill what a params file leaves unset; unset {var}, or give --{} to override the file",
                shown(value),
                shown(set),
                field.replace('_', "-")
            );
            Some(crate::error::Violation::new("environment", Some(&var), rule))
        })
        .collect();
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    Ok(flags.or(file).or(env))
}

/// A batch's targets over `defaults:`, then the flags and environment
/// wherever both leave a field unset; every conflict is named.
fn batch(
    given: &Given,
    defaults: &RawParams,
    targets: Vec<crate::input::params::Target>,
) -> Result<Vec<Raw>, Error> {
    let mut problems = Vec::new();
    let mut holder = Holder::default();
    // Collected in place: a target and a raw target take the same room.
    let raws = targets
        .into_iter()
        .map(|t| {
            let own = unhold(&t.params)?;
            problems.extend(conflicts(given, defaults, &t.name, &own));
            let file = own.or(defaults.clone());
            Ok((
                Some(t.name),
                hold_in(&mut holder, &file.or(given.params.clone()))?,
            ))
        })
        .collect::<Result<Vec<Raw>, Error>>()?;
    if problems.is_empty() {
        Ok(raws)
    } else {
        Err(Error::Targets { problems, code: 2 })
    }
}

/// The fields where a flag or variable differs from what the target (or
/// `defaults:`) sets.
fn conflicts(given: &Given, defaults: &RawParams, name: &str, target: &RawParams) -> Vec<String> {
    let (given_fields, own, inherited) = (
        RawParams::fields(&given.params),
        RawParams::fields(target),
        RawParams::fields(defaults),
    );
    let mut problems = Vec::new();
    for (field, value) in given_fields.iter().filter(|(_, v)| !v.is_null()) {
        let (set, place) = match own.get(field).filter(|v| !v.is_null()) {
            Some(v) => (v, "the target"),
            None => match inherited.get(field).filter(|v| !v.is_null()) {
                Some(v) => (v, "defaults:"),
                None => continue,
            },
        };
        if set != value {
            let source = given.source(field);
            let fix = if given.from_env.contains_key(field) {
                "unset"
            } else {
                "drop"
            };
            let (set, value) = (shown(set), shown(value));
            problems.push(format!(
                "target {name:?}: {field} {set} (set in {place}) conflicts with {source} {value}; in a batch, flags and environment variables only fill what the params file leaves unset: {fix} {source}, or change the params file"
            ));
        }
    }
    problems
}

/// A value as the user wrote it: a one-element list as its element.
fn shown(value: &serde_json::Value) -> String {
    match value.as_array().map(Vec::as_slice) {
        Some([one]) => one.to_string(),
        _ => value.to_string(),
    }
}

fn needs_batch(only: Option<&str>) -> Error {
    let rule = "--target selects a target of a batch params file (one with `targets:`), and none was given";
    Error::Invalid(vec![crate::error::Violation::new("target", only, rule)])
}
