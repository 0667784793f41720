//! Batch targets that name the same IAM role: merged into one role with
//! several bindings when they agree on everything but their workloads,
//! refused (naming both targets and the field) when they do not.

use crate::input::model::Model;
use crate::input::names::{DEFAULT_NAMESPACE, DEFAULT_SERVICE_ACCOUNT};
use crate::input::params::{RawBinding, RawParams};
use crate::render::params_doc::ParamsDoc;

/// The fields that say which workload a target binds; targets that share a
/// role may differ in these only.
pub const WORKLOAD_FIELDS: [&str; 5] = [
    "cluster",
    "namespace",
    "service_account",
    "oidc_issuer",
    "bindings",
];

/// One target of a group naming the same role.
pub struct Member {
    /// The target's name.
    pub name: String,
    /// Its raw parameters.
    pub raw: RawParams,
    /// Its parameters as they take effect (as its `params.yaml` lists
    /// them), so that a default written out equals one left unset.
    effective: serde_json::Map<String, serde_json::Value>,
}

impl Member {
    /// A target and its effective parameters (empty if it does not validate).
    pub fn new(name: String, raw: RawParams) -> Member {
        let effective = Model::from_raw(&raw)
            .ok()
            .and_then(|m| serde_json::to_value(ParamsDoc::new(&m)).ok())
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        Member {
            name,
            raw,
            effective,
        }
    }
}

/// Merges `group` (targets naming one role, in file order) into its first
/// target, whose bindings gain every other target's workloads, each once;
/// or the sentences naming each field where two targets disagree.
pub fn merge(role: &str, group: Vec<Member>) -> Result<(String, RawParams), Vec<String>> {
    let mut members = group.into_iter();
    let Some(first) = members.next() else {
        return Err(vec![format!(
            "no target names role {role:?} (a bug in podiam)"
        )]);
    };
    let rest: Vec<Member> = members.collect();
    let problems: Vec<String> = rest
        .iter()
        .flat_map(|other| differences(role, &first, other))
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    let head = workloads(&first.raw);
    let mut bindings: Vec<RawBinding> = Vec::new();
    let candidates = head
        .iter()
        .skip(1)
        .cloned()
        .chain(rest.iter().flat_map(|m| workloads(&m.raw)));
    for b in candidates {
        let seen = head
            .first()
            .into_iter()
            .chain(&bindings)
            .any(|s| same(s, &b));
        if !seen {
            bindings.push(b);
        }
    }
    let mut raw = first.raw;
    raw.bindings = Some(bindings);
    Ok((first.name, raw))
}

/// Whether two filled-in bindings name the same workload.
fn same(a: &RawBinding, b: &RawBinding) -> bool {
    a.cluster == b.cluster && a.namespace == b.namespace && a.service_account == b.service_account
}

/// Every workload a target binds, each key written out so that nothing is
/// inherited from the target it is merged into.
fn workloads(raw: &RawParams) -> Vec<RawBinding> {
    let own = RawBinding {
        cluster: raw.cluster.clone(),
        namespace: Some(
            raw.namespace
                .clone()
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
        ),
        service_account: Some(
            raw.service_account
                .clone()
                .unwrap_or_else(|| DEFAULT_SERVICE_ACCOUNT.to_owned()),
        ),
        oidc_issuer: raw.oidc_issuer.clone(),
    };
    let more = raw.bindings.iter().flatten().map(|b| {
        let oidc_issuer = match (&b.oidc_issuer, &b.cluster) {
            (Some(issuer), _) => Some(issuer.clone()),
            (None, Some(cluster)) if Some(cluster) != raw.cluster.as_ref() => None,
            (None, _) => raw.oidc_issuer.clone(),
        };
        RawBinding {
            cluster: b.cluster.clone().or_else(|| own.cluster.clone()),
            namespace: b.namespace.clone().or_else(|| own.namespace.clone()),
            service_account: b
                .service_account
                .clone()
                .or_else(|| own.service_account.clone()),
            oidc_issuer,
        }
    });
    std::iter::once(own.clone()).chain(more).collect()
}

