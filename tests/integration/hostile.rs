//! Hostile input: every corpus value in every field is either refused
//! (exit 2, the field named, nothing written) or accepted with every
//! artifact parsing back and the value appearing literally where it belongs.
//! Property tests do the same for arbitrary strings.

use std::collections::BTreeMap;

use podiam::artifacts::artifact::Rendered;
use podiam::artifacts::bundle;
use podiam::error::Error;
use podiam::input::model::Model;
use podiam::input::params::{RawBinding, RawParams};
use proptest::prelude::*;
use serde_json::Value;

use crate::corpus;
use crate::fixtures::{self, OIDC_ID};

type Setter = fn(&mut RawParams, String);

/// Every string field: its name in messages, its manifest key, and a setter.
fn fields() -> Vec<(&'static str, &'static str, Setter)> {
    vec![
        ("cluster", "cluster", |r, v| r.cluster = Some(v)),
        ("region", "region", |r, v| r.region = Some(v)),
        ("bucket", "bucket", |r, v| r.bucket = Some(vec![v])),
        ("namespace", "namespace", |r, v| r.namespace = Some(v)),
        ("service-account", "service_account", |r, v| {
            r.service_account = Some(v)
        }),
        ("kube-context", "kube_context", |r, v| {
            r.kube_context = Some(v)
        }),
        ("account-id", "account_id", |r, v| r.account_id = Some(v)),
        ("bucket-account", "bucket_account", |r, v| {
            r.bucket_account = Some(v)
        }),
        ("target-account", "target_account", |r, v| {
            r.target_account = Some(v)
        }),
        ("method", "method", |r, v| r.method = Some(v)),
        ("oidc-issuer", "oidc_issuer", |r, v| r.oidc_issuer = Some(v)),
        ("policy-name", "policy_name", |r, v| r.policy_name = Some(v)),
        ("role-name", "role_name", |r, v| r.role_name = Some(v)),
        ("access", "access", |r, v| r.access = Some(v)),
        ("mount-mode", "mount_mode", |r, v| r.mount_mode = Some(v)),
        ("prefix", "prefixes", |r, v| r.prefix = Some(vec![v])),
        ("kms-key", "kms_key", |r, v| r.kms_key = Some(vec![v])),
        ("permissions-boundary", "permissions_boundary", |r, v| {
            r.permissions_boundary = Some(v)
        }),
        ("iam-path", "iam_path", |r, v| r.iam_path = Some(v)),
        ("max-session-duration", "max_session_duration", |r, v| {
            r.max_session_duration = Some(v)
        }),
        ("tag", "tags", |r, v| r.tag = Some(vec![v])),
        ("bindings[0].namespace", "bindings[1].namespace", |r, v| {
            r.bindings = Some(vec![RawBinding {
                namespace: Some(v),
                service_account: Some("reader".into()),
                ..RawBinding::default()
            }])
        }),
        (
            "bindings[0].service_account",
            "bindings[1].service_account",
            |r, v| {
                r.bindings = Some(vec![RawBinding {
                    namespace: Some("team-b".into()),
                    service_account: Some(v),
                    ..RawBinding::default()
                }])
            },
        ),
    ]
}

/// The bases every value is tried on: Pod Identity and IRSA, each able to
/// render every artifact of its shape, and the two cross-account shapes
/// (the bucket owner's side; a Pod Identity target role).
fn bases() -> Vec<RawParams> {
    let pod = RawParams {
        account_id: Some("123456789012".into()),
        ..fixtures::docs()
    };
    let irsa = RawParams {
        method: Some("irsa".into()),
        oidc_issuer: Some(format!("oidc.eks.us-west-2.amazonaws.com/id/{OIDC_ID}")),
        ..pod.clone()
    };
    let bucket_owner = RawParams {
        bucket_account: Some("210987654321".into()),
        ..pod.clone()
    };
    let target = RawParams {
        target_account: Some("210987654321".into()),
        ..pod.clone()
    };
    vec![pod, irsa, bucket_owner, target]
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Refused,
    Accepted,
}

