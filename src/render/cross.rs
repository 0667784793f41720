//! The other accounts, as templates see them: the bucket owner's grants
//! (bucket policy, key-policy statements) and the Pod Identity target role.
//! Every document comes from [`crate::iam::cross`].

use serde::Serialize;
use serde_json::Value;

use crate::iam::{cross, policy};
use crate::input::model::Model;

/// The cross-account part of the context; `None` fields mean single-account.
#[derive(Debug, Serialize)]
pub struct Cross {
    /// Whether the bundle has the bucket owner's side (bucket or key policy).
    pub bucket_owner: bool,
    /// The buckets' account, when it is not the account of the role that calls S3.
    pub bucket_account: Option<String>,
    /// The account the bucket owner's side runs in: the buckets' account, or
    /// (keys only) the keys' account.
    pub owner_account: Option<String>,
    /// The ARN of the role that calls S3 (the target role when chaining).
    pub s3_role_arn: Option<String>,
    /// `iam/bucket-policy.json`, when the buckets are in another account.
    pub bucket_policy: Option<Value>,
    /// Each bucket and the statement ids the bucket owner adds to its policy.
    pub buckets: Vec<BucketView>,
    /// `iam/kms-key-policy.json`, when a key is in another account.
    pub key_policy: Option<Value>,
    /// Each key of another account, with the statement id its policy gets.
    pub keys: Vec<KeyView>,
    /// The Pod Identity target role, when role chaining.
    pub target: Option<Target>,
}

/// One bucket of another account.
#[derive(Debug, Serialize)]
pub struct BucketView {
    /// Bucket name.
    pub bucket: String,
    /// The ids of the statements its policy gets from `iam/bucket-policy.json`.
    pub sids: Vec<String>,
    /// How every id podiam ever gave this role's statements on this bucket
    /// ends (`Podiam…For<digest>`): a merge or teardown removes them all.
    pub suffix: String,
}

/// One KMS key of another account.
#[derive(Debug, Serialize)]
pub struct KeyView {
    /// Key ARN.
    pub arn: String,
    /// Its account.
    pub account: String,
    /// Its region.
    pub region: String,
    /// The id of the statement its key policy gets from `iam/kms-key-policy.json`.
    pub sid: String,
    /// How every id podiam gave this role's statement on keys of that region ends.
    pub suffix: String,
}

/// The target role of Pod Identity role chaining.
#[derive(Debug, Serialize)]
pub struct Target {
    /// Its account.
    pub account: String,
    /// Its ARN: the role's path and name in that account.
    pub role_arn: String,
    /// The S3 policy's ARN in that account.
    pub policy_arn: String,
    /// `iam/target-trust-policy.json`.
    pub trust_policy: Value,
    /// `iam/source-role-policy.json`: the source role's inline policy.
    pub source_policy: Value,
    /// The inline policy's name on the source role.
    pub source_policy_name: &'static str,
    /// Each binding's association and the `externalId` EKS gives it.
    pub associations: Vec<Association>,
}

/// One association of a target-role bundle.
#[derive(Debug, Serialize)]
pub struct Association {
    /// EKS cluster name.
    pub cluster: String,
    /// Kubernetes namespace.
    pub namespace: String,
    /// Kubernetes service account.
    pub service_account: String,
    /// The `externalId` the target role's trust expects.
    pub external_id: String,
}

/// The name of the source role's inline policy when role chaining.
pub const SOURCE_POLICY_NAME: &str = "podiam-assume-target-role";

impl Cross {
    /// The cross-account view of `model`.
    pub fn new(model: &Model) -> Cross {
        let grants = cross::bucket_grants(model);
        let keys: Vec<KeyView> = cross::foreign_keys(model)
            .into_iter()
            .filter_map(|k| {
                let statement = cross::key_statement(model, k.region())?;
                Some(KeyView {
                    arn: k.as_str().to_owned(),
                    account: k.account().to_owned(),
                    region: k.region().to_owned(),
                    sid: statement.get("Sid")?.as_str()?.to_owned(),
                    suffix: cross::key_sid_suffix(model, k.region()),
                })
            })
            .collect();
        let bucket_account = model
            .accounts
            .bucket_account
            .as_ref()
            .map(|a| a.as_str().to_owned());
        Cross {
            bucket_owner: !grants.is_empty() || !keys.is_empty(),
            bucket_account,
            owner_account: cross::owner_account(model),
            s3_role_arn: policy::s3_role_arn(model),
            bucket_policy: (!grants.is_empty()).then(|| cross::bucket_policy(model)),
            buckets: grants
                .iter()
                .map(|g| BucketView {
                    bucket: g.bucket.clone(),
                    sids: g.sids(),
                    suffix: cross::bucket_sid_suffix(model, &g.bucket),
                })
                .collect(),
            key_policy: (!keys.is_empty()).then(|| cross::kms_key_policy(model)),
            keys,
            target: target(model),
        }
    }
}

fn target(model: &Model) -> Option<Target> {
    let account = model.accounts.target_account.as_ref()?;
    Some(Target {
        account: account.as_str().to_owned(),
        role_arn: policy::target_role_arn(model)?,
        policy_arn: policy::target_policy_arn(model)?,
        trust_policy: cross::target_trust(model)?,
        source_policy: cross::source_role_policy(model)?,
        source_policy_name: SOURCE_POLICY_NAME,
        associations: model
            .bindings
            .iter()
            .filter_map(|b| {
                Some(Association {
                    cluster: b.cluster.as_str().to_owned(),
                    namespace: b.namespace.as_str().to_owned(),
                    service_account: b.service_account.as_str().to_owned(),
                    external_id: cross::external_id(model, b)?,
                })
            })
            .collect(),
    })
}
