//! The other accounts' documents: the bucket policy and key-policy
//! statements the bucket owner adds, and for Pod Identity role chaining the
//! target role's trust and the source role's permission to assume it.
//!
//! Every statement is built as a JSON value from the model, like
//! [`crate::iam::policy`], and names exactly one principal: the role that
//! calls S3 (see [`policy::s3_role_arn`]).

use serde_json::{Value, json};

use crate::formats::digest::sha256_hex;
use crate::iam::policy::{self, Inputs, POLICY_VERSION};
use crate::input::model::Model;

/// The prefix of every statement id podiam puts into another account's
/// bucket or key policy, so the bucket owner's script can tell its own.
pub const SID_PREFIX: &str = "Podiam";

/// The bucket owner's statements for one bucket, and their ids.
#[derive(Debug, Clone)]
pub struct BucketGrant {
    /// The bucket.
    pub bucket: String,
    /// Its statements, each with its own `Sid`.
    pub statements: Vec<Value>,
}

impl BucketGrant {
    /// The statement ids, in order.
    pub fn sids(&self) -> Vec<String> {
        self.statements
            .iter()
            .filter_map(|s| s.get("Sid")?.as_str().map(str::to_owned))
            .collect()
    }
}

/// The end of the ids of the statements podiam puts into `bucket`'s policy:
/// every statement of this role on this bucket, whatever the access
/// profile or prefixes, ends with it, so a merge or a teardown finds the
/// earlier versions too.
pub fn bucket_sid_suffix(model: &Model, bucket: &str) -> String {
    sid_suffix(model, bucket)
}

/// The end of the id of the statement podiam puts into the policy of a key
/// in `region`.
pub fn key_sid_suffix(model: &Model, region: &str) -> String {
    sid_suffix(model, &format!("kms {region}"))
}

/// A short digest that makes a statement id unique to the role and what it
/// grants: two bundles for two roles on one bucket keep their own statements.
fn sid_suffix(model: &Model, of: &str) -> String {
    let role = policy::s3_role_arn(model).unwrap_or_default();
    format!(
        "For{}",
        &sha256_hex(format!("{role}\n{of}").as_bytes())[..8]
    )
}

/// The grants of the bucket owner, bucket by bucket: the permission
/// policy's S3 statements for that bucket alone, with the role as principal.
/// Only when the buckets are in another account than the role that calls S3.
pub fn bucket_grants(model: &Model) -> Vec<BucketGrant> {
    let (Some(_), Some(principal)) = (
        model.accounts.bucket_account.as_ref(),
        policy::s3_role_arn(model),
    ) else {
        return Vec::new();
    };
    let all = Inputs::of(model);
    model
        .buckets
        .iter()
        .map(|bucket| {
            let one = Inputs {
                buckets: vec![bucket.as_str().to_owned()],
                ..all.clone()
            };
            let suffix = bucket_sid_suffix(model, bucket.as_str());
            let statements = policy::s3_statements(model, &one)
                .into_iter()
                .map(|mut s| {
                    let sid = s.get("Sid").and_then(Value::as_str).unwrap_or_default();
                    let sid = format!("{SID_PREFIX}{sid}{suffix}");
                    if let Some(map) = s.as_object_mut() {
                        map.insert("Sid".into(), json!(sid));
                        map.insert("Principal".into(), json!({"AWS": principal}));
                    }
                    reorder(s)
                })
                .collect();
            BucketGrant {
                bucket: bucket.as_str().to_owned(),
                statements,
            }
        })
        .collect()
}

/// A statement with its keys in the order IAM's examples use.
fn reorder(statement: Value) -> Value {
    const ORDER: [&str; 6] = [
        "Sid",
        "Effect",
        "Principal",
        "Action",
        "Resource",
        "Condition",
    ];
    let Value::Object(map) = statement else {
        return statement;
    };
    let mut out = serde_json::Map::new();
    for key in ORDER {
        if let Some(v) = map.get(key) {
            out.insert(key.to_owned(), v.clone());
        }
    }
    Value::Object(out)
}

/// `iam/bucket-policy.json`: every bucket's statements in one document, a
/// bucket's statements together. A bucket policy may name only its own
/// bucket, so the bucket owner's script adds to each bucket the statements
/// whose ids [`bucket_grants`] lists for it.
pub fn bucket_policy(model: &Model) -> Value {
    let statements: Vec<Value> = bucket_grants(model)
        .into_iter()
        .flat_map(|g| g.statements)
        .collect();
    json!({"Version": POLICY_VERSION, "Statement": statements})
}