/// Tries `value` in `field`: refusal must name the field; acceptance must
/// render every artifact (each parsed back and schema-checked by podiam)
/// and carry the value literally into the manifest and its artifacts.
fn try_value(
    base: &RawParams,
    field: &str,
    key: &str,
    set: Setter,
    value: &str,
) -> Result<Outcome, String> {
    let mut raw = base.clone();
    set(&mut raw, value.to_owned());
    let rendered = match Model::from_raw(&raw) {
        Err(Error::Invalid(violations)) => {
            let names = |v: &podiam::error::Violation| {
                v.field == field
                    || field
                        .strip_prefix(&*v.field)
                        .is_some_and(|rest| rest.starts_with('.'))
            };
            return if violations.iter().any(names) {
                Ok(Outcome::Refused)
            } else {
                Err(format!(
                    "{field}={value:?} refused, but the message names {violations:?}"
                ))
            };
        }
        Err(e) => return Err(format!("{field}={value:?}: unexpected error {e}")),
        Ok(model) if own_account(&raw, key, value) => {
            // The cluster's own account as the other account: a note, and
            // the bundle stays single-account.
            return if model.notices.iter().any(|n| n.contains("own account")) {
                Ok(Outcome::Accepted)
            } else {
                Err(format!(
                    "{field}={value:?}: the cluster's own account, without a note: {:?} {:?}",
                    model.notices, raw.target_account
                ))
            };
        }
        Ok(model) => bundle::render(&model, &bundle::for_model(&model))
            .map_err(|e| format!("{field}={value:?}: accepted but {e}"))?,
    };
    literal_in_manifest(&rendered, key, value).map_err(|e| format!("{field}={value:?}: {e}"))?;
    round_trips(&rendered).map_err(|e| format!("{field}={value:?}: {e}"))?;
    Ok(Outcome::Accepted)
}

/// Whether `value` names the cluster's own account as the other account.
fn own_account(raw: &RawParams, key: &str, value: &str) -> bool {
    let own = raw.account_id.as_deref() == Some(value);
    match key {
        "target_account" => own,
        // With a target role the cluster's account can own the buckets.
        "bucket_account" => own && raw.target_account.is_none(),
        _ => false,
    }
}

/// The bundle's `params.yaml`, read back as a params file is (YAML, the
/// params schema, then the model), renders the very same bundle.
pub fn round_trips(rendered: &[Rendered]) -> Result<(), String> {
    let params = rendered
        .iter()
        .find(|r| r.artifact.name == "params")
        .ok_or("no params.yaml")?;
    let value: Value = serde_yaml::from_str(&params.text).map_err(|e| e.to_string())?;
    let problems =
        podiam::formats::schemas::check(podiam::formats::schemas::Schema::Params, &value);
    if !problems.is_empty() {
        return Err(format!("params.yaml fails the params schema: {problems:?}"));
    }
    let raw: RawParams = serde_json::from_value(value).map_err(|e| e.to_string())?;
    let model = Model::from_raw(&raw).map_err(|e| format!("params.yaml refused: {e}"))?;
    let again = bundle::render(&model, &bundle::for_model(&model)).map_err(|e| e.to_string())?;
    for (a, b) in rendered.iter().zip(&again) {
        if a.text != b.text {
            return Err(format!(
                "{} differs when rendered from params.yaml:\n{}",
                a.artifact.path, params.text
            ));
        }
    }
    Ok(())
}