/// The fields outside [`WORKLOAD_FIELDS`] where two targets' effective
/// parameters differ.
fn differences(role: &str, a: &Member, b: &Member) -> Vec<String> {
    let (fa, fb) = (&a.effective, &b.effective);
    let mut keys: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !WORKLOAD_FIELDS.contains(&k.as_str()))
        .filter(|k| !is_unset(fa.get(*k)) || !is_unset(fb.get(*k)))
        .filter(|k| fa.get(*k) != fb.get(*k))
        .map(|k| {
            let shown = |v: Option<&serde_json::Value>| match v {
                Some(v) if !is_unset(Some(v)) => v.to_string(),
                _ => "unset".to_owned(),
            };
            format!(
                "targets {:?} and {:?} name the same role {role:?} but differ in {k}: {} and {}; targets that share a role become one role with several bindings, so they must agree on everything but cluster, namespace, service_account, oidc_issuer and bindings",
                a.name,
                b.name,
                shown(fa.get(k)),
                shown(fb.get(k))
            )
        })
        .collect()
}

/// Whether a value is absent: null, false or empty, as `params.yaml` leaves it out.
fn is_unset(value: Option<&serde_json::Value>) -> bool {
    match value {
        None | Some(serde_json::Value::Null | serde_json::Value::Bool(false)) => true,
        Some(serde_json::Value::Array(items)) => items.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(ns: &str, sa: &str) -> RawParams {
        RawParams {
            cluster: Some("c".into()),
            region: Some("us-west-2".into()),
            bucket: Some(vec!["b-bucket".into()]),
            namespace: Some(ns.into()),
            service_account: Some(sa.into()),
            ..RawParams::default()
        }
    }

    fn member(name: &str, raw: RawParams) -> Member {
        Member::new(name.to_owned(), raw)
    }

    #[test]
    fn a_default_written_out_agrees_with_one_left_unset_and_shared_bindings_appear_once() {
        let mut a = raw("ns-a", "x");
        a.bindings = Some(vec![RawBinding {
            namespace: Some("monitoring".into()),
            service_account: Some("exporter".into()),
            ..RawBinding::default()
        }]);
        let mut b = raw("ns-b", "y");
        b.bindings = a.bindings.clone();
        b.method = Some("pod-identity".into());
        b.iam_path = Some("/".into());
        let (_, merged) = merge("R", vec![member("a", a), member("b", b)]).expect("merges");
        let pairs: Vec<(Option<String>, Option<String>)> = merged
            .bindings
            .expect("bindings")
            .into_iter()
            .map(|b| (b.namespace, b.service_account))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (Some("monitoring".into()), Some("exporter".into())),
                (Some("ns-b".into()), Some("y".into())),
            ]
        );
    }

    #[test]
    fn agreeing_targets_merge_into_the_first() {
        let group = vec![member("a", raw("ns-a", "x")), member("b", raw("ns-b", "y"))];
        let (name, merged) = merge("R", group).expect("merges");
        assert_eq!(name, "a");
        let bindings = merged.bindings.expect("bindings");
        assert_eq!(bindings.len(), 1);
        assert_eq!(bindings[0].namespace.as_deref(), Some("ns-b"));
        assert_eq!(bindings[0].service_account.as_deref(), Some("y"));
        assert_eq!(bindings[0].cluster.as_deref(), Some("c"));
    }

    #[test]
    fn a_default_namespace_is_written_out_not_inherited() {
        let mut b = raw("x", "y");
        b.namespace = None;
        b.service_account = None;
        let (_, merged) =
            merge("R", vec![member("a", raw("ns-a", "x")), member("b", b)]).expect("merges");
        let bound = &merged.bindings.expect("bindings")[0];
        assert_eq!(bound.namespace.as_deref(), Some(DEFAULT_NAMESPACE));
        assert_eq!(
            bound.service_account.as_deref(),
            Some(DEFAULT_SERVICE_ACCOUNT)
        );
    }

    #[test]
    fn a_disagreement_names_both_targets_and_the_field() {
        let mut b = raw("ns-b", "y");
        b.access = Some("read-only".into());
        let problems =
            merge("R", vec![member("a", raw("ns-a", "x")), member("b", b)]).expect_err("refused");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains("targets \"a\" and \"b\""),
            "{}",
            problems[0]
        );
        assert!(
            problems[0].contains("differ in access: unset and \"read-only\""),
            "{}",
            problems[0]
        );
    }
}