/// The KMS keys whose key policy must grant the role: keys of another
/// account than the role that calls S3 (in its own account the default key
/// policy lets IAM policies grant use).
pub fn foreign_keys(model: &Model) -> Vec<&crate::input::access::KmsKey> {
    let Some(own) = model
        .accounts
        .target_account
        .as_ref()
        .or(model.account_id.as_ref())
    else {
        return Vec::new();
    };
    model
        .kms_keys
        .iter()
        .filter(|k| k.account() != own.as_str())
        .collect()
}

/// The account the bucket owner's side runs in: the buckets' account, or
/// (keys only) the account of the keys of another account. `None` for a
/// bundle without that side.
pub fn owner_account(model: &Model) -> Option<String> {
    match &model.accounts.bucket_account {
        Some(account) => Some(account.as_str().to_owned()),
        None => foreign_keys(model).first().map(|k| k.account().to_owned()),
    }
}

/// The key-policy statement for keys in `region`: the role may use the key
/// only through S3 in the key's region, for the access profile's actions.
/// In a key policy `Resource: "*"` means the key the policy is attached to.
pub fn key_statement(model: &Model, region: &str) -> Option<Value> {
    let principal = policy::s3_role_arn(model)?;
    let inputs = Inputs::of(model);
    let suffix = key_sid_suffix(model, region);
    Some(json!({
        "Sid": format!("{SID_PREFIX}UseKeyThroughS3{suffix}"),
        "Effect": "Allow",
        "Principal": {"AWS": principal},
        "Action": policy::kms_actions(model),
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": policy::s3_service_host(region, &inputs.dns_suffix)}},
    }))
}

/// `iam/kms-key-policy.json`: one statement per region of the foreign keys
/// (each key gets its own region's statement).
pub fn kms_key_policy(model: &Model) -> Value {
    let mut regions: Vec<&str> = Vec::new();
    for key in foreign_keys(model) {
        if !regions.contains(&key.region()) {
            regions.push(key.region());
        }
    }
    let statements: Vec<Value> = regions
        .iter()
        .filter_map(|r| key_statement(model, r))
        .collect();
    json!({"Version": POLICY_VERSION, "Statement": statements})
}

/// The source role's permission policy when role chaining: assume the
/// target role and pass session tags to it, nothing else (AWS, "Access AWS
/// Resources using EKS Pod Identity Target IAM Roles", step "Update the
/// permission policy for EKS Pod Identity role").
pub fn source_role_policy(model: &Model) -> Option<Value> {
    let target = policy::target_role_arn(model)?;
    Some(json!({
        "Version": POLICY_VERSION,
        "Statement": [{
            "Sid": "AssumeTargetRole",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Resource": [target],
        }],
    }))
}

/// The `externalId` EKS gives the association of `binding` when it names a
/// target role: `<region>/<cluster account>/<cluster>/<namespace>/<service
/// account>` (AWS EKS user guide, "Access AWS Resources using EKS Pod
/// Identity Target IAM Roles"; the EKS launch post shows the same value
/// returned by `create-pod-identity-association`). apply.sh compares it with
/// the association's own before it writes the target role's trust, and the
/// Terraform uses the association's attribute.
pub fn external_id(model: &Model, binding: &crate::input::bindings::Binding) -> Option<String> {
    let account = model.account_id.as_ref()?;
    Some(format!(
        "{}/{}/{}/{}/{}",
        model.region.as_str(),
        account.as_str(),
        binding.cluster.as_str(),
        binding.namespace.as_str(),
        binding.service_account.as_str()
    ))
}

/// `arn:<partition>:iam::<account>:root`: the cluster's account as a principal.
fn account_root(model: &Model) -> Option<String> {
    Some(format!(
        "arn:{}:iam::{}:root",
        model.region.partition().id(),
        model.account_id.as_ref()?.as_str()
    ))
}

