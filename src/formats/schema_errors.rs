//! JSON Schema errors in plain words. Each problem names the JSON pointer of
//! the value at fault and the broken rule: for `oneOf`/`anyOf` the errors of
//! the branch that fits the value best, the unexpected key (with the nearest
//! known one), the allowed values, what a pattern means when the schema says
//! so in a `description`, and the rule the error falls under: the nearest
//! enclosing schema with a `title` (such as `podiam rule no-upload` or
//! `SkyPilot 0.14.1 task format`), with that schema's `description`.

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use crate::error::{Problem, shown};

/// The problems `error` stands for, explained with the `schema` it came from.
pub fn explain(schema: &Value, error: &ValidationError<'_>) -> Vec<Problem> {
    let mut out = Vec::new();
    collect(schema, error, &mut out);
    out
}

fn collect(schema: &Value, error: &ValidationError<'_>, out: &mut Vec<Problem>) {
    let context = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            context
        }
        _ => {
            out.extend(problems(schema, error));
            return;
        }
    };
    if let Some(message) = merged_expectations(schema, error, context) {
        out.push(problem(
            schema,
            error,
            error.instance_path().as_str(),
            message,
        ));
        return;
    }
    if let Some(branch) = best_branch(error.instance_path().as_str(), context) {
        for inner in branch {
            collect(schema, inner, out);
        }
    }
}

/// When every branch fails on the value itself with one error that says what
/// it should be (`must be a string`, `must be one of ...`), one message that
/// lists them all.
fn merged_expectations(
    schema: &Value,
    error: &ValidationError<'_>,
    context: &[Vec<ValidationError<'static>>],
) -> Option<String> {
    let here = error.instance_path().as_str();
    let mut wanted: Vec<String> = Vec::new();
    for branch in context {
        let [only] = branch.as_slice() else {
            return None;
        };
        if only.instance_path().as_str() != here {
            return None;
        }
        for phrase in expectations(schema, only)? {
            if !wanted.contains(&phrase) {
                wanted.push(phrase);
            }
        }
    }
    Some(format!(
        "must be {}, found {}",
        or_list(&wanted),
        show(error.instance())
    ))
}

/// The branch that fits best: one that fits the value's type and its
/// discriminator (no `const` fails on a key of it, such as `kind`), then the
/// one whose errors reach deepest into it, then the one with the fewest errors.
fn best_branch<'e>(
    here: &str,
    context: &'e [Vec<ValidationError<'static>>],
) -> Option<&'e Vec<ValidationError<'static>>> {
    context
        .iter()
        .filter(|b| !b.is_empty())
        .min_by_key(|branch| {
            let misfit = branch.iter().any(|e| {
                let path = e.instance_path().as_str();
                let child = path
                    .strip_prefix(here)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .is_some_and(|key| !key.contains('/'));
                match e.kind() {
                    ValidationErrorKind::Type { .. } | ValidationErrorKind::FalseSchema => {
                        path == here
                    }
                    ValidationErrorKind::Constant { .. } => child,
                    _ => false,
                }
            });
            let depth = branch
                .iter()
                .map(|e| e.instance_path().as_str().matches('/').count())
                .max()
                .unwrap_or(0);
            (misfit, std::cmp::Reverse(depth), branch.len())
        })
}

/// The problems of one error that is not an `anyOf`/`oneOf`.
fn problems(schema: &Value, error: &ValidationError<'_>) -> Vec<Problem> {
    let here = error.instance_path().as_str();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected }
        | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let known = known_keys(schema, error);
            // A subschema that fails leaves its keys unevaluated: those keys
            // are known, and their own errors are reported already.
            let unevaluated = matches!(
                error.kind(),
                ValidationErrorKind::UnevaluatedProperties { .. }
            );
            unexpected
                .iter()
                .filter(|key| !(unevaluated && known.contains(*key)))
                .map(|key| {
                    let hint = match nearest(key, &known) {
                        Some(near) => format!(" (did you mean {}?)", shown(near)),
                        None if !known.is_empty() && known.len() <= 12 => {
                            format!(" (allowed keys here: {})", known.join(", "))
                        }
                        None => String::new(),
                    };
                    let path = format!("{here}/{}", escape(key));
                    problem(
                        schema,
                        error,
                        &path,
                        format!("unexpected key {}{hint}", shown(key)),
                    )
                })
                .collect()
        }
        ValidationErrorKind::PropertyNames { error: inner } => {
            let key = inner.instance().as_str().unwrap_or_default().to_owned();
            let path = format!("{here}/{}", escape(&key));
            let message = format!("key {}: {}", shown(&key), message(schema, inner, false));
            vec![problem(schema, inner, &path, message)]
        }
        _ => vec![problem(schema, error, here, message(schema, error, true))],
    }
}

