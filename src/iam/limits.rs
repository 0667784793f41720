//! IAM's limits on the documents podiam writes: size, characters, and no
//! wildcard where IAM would read it literally.

use serde_json::Value;

use crate::iam::policy::{POLICY_LIMIT, TRUST_LIMIT, permission_policy};
use crate::iam::trust::trust_policy;
use crate::input::model::Model;

/// S3's limit on a bucket policy, in bytes (the whole policy).
pub const BUCKET_POLICY_LIMIT: usize = 20 * 1024;

/// Checks IAM's size and character limits on the documents (the other
/// accounts' ones too), and that no `*` or `?` sits under `StringEquals` in
/// the trust policy.
pub fn check_limits(model: &Model) -> Result<(), crate::error::Error> {
    let mut violations = Vec::new();
    let trust_source = if model.trust_quota == TRUST_LIMIT {
        format!(
            "IAM's default quota for a role trust policy is {TRUST_LIMIT}; once your account's quota is raised (Service Quotas, IAM, 'Role trust policy length', at most {}), give --trust-policy-quota N",
            crate::input::rules::TRUST_QUOTA_MAX
        )
    } else {
        format!(
            "the quota given by --trust-policy-quota is {}",
            model.trust_quota
        )
    };
    let trust = trust_policy(model).ok();
    let documents = [
        (
            "permission policy",
            Some(permission_policy(model)),
            POLICY_LIMIT,
            format!("IAM's limit for a managed policy is {POLICY_LIMIT}"),
        ),
        (
            "trust policy",
            trust.clone(),
            model.trust_quota,
            trust_source,
        ),
        (
            "target role's trust policy",
            crate::iam::cross::target_trust(model),
            TRUST_LIMIT,
            format!(
                "IAM's default quota for a role trust policy is {TRUST_LIMIT}, and --trust-policy-quota speaks for the cluster's account only; give fewer bindings"
            ),
        ),
        (
            "bucket policy statements",
            crate::iam::cross::bucket_grants(model)
                .into_iter()
                .map(|g| serde_json::json!(g.statements))
                .max_by_key(|v| v.to_string().len()),
            BUCKET_POLICY_LIMIT,
            format!(
                "S3 allows a bucket policy of {BUCKET_POLICY_LIMIT} bytes, the bucket owner's own statements included"
            ),
        ),
    ];
    for (what, document, limit, source) in documents {
        let Some(document) = document else { continue };
        let text = document.to_string();
        let size = text.chars().filter(|c| !c.is_whitespace()).count();
        let terraform = match what {
            "trust policy" => size + terraform_growth(model, &document),
            _ => size,
        };
        if terraform > limit {
            let measured = if terraform == size {
                format!("{size} characters without white space")
            } else {
                format!(
                    "{size} characters without white space, {terraform} as the Terraform writes it (one-element lists)"
                )
            };
            let rule = format!("the {what} would be {measured}; {source}");
            violations.push(crate::error::Violation::new("policy-size", None, rule));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !matches!(*c, '\t' | '\n' | '\r' | ' '..='\u{ff}'))
        {
            let rule = format!(
                "the {what} would hold {bad:?}; IAM allows only tab, line feed, carriage return and U+0020 to U+00FF"
            );
            violations.push(crate::error::Violation::new(
                "policy-characters",
                None,
                rule,
            ));
        }
    }
    if let Some(trust) = &trust {
        violations.extend(literal_wildcards(trust));
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(crate::error::Error::Invalid(violations))
    }
}

/// How much longer the Terraform writes the trust policy of several
/// bindings: each statement's `sub` and service-account values are a list
/// there even when they hold one value (`"x"` becomes `["x"]`).
fn terraform_growth(model: &Model, trust: &Value) -> usize {
    if model.bindings.len() < 2 {
        return 0;
    }
    let listed =
        |key: &str| key.ends_with(":sub") || key == "aws:RequestTag/kubernetes-service-account";
    let singles = trust["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Condition"].as_object())
        .flat_map(|operators| operators.values())
        .filter_map(Value::as_object)
        .flat_map(|keys| keys.iter())
        .filter(|(key, value)| listed(key) && value.is_string())
        .count();
    2 * singles
}

/// A `*` or `?` under `StringEquals` is compared literally and matches no
/// real name: the document is refused rather than written.
pub fn literal_wildcards(document: &Value) -> Vec<crate::error::Violation> {
    let mut found = Vec::new();
    for (i, statement) in document["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(equals) = statement["Condition"]["StringEquals"].as_object() else {
            continue;
        };
        for (key, value) in equals {
            let values = value
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![value.clone()]);
            for v in values
                .iter()
                .filter_map(Value::as_str)
                .filter(|v| v.contains(['*', '?']))
            {
                found.push(crate::error::Violation::new(
                    "trust-policy",
                    Some(v),
                    format!("Statement {i} would compare {key} with StringEquals, which reads '*' and '?' literally, so the pattern would match nothing; wildcards belong under StringLike"),
                ));
            }
        }
    }
    found
}