/// The target role's trust policy, as AWS documents it for target roles
/// (user guide, "Access AWS Resources using EKS Pod Identity Target IAM
/// Roles"): the cluster's account as principal, narrowed by `ArnEquals
/// aws:PrincipalArn` to the source role, `sts:AssumeRole` only with the
/// associations' `sts:ExternalId`, and `sts:TagSession` (the source session's
/// tags are transitive) for the source role alone. `external_ids` are the
/// values to match: the rendered ones, or Terraform references.
pub fn target_trust_with(model: &Model, external_ids: Vec<String>) -> Option<Value> {
    let root = account_root(model)?;
    let source = policy::role_arn(model)?;
    let ids = match external_ids.as_slice() {
        [one] => json!(one),
        _ => json!(external_ids),
    };
    Some(json!({
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "AssumeFromSourceRoleForAssociations",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"sts:ExternalId": ids},
                    "ArnEquals": {"aws:PrincipalArn": source},
                },
            },
            {
                "Sid": "TagSessionFromSourceRole",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "sts:TagSession",
                "Condition": {"ArnEquals": {"aws:PrincipalArn": source}},
            },
        ],
    }))
}

/// [`target_trust_with`] the external ids of every binding, when role chaining.
pub fn target_trust(model: &Model) -> Option<Value> {
    model.accounts.target_account.as_ref()?;
    let ids = model
        .bindings
        .iter()
        .filter_map(|b| external_id(model, b))
        .collect();
    target_trust_with(model, ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::model::test_model;
    use crate::input::params::RawParams;

    fn cross(extra: RawParams) -> Model {
        test_model(
            "data-lake",
            RawParams {
                account_id: Some("111111111111".into()),
                bucket_account: Some("222222222222".into()),
                ..extra
            },
        )
    }

    #[test]
    fn the_bucket_policy_names_the_role_and_only_the_bucket() {
        let model = cross(RawParams::default());
        let doc = bucket_policy(&model);
        let text = doc.to_string();
        assert!(
            text.contains(r#""AWS":"arn:aws:iam::111111111111:role/SkyPilotS3Role-data-lake""#),
            "{text}"
        );
        for s in doc["Statement"].as_array().expect("list") {
            assert!(s["Sid"].as_str().is_some_and(|s| s.starts_with(SID_PREFIX)));
        }
        assert!(text.contains("s3:PutObject") && !text.contains("PutBucketPolicy"));
        let read_only = cross(RawParams {
            access: Some("read-only".into()),
            ..RawParams::default()
        });
        let text = bucket_policy(&read_only).to_string();
        assert!(
            text.contains("s3:GetObject")
                && !text.contains("s3:Put")
                && !text.contains("s3:Delete")
        );
    }

    #[test]
    fn the_target_trust_admits_the_source_role_with_the_association_external_id() {
        let model = test_model(
            "data-lake",
            RawParams {
                account_id: Some("111111111111".into()),
                target_account: Some("222222222222".into()),
                ..RawParams::default()
            },
        );
        let trust = target_trust(&model).expect("target role").to_string();
        assert!(
            trust.contains(
                r#""sts:ExternalId":"us-west-2/111111111111/c/default/skypilot-service-account""#
            ),
            "{trust}"
        );
        assert!(
            trust.contains(
                r#""aws:PrincipalArn":"arn:aws:iam::111111111111:role/SkyPilotS3Role-data-lake""#
            ),
            "{trust}"
        );
        let source = source_role_policy(&model).expect("source").to_string();
        assert!(
            source.contains("arn:aws:iam::222222222222:role/SkyPilotS3Role-data-lake"),
            "{source}"
        );
        assert!(target_trust(&test_model("data-lake", RawParams::default())).is_none());
    }

    #[test]
    fn single_account_bundles_have_no_bucket_grants() {
        let model = test_model("data-lake", RawParams::default());
        assert!(bucket_grants(&model).is_empty() && foreign_keys(&model).is_empty());
    }

    #[test]
    fn statement_ids_differ_per_bucket_and_per_role() {
        let two = Model::from_raw(&RawParams {
            cluster: Some("c".into()),
            region: Some("us-west-2".into()),
            bucket: Some(vec!["data-lake".into(), "other-lake".into()]),
            account_id: Some("111111111111".into()),
            bucket_account: Some("222222222222".into()),
            ..RawParams::default()
        })
        .expect("valid");
        let grants = bucket_grants(&two);
        assert_eq!(grants.len(), 2);
        assert!(
            grants[0]
                .sids()
                .iter()
                .all(|s| !grants[1].sids().contains(s))
        );
        let renamed = cross(RawParams {
            role_name: Some("other-role".into()),
            ..RawParams::default()
        });
        assert_ne!(bucket_grants(&renamed)[0].sids(), grants[0].sids());
    }
}