/// A problem at `path`, its message followed by the rule it falls under.
fn problem(schema: &Value, error: &ValidationError<'_>, path: &str, message: String) -> Problem {
    let rule = chain(schema, error)
        .iter()
        .skip(1)
        .rev()
        .find_map(|node| {
            let title = node.get("title")?.as_str()?;
            Some(match node.get("description").and_then(Value::as_str) {
                Some(why) => format!(" ({title}: {why})"),
                None => format!(" ({title})"),
            })
        })
        .unwrap_or_default();
    Problem {
        path: path.to_owned(),
        message: format!("{message}{rule}"),
    }
}

/// What the value should be, as phrases after "must be" (several for a
/// `type` list), for the errors that say so.
fn expectations(schema: &Value, error: &ValidationError<'_>) -> Option<Vec<String>> {
    let one = |phrase: String| Some(vec![phrase]);
    match error.kind() {
        ValidationErrorKind::Type { .. } if own_description(schema, error).is_some() => {
            one(own_description(schema, error)?.to_owned())
        }
        ValidationErrorKind::Type { kind } => Some(match kind {
            TypeKind::Single(t) => vec![type_name(&t.to_string())],
            TypeKind::Multiple(set) => set.iter().map(|t| type_name(&t.to_string())).collect(),
        }),
        ValidationErrorKind::Constant { expected_value } => one(value_text(expected_value)),
        ValidationErrorKind::Enum { options } => one(one_of(options)),
        ValidationErrorKind::Pattern { pattern } => one(match own_description(schema, error) {
            Some(meaning) => meaning.to_owned(),
            None => format!("text matching the pattern {pattern}"),
        }),
        _ => None,
    }
}

/// One error's message, without its path or rule; `with_found` adds the
/// value found where the message names what it must be.
fn message(schema: &Value, error: &ValidationError<'_>, with_found: bool) -> String {
    let found = show(error.instance());
    let found_suffix = if with_found && !error.instance().is_object() {
        format!(", found {found}")
    } else {
        String::new()
    };
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match error.kind() {
        ValidationErrorKind::Type { .. }
        | ValidationErrorKind::Constant { .. }
        | ValidationErrorKind::Enum { .. }
        | ValidationErrorKind::Pattern { .. } => match expectations(schema, error) {
            Some(wanted) => format!("must be {}{found_suffix}", or_list(&wanted)),
            None => error.to_string(),
        },
        ValidationErrorKind::Required { property } => {
            format!("missing required key {}", value_text(property))
        }
        ValidationErrorKind::MinLength { limit } => {
            format!(
                "must be at least {} long{found_suffix}",
                count(as_usize(*limit), "character")
            )
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!(
                "must be at most {} long{found_suffix}",
                count(as_usize(*limit), "character")
            )
        }
        ValidationErrorKind::MinItems { limit } => {
            format!(
                "must have at least {}, found {}",
                count(as_usize(*limit), "item"),
                size(error.instance())
            )
        }
        ValidationErrorKind::MaxItems { limit } => {
            format!(
                "must have at most {}, found {}",
                count(as_usize(*limit), "item"),
                size(error.instance())
            )
        }
        ValidationErrorKind::MinProperties { limit } => {
            format!(
                "must have at least {}, found {}",
                count(as_usize(*limit), "key"),
                size(error.instance())
            )
        }
        ValidationErrorKind::MaxProperties { limit } => {
            format!(
                "must have at most {}, found {}",
                count(as_usize(*limit), "key"),
                size(error.instance())
            )
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("must be at least {limit}{found_suffix}")
        }
        ValidationErrorKind::Maximum { limit } => format!("must be at most {limit}{found_suffix}"),
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("must be greater than {limit}{found_suffix}")
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("must be less than {limit}{found_suffix}")
        }
        ValidationErrorKind::MultipleOf { multiple_of } => {
            format!("must be a multiple of {multiple_of}{found_suffix}")
        }
        ValidationErrorKind::UniqueItems => "must not list the same item twice".to_owned(),
        ValidationErrorKind::FalseSchema => "is not allowed here".to_owned(),
        ValidationErrorKind::Not { schema: negated } => {
            not_message(schema, error, negated, &found_suffix)
        }
        ValidationErrorKind::Format { format } => format!("must be a {format}{found_suffix}"),
        ValidationErrorKind::Contains => "has no item of the required form".to_owned(),
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "matches more than one of the forms allowed here, and must match exactly one".to_owned()
        }
        _ => error.to_string(),
    }
}