fn literal_in_manifest(rendered: &[Rendered], key: &str, value: &str) -> Result<(), String> {
    let manifest = rendered
        .iter()
        .find(|r| r.artifact.name == "manifest")
        .ok_or("no manifest")?;
    let parsed: Value = serde_json::from_str(&manifest.text).map_err(|e| e.to_string())?;
    let got = match key.strip_prefix("bindings[1].") {
        Some(sub) => &parsed["parameters"]["bindings"][1][sub],
        None => &parsed["parameters"][key],
    };
    let shown = match got {
        Value::Array(items) => items.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let literal = match (&shown, key) {
        (Value::Object(tag), "tags") => format!(
            "{}={}",
            tag["key"].as_str().unwrap_or_default(),
            tag["value"].as_str().unwrap_or_default()
        ),
        (Value::Number(n), _) => n.to_string(),
        (Value::String(s), _) => s.clone(),
        (other, _) => return Err(format!("manifest parameter {key} is {other}")),
    };
    let normalised = match key {
        "prefixes" => value.strip_suffix('/').unwrap_or(value).to_owned(),
        "oidc_issuer" => format!(
            "https://{}",
            value
                .strip_prefix("https://")
                .unwrap_or(value)
                .trim_end_matches('/')
        ),
        _ => value.to_owned(),
    };
    if literal != normalised {
        return Err(format!("manifest holds {literal:?}, not the value"));
    }
    if key == "namespace" || key == "bucket" || key == "cluster" || key.starts_with("bindings") {
        let anywhere = rendered
            .iter()
            .filter(|r| r.artifact.name != "manifest")
            .any(|r| r.text.contains(value));
        if !anywhere {
            return Err("the value appears in no artifact".into());
        }
    }
    Ok(())
}

#[test]
fn every_corpus_value_in_every_field_is_refused_or_rendered_intact() {
    let values = corpus::values();
    assert!(values.len() >= 60, "{}", values.len());
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    for base in bases() {
        for (field, key, set) in fields() {
            for value in &values {
                match try_value(&base, field, key, set, value) {
                    Ok(Outcome::Refused) => counts.entry(field).or_default().0 += 1,
                    Ok(Outcome::Accepted) => counts.entry(field).or_default().1 += 1,
                    Err(e) => failures.push(e),
                }
            }
        }
    }
    let (refused, accepted) = counts
        .values()
        .fold((0, 0), |(r, a), (cr, ca)| (r + cr, a + ca));
    println!(
        "hostile corpus: {} values x {} fields x {} bases: {refused} refused, {accepted} accepted",
        values.len(),
        counts.len(),
        bases().len()
    );
    for (field, (r, a)) in &counts {
        println!("  {field}: {r} refused, {a} accepted");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(refused > 0 && accepted > 0);
}

#[test]
fn refused_corpus_values_exit_2_name_the_field_and_write_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut runs = 0;
    for (flag, field) in [
        ("--bucket", "bucket"),
        ("--namespace", "namespace"),
        ("--role-name", "role-name"),
    ] {
        for value in corpus::values().iter().filter(|v| !v.contains('\0')) {
            let out = dir.path().join(format!("out-{runs}"));
            let arg = format!("{flag}={value}");
            let mut args = vec![
                "generate",
                "--cluster",
                "my-eks-cluster",
                "--region",
                "us-west-2",
                "--out",
            ];
            args.push(out.to_str().expect("utf8"));
            if flag != "--bucket" {
                args.extend(["--bucket", "my-bucket"]);
            }
            args.push(&arg);
            let o = crate::cli::podiam(&args);
            runs += 1;
            match o.status.code() {
                Some(0) => assert!(out.join("manifest.json").exists(), "{arg}"),
                Some(2) => {
                    let err = crate::cli::stderr(&o);
                    assert!(
                        err.contains(&format!("  {field} "))
                            || err.contains(&format!("  {field}:")),
                        "{arg}: {err}"
                    );
                    assert!(!out.exists(), "{arg}: something was written");
                }
                other => panic!("{arg}: exit {other:?}: {}", crate::cli::stderr(&o)),
            }
        }
    }
    println!("binary runs with corpus values: {runs}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_strings_in_every_field_are_refused_or_rendered_intact(value in any::<String>(), pick in 0usize..19, irsa in any::<bool>()) {
        let fields = fields();
        let (field, key, set) = fields[pick % fields.len()];
        let base = &bases()[usize::from(irsa)];
        let outcome = try_value(base, field, key, set, &value);
        prop_assert!(outcome.is_ok(), "{}", outcome.err().unwrap_or_default());
    }

    #[test]
    fn plausible_names_in_every_field_are_refused_or_rendered_intact(value in "[a-zA-Z0-9./:=@_-]{0,70}", pick in 0usize..19) {
        let fields = fields();
        let (field, key, set) = fields[pick % fields.len()];
        let outcome = try_value(&bases()[0], field, key, set, &value);
        prop_assert!(outcome.is_ok(), "{}", outcome.err().unwrap_or_default());
    }
}
