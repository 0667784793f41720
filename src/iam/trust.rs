//! The role's trust policy: who may assume the role, for each method and
//! binding, built as a JSON value from the model (never as text).

use serde_json::{Value, json};

use crate::iam::policy::{
    BindingInputs, IRSA_AUDIENCE, Inputs, POD_IDENTITY_PRINCIPAL, POLICY_VERSION, irsa_subject,
};
use crate::input::model::Model;

/// The role's trust policy for the chosen method, or what is missing to write it.
pub fn trust_policy(model: &Model) -> Result<Value, Vec<String>> {
    trust_policy_with(model, &Inputs::of(model))
}

/// [`trust_policy`] built from `inputs`: the IRSA statements, then the Pod
/// Identity ones (`--method both` has both).
pub fn trust_policy_with(model: &Model, inputs: &Inputs) -> Result<Value, Vec<String>> {
    let mut statements = Vec::new();
    if model.method.irsa() {
        if inputs.bindings.iter().any(|b| b.oidc.is_none()) {
            return Err(irsa_missing(model));
        }
        statements.extend(irsa_statements(&inputs.bindings));
    }
    if model.method.pod_identity() {
        statements.extend(pod_identity_statements(model, inputs));
    }
    Ok(json!({ "Version": POLICY_VERSION, "Statement": statements }))
}

/// Items grouped by a key, groups in the order their keys first appear.
fn grouped<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<Vec<&T>> {
    let mut groups: Vec<(K, Vec<&T>)> = Vec::new();
    for item in items {
        let k = key(item);
        match groups.iter_mut().find(|(g, _)| *g == k) {
            Some((_, members)) => members.push(item),
            None => groups.push((k, vec![item])),
        }
    }
    groups.into_iter().map(|(_, members)| members).collect()
}

/// One value, or a list of several.
fn one_or_list(values: Vec<String>) -> Value {
    match values.as_slice() {
        [one] => json!(one),
        _ => json!(values),
    }
}

/// One statement per OIDC provider, with that provider's own `sub` list and
/// `aud`. A pattern binding puts the provider's `sub` under `StringLike`:
/// under `StringEquals` a `*` is a literal and would match nothing.
fn irsa_statements(bindings: &[BindingInputs]) -> Vec<Value> {
    grouped(bindings, |b| b.oidc.clone())
        .into_iter()
        .filter_map(|group| {
            let (provider_arn, provider) = group.first()?.oidc.clone()?;
            let mut subjects: Vec<String> = Vec::new();
            for b in &group {
                let subject = irsa_subject(&b.namespace, &b.service_account);
                if !subjects.contains(&subject) {
                    subjects.push(subject);
                }
            }
            let (sub, aud) = (format!("{provider}:sub"), format!("{provider}:aud"));
            let condition = if group.iter().any(|b| b.pattern) {
                json!({"StringEquals": {aud: IRSA_AUDIENCE}, "StringLike": {sub: one_or_list(subjects)}})
            } else {
                json!({"StringEquals": {sub: one_or_list(subjects), aud: IRSA_AUDIENCE}})
            };
            Some(json!({
                "Effect": "Allow",
                "Principal": { "Federated": provider_arn },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }))
        })
        .collect()
}

/// The Pod Identity trust: the docs page's statement, pinned by default to
/// the cluster, namespace and service account through the session tags EKS
/// attaches, so that no other association can use the role. One statement
/// per (cluster, namespace), listing that namespace's service accounts, so
/// that two bindings never admit each other's pairs.
fn pod_identity_statements(model: &Model, inputs: &Inputs) -> Vec<Value> {
    let base = json!({
        "Effect": "Allow",
        "Principal": { "Service": POD_IDENTITY_PRINCIPAL },
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    });
    if model.trust.minimal {
        return vec![base];
    }
    grouped(&inputs.bindings, |b| {
        (b.cluster.clone(), b.namespace.clone())
    })
    .into_iter()
    .filter_map(|group| {
        let first = group.first()?;
        let accounts: Vec<String> = group.iter().map(|b| b.service_account.clone()).collect();
        let mut statement = base.clone();
        statement["Condition"] =
            pod_identity_condition(model, inputs, first, one_or_list(accounts));
        Some(statement)
    })
    .collect()
}

