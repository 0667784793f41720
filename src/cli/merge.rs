//! Batch targets that name the same IAM role: merged into one role with
//! several bindings when they agree on everything but their workloads,
//! refused (naming both targets and the field) when they do not.

use crate::input::names::{DEFAULT_NAMESPACE, DEFAULT_SERVICE_ACCOUNT};
use crate::input::params::{RawBinding, RawParams};

/// The fields that say which workload a target binds; targets that share a
/// role may differ in these only.
pub const WORKLOAD_FIELDS: [&str; 5] = [
    "cluster",
    "namespace",
    "service_account",
    "oidc_issuer",
    "bindings",
];

/// A target's name and raw parameters.
pub type Named = (String, RawParams);

/// Merges `group` (targets naming one role, in file order) into its first
/// target, whose bindings gain every other target's workloads; or the
/// sentences naming each field where two targets disagree.
pub fn merge(role: &str, group: Vec<Named>) -> Result<Named, Vec<String>> {
    let mut members = group.into_iter();
    let Some((name, mut first)) = members.next() else {
        return Err(vec![format!(
            "no target names role {role:?} (a bug in podiam)"
        )]);
    };
    let rest: Vec<Named> = members.collect();
    let problems: Vec<String> = rest
        .iter()
        .flat_map(|(other, raw)| differences(role, (&name, &first), (other, raw)))
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut bindings = first.bindings.take().unwrap_or_default();
    for (_, raw) in &rest {
        bindings.extend(workloads(raw));
    }
    first.bindings = Some(bindings);
    Ok((name, first))
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

/// The fields outside [`WORKLOAD_FIELDS`] where two targets differ.
fn differences(role: &str, a: (&str, &RawParams), b: (&str, &RawParams)) -> Vec<String> {
    let (fa, fb) = (RawParams::fields(a.1), RawParams::fields(b.1));
    let mut keys: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !WORKLOAD_FIELDS.contains(&k.as_str()))
        .filter(|k| fa.get(*k) != fb.get(*k))
        .map(|k| {
            let shown = |v: Option<&serde_json::Value>| v.map_or("unset".to_owned(), |v| v.to_string());
            format!(
                "targets {:?} and {:?} name the same role {role:?} but differ in {k}: {} and {}; targets that share a role become one role with several bindings, so they must agree on everything but cluster, namespace, service_account, oidc_issuer and bindings",
                a.0,
                b.0,
                shown(fa.get(k)),
                shown(fb.get(k))
            )
        })
        .collect()
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

    #[test]
    fn agreeing_targets_merge_into_the_first() {
        let group = vec![
            ("a".into(), raw("ns-a", "x")),
            ("b".into(), raw("ns-b", "y")),
        ];
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
            merge("R", vec![("a".into(), raw("ns-a", "x")), ("b".into(), b)]).expect("merges");
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
            merge("R", vec![("a".into(), raw("ns-a", "x")), ("b".into(), b)]).expect_err("refused");
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