/// A failed `not`: the negated schema's own description, else the
/// description of the schema that holds the `not`, else its shape.
fn not_message(
    schema: &Value,
    error: &ValidationError<'_>,
    negated: &Value,
    found: &str,
) -> String {
    if let Some(what) = negated.get("description").and_then(Value::as_str) {
        return format!("must not have {what}");
    }
    if let Some(meaning) = own_description(schema, error) {
        let verb = if error.instance().is_object() {
            "have"
        } else {
            "be"
        };
        return format!("must {verb} {meaning}{found}");
    }
    if let Some(keys) = negated.get("required").and_then(Value::as_array) {
        let names: Vec<String> = keys.iter().map(value_text).collect();
        return format!("must not have {} together", names.join(" and "));
    }
    if let Some(options) = negated.get("enum") {
        return format!("must not be {}", one_of(options));
    }
    if let Some(t) = negated.get("type").and_then(Value::as_str) {
        return format!("must not be {}", type_name(t));
    }
    if let Some(p) = negated.get("pattern").and_then(Value::as_str) {
        return format!("must not match the pattern {p}");
    }
    "is not allowed here".to_owned()
}

/// The schemas from the root down to the failing keyword along the error's
/// evaluation path, following `$ref`s; along the keyword location when that
/// path does not resolve.
fn chain<'s>(schema: &'s Value, error: &ValidationError<'_>) -> Vec<&'s Value> {
    walk(schema, error.evaluation_path().as_str(), true)
        .or_else(|| walk(schema, error.schema_path().as_str(), false))
        .unwrap_or_else(|| vec![schema])
}

fn walk<'s>(root: &'s Value, pointer: &str, follow_refs: bool) -> Option<Vec<&'s Value>> {
    let mut nodes = vec![root];
    let mut here = root;
    for token in pointer.split('/').skip(1) {
        let token = token.replace("~1", "/").replace("~0", "~");
        let mut next = match here {
            Value::Object(map) => map.get(&token)?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
        if follow_refs && token == "$ref" {
            next = resolve(root, next.as_str()?)?;
        }
        nodes.push(next);
        here = next;
    }
    Some(nodes)
}

/// A `$ref` within the schema (`#/$defs/...`, or `#/definitions/...` in a draft-07 one).
fn resolve<'s>(root: &'s Value, reference: &str) -> Option<&'s Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

/// The description of the schema that holds the failing keyword.
fn own_description<'s>(schema: &'s Value, error: &ValidationError<'_>) -> Option<&'s str> {
    let nodes = chain(schema, error);
    let holder = nodes.len().checked_sub(2).and_then(|i| nodes.get(i))?;
    holder.get("description")?.as_str()
}

/// The keys the schema that refused a key does know: its `properties`, and
/// those of the schemas it applies through `allOf` and `$ref`.
fn known_keys(schema: &Value, error: &ValidationError<'_>) -> Vec<String> {
    let nodes = chain(schema, error);
    let Some(holder) = nodes.len().checked_sub(2).and_then(|i| nodes.get(i)) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    let mut pending = vec![*holder];
    while let Some(node) = pending.pop() {
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            keys.extend(
                properties
                    .keys()
                    .filter(|k| !keys.contains(*k))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
        }
        if let Some(target) = node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| resolve(schema, r))
        {
            pending.push(target);
        }
        if let Some(parts) = node.get("allOf").and_then(Value::as_array) {
            pending.extend(parts.iter());
        }
    }
    keys
}

/// The known key closest to `key`, when it is close enough to be a typo.
fn nearest<'k>(key: &str, known: &'k [String]) -> Option<&'k str> {
    let lower = key.to_lowercase();
    known
        .iter()
        .map(|k| (distance(&lower, &k.to_lowercase()), k))
        .filter(|(d, k)| *d <= k.chars().count().max(key.chars().count()) / 3)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

/// Levenshtein distance, counting a swap of two neighbours as one edit.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows: Vec<Vec<usize>> = (0..=a.len())
        .map(|i| (0..=b.len()).map(|j| if i == 0 { j } else { i }).collect())
        .collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn as_usize(limit: u64) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

fn type_name(t: &str) -> String {
    match t {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "number" => "a number",
        "integer" => "an integer",
        "boolean" => "true or false",
        "null" => "null",
        other => other,
    }
    .to_owned()
}

/// A value as it appears in a message: strings quoted and cut short, lists
/// and mappings by their kind.
fn show(value: &Value) -> String {
    match value {
        Value::Object(_) => "a mapping".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::String(s) => shown(s),
        other => other.to_string(),
    }
}

/// A value from the schema, in full (strings quoted).
fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn one_of(options: &Value) -> String {
    match options.as_array().map(Vec::as_slice) {
        Some([only]) => value_text(only),
        Some(all) => format!(
            "one of {}",
            all.iter().map(value_text).collect::<Vec<_>>().join(", ")
        ),
        None => value_text(options),
    }
}

fn size(value: &Value) -> usize {
    match value {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => 0,
    }
}

/// `a, b or c`; `a; or b` when an item is a long phrase of its own.
fn or_list(items: &[String]) -> String {
    let long = items.iter().any(|i| i.contains('(') || i.len() > 60);
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] if long => format!("{}; or {last}", init.join("; ")),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