/// The session-tag conditions of one Pod Identity statement.
fn pod_identity_condition(
    model: &Model,
    inputs: &Inputs,
    binding: &BindingInputs,
    service_accounts: Value,
) -> Value {
    let cluster = cluster_arn(inputs, &binding.cluster);
    let mut like = serde_json::Map::new();
    let mut equals = serde_json::Map::new();
    if inputs.account.is_some() {
        equals.insert(CLUSTER_TAG.to_owned(), json!(cluster));
    } else {
        like.insert(CLUSTER_TAG.to_owned(), json!(cluster));
    }
    equals.insert(
        "aws:RequestTag/kubernetes-namespace".to_owned(),
        json!(binding.namespace),
    );
    equals.insert(
        "aws:RequestTag/kubernetes-service-account".to_owned(),
        service_accounts,
    );
    let mut equals = Value::Object(equals);
    if let (true, Some(account)) = (model.trust.source_account, &inputs.account) {
        equals["aws:SourceAccount"] = json!(account);
    }
    let mut condition = json!({ "StringEquals": equals });
    if !like.is_empty() {
        condition["StringLike"] = Value::Object(like);
    }
    if let Some(arn) =
        association_arn_pattern(inputs, &binding.cluster).filter(|_| model.trust.source_arn)
    {
        condition["ArnLike"] = json!({ "aws:SourceArn": arn });
    }
    condition
}

/// The session tag that names the pod's cluster by ARN: unlike
/// `eks-cluster-name`, it tells apart same-named clusters in other regions
/// and accounts.
pub const CLUSTER_TAG: &str = "aws:RequestTag/eks-cluster-arn";

/// `arn:<p>:eks:<region>:<account>:cluster/<name>`, with `*` for an unknown account.
pub fn cluster_arn(inputs: &Inputs, cluster: &str) -> String {
    format!(
        "arn:{}:eks:{}:{}:cluster/{cluster}",
        inputs.partition,
        inputs.region,
        inputs.account.as_deref().unwrap_or("*"),
    )
}

/// `arn:<p>:eks:<region>:<account>:podidentityassociation/<cluster>/*`.
pub fn association_arn_pattern(inputs: &Inputs, cluster: &str) -> Option<String> {
    let account = inputs.account.as_ref()?;
    Some(format!(
        "arn:{}:eks:{}:{account}:podidentityassociation/{cluster}/*",
        inputs.partition, inputs.region
    ))
}

/// The IRSA trust statement for an OIDC provider (`provider_arn`, and
/// `provider` as `host/id/ID`) and a token subject.
pub fn irsa_trust_for(provider_arn: &str, provider: &str, subject: &str) -> Value {
    json!({
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": { "Federated": provider_arn },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        format!("{provider}:sub"): subject,
                        format!("{provider}:aud"): IRSA_AUDIENCE,
                    }
                },
            }
        ],
    })
}

/// What the IRSA trust policy lacks, as sentences naming the flag to give.
pub fn irsa_missing(model: &Model) -> Vec<String> {
    let mut missing = Vec::new();
    if model.account_id.is_none() {
        missing.push("account-id: IRSA names the OIDC provider by ARN, which holds the account id; give --account-id or set AWS_ACCOUNT_ID".to_owned());
    }
    if model.oidc.is_none() {
        missing.push(format!(
            "oidc-issuer: IRSA trusts the cluster's OIDC provider; give --oidc-issuer (find it with: aws eks describe-cluster --name {} --region {} --query cluster.identity.oidc.issuer --output text)",
            model.cluster.as_str(),
            model.region.as_str()
        ));
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::model::test_model;
    use crate::input::params::{RawBinding, RawParams};

    const ISSUER: &str =
        "https://oidc.eks.us-west-2.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const OTHER: &str =
        "https://oidc.eks.us-west-2.amazonaws.com/id/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

    fn bind(ns: &str, sa: &str) -> RawBinding {
        RawBinding {
            namespace: Some(ns.into()),
            service_account: Some(sa.into()),
            ..RawBinding::default()
        }
    }

    fn raw(method: &str, bindings: Vec<RawBinding>) -> RawParams {
        RawParams {
            account_id: Some("123456789012".into()),
            method: Some(method.into()),
            oidc_issuer: (method != "pod-identity").then(|| ISSUER.into()),
            namespace: Some("team-a".into()),
            service_account: Some("runner".into()),
            bindings: Some(bindings),
            ..RawParams::default()
        }
    }

    fn conditions(document: &Value) -> Vec<Value> {
        document["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["Condition"].clone())
            .collect()
    }

    #[test]
    fn pod_identity_pins_each_namespace_with_its_own_service_accounts() {
        let model = test_model(
            "a-bucket",
            raw(
                "pod-identity",
                vec![bind("team-b", "reader"), bind("team-a", "writer")],
            ),
        );
        let trust = trust_policy(&model).expect("trust");
        let pins: Vec<(Value, Value)> = conditions(&trust)
            .iter()
            .map(|c| {
                let eq = &c["StringEquals"];
                (
                    eq["aws:RequestTag/kubernetes-namespace"].clone(),
                    eq["aws:RequestTag/kubernetes-service-account"].clone(),
                )
            })
            .collect();
        assert_eq!(
            pins,
            vec![
                (json!("team-a"), json!(["runner", "writer"])),
                (json!("team-b"), json!("reader")),
            ],
            "one statement per namespace: team-b's reader is never paired with team-a"
        );
    }

    #[test]
    fn irsa_has_one_statement_per_provider_and_patterns_under_string_like() {
        let mut other = bind("ml", "runner");
        other.cluster = Some("c2".into());
        other.oidc_issuer = Some(OTHER.into());
        let model = test_model(
            "a-bucket",
            raw("irsa", vec![bind("team-*", "reader"), other]),
        );
        let trust = trust_policy(&model).expect("trust");
        let c = conditions(&trust);
        assert_eq!(c.len(), 2);
        let first = "oidc.eks.us-west-2.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert_eq!(
            c[0]["StringLike"][format!("{first}:sub")],
            json!([
                "system:serviceaccount:team-a:runner",
                "system:serviceaccount:team-*:reader"
            ])
        );
        assert_eq!(
            c[0]["StringEquals"][format!("{first}:aud")],
            json!(IRSA_AUDIENCE)
        );
        assert!(c[0]["StringEquals"].get(format!("{first}:sub")).is_none());
        let second = "oidc.eks.us-west-2.amazonaws.com/id/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        assert_eq!(
            c[1]["StringEquals"][format!("{second}:sub")],
            json!("system:serviceaccount:ml:runner")
        );
        assert!(c[1].get("StringLike").is_none());
        assert!(
            trust["Statement"][1]["Principal"]["Federated"]
                .as_str()
                .is_some_and(|p| p.ends_with(second))
        );
    }

    #[test]
    fn both_holds_the_irsa_statement_then_the_pinned_pod_identity_ones() {
        let model = test_model("a-bucket", raw("both", vec![bind("team-b", "reader")]));
        let trust = trust_policy(&model).expect("trust");
        let principals: Vec<String> = trust["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| s["Principal"].to_string())
            .collect();
        assert_eq!(principals.len(), 3, "{principals:?}");
        assert!(principals[0].contains("Federated"));
        assert!(
            principals[1..]
                .iter()
                .all(|p| p.contains(POD_IDENTITY_PRINCIPAL))
        );
        assert!(conditions(&trust)[1..].iter().all(|c| {
            c["StringEquals"]
                .get("aws:RequestTag/kubernetes-service-account")
                .is_some()
        }));
    }

    #[test]
    fn a_wildcard_under_string_equals_is_found() {
        let document = json!({"Statement": [
            {"Condition": {"StringEquals": {"p:sub": ["system:serviceaccount:a:b", "system:serviceaccount:team-*:x"]}}},
            {"Condition": {"StringLike": {"p:sub": "system:serviceaccount:team-*:x"}}},
        ]});
        let found = crate::iam::limits::literal_wildcards(&document);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].value.as_deref(),
            Some("system:serviceaccount:team-*:x")
        );
        let model = test_model("a-bucket", raw("irsa", vec![bind("team-*", "reader")]));
        let real = trust_policy(&model).expect("trust");
        assert!(crate::iam::limits::literal_wildcards(&real).is_empty());
    }
}
