//! The cross-account parts of the Terraform artifacts: the Pod Identity
//! target role of the main module (`--target-account`) and the bucket
//! owner's module (`--bucket-account`, `terraform/bucket-owner/main.tf`).
//!
//! Every document comes from the builders of [`crate::iam::cross`], like the
//! JSON artifacts: the target role's documents get markers
//! ([`crate::formats::hclwrite::marker`]) where Terraform knows the value
//! (the target role's ARN, the source role's ARN, the cluster's account, each
//! association's `externalId`); the bucket owner's statements stay literal,
//! exactly those of `iam/bucket-policy.json` and `iam/kms-key-policy.json`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::iam::{cross, policy};
use crate::input::model::Model;
use crate::render::tf_refs::{Ref, replace_strings};

/// The target role of Pod Identity role chaining, as the main module needs it.
#[derive(Debug, Serialize)]
pub struct TargetRole {
    /// The target account: the default of the `target_account_id` variable.
    pub account: String,
    /// `iam/source-role-policy.json`, with the target role's ARN a reference.
    pub source_policy: Value,
    /// The source role's inline policy name.
    pub source_policy_name: &'static str,
    /// `iam/target-trust-policy.json`, with references for the cluster's
    /// account, the source role and the associations' external ids.
    pub trust_policy: Value,
}

impl TargetRole {
    /// The target role part, when the model chains roles.
    pub fn new(model: &Model, bindings: bool) -> Option<TargetRole> {
        let account = model.accounts.target_account.as_ref()?;
        let target_arn = policy::target_role_arn(model)?;
        let source_arn = policy::role_arn(model)?;
        let mut source_policy = cross::source_role_policy(model)?;
        replace_strings(
            &mut source_policy,
            &target_arn,
            &Ref::TargetRoleArn.marker(),
        );
        // One association: its external id; more: the list of all of them.
        let ids = if bindings {
            Ref::ExternalIds.marker()
        } else {
            Ref::FirstExternalId.marker()
        };
        let mut trust_policy = cross::target_trust_with(model, vec![ids])?;
        let partition = model.region.partition().id();
        let cluster_account = model.account_id.as_ref()?.as_str();
        replace_strings(
            &mut trust_policy,
            &format!("arn:{partition}:iam::{cluster_account}:root"),
            &format!(
                "arn:{}:iam::{}:root",
                Ref::Partition.marker(),
                Ref::Account.marker()
            ),
        );
        replace_strings(&mut trust_policy, &source_arn, &Ref::SourceRoleArn.marker());
        Some(TargetRole {
            account: account.as_str().to_owned(),
            source_policy,
            source_policy_name: crate::render::cross::SOURCE_POLICY_NAME,
            trust_policy,
        })
    }
}

/// One KMS key of the bucket owner's module.
#[derive(Debug, Serialize)]
pub struct OwnerKey {
    /// Key ARN (the key of the policy maps).
    pub arn: String,
    /// Key id, the ARN's last part: what `aws_kms_key_policy` keeps in `key_id`.
    pub id: String,
}

/// The bucket owner's module: podiam's statements per bucket and per key.
#[derive(Debug, Serialize)]
pub struct BucketOwner {
    /// The account the module runs in.
    pub account: String,
    /// The buckets of another account, in order.
    pub buckets: Vec<String>,
    /// `{bucket: [statements]}`: `iam/bucket-policy.json`, bucket by bucket.
    pub bucket_statements: Value,
    /// `{bucket: regex}`: every id podiam ever gave this role's statements on
    /// the bucket (`^Podiam…For<digest>$`), so earlier versions go too.
    pub bucket_sid_patterns: Value,
    /// The keys of another account, in order.
    pub keys: Vec<OwnerKey>,
    /// Their ARNs, in order.
    pub key_arns: Vec<String>,
    /// `{key ARN: [statement]}`: each key's statement of `iam/kms-key-policy.json`.
    pub key_statements: Value,
    /// `{key ARN: regex}`: every id podiam gave this role's statement on such a key.
    pub key_sid_patterns: Value,
    /// `{key ARN: key id}`.
    pub key_ids: Value,
    /// The error message of the bucket list check, naming every bucket.
    pub buckets_message: String,
    /// The error message of the key list check, naming every key.
    pub keys_message: String,
}

impl BucketOwner {
    /// The bucket owner's module, when the bundle has a bucket owner's side.
    pub fn new(model: &Model) -> Option<BucketOwner> {
        let grants = cross::bucket_grants(model);
        let pattern = |suffix: String| Value::String(format!("^Podiam[A-Za-z0-9]*{suffix}$"));
        let mut bucket_statements = Map::new();
        let mut bucket_sid_patterns = Map::new();
        for grant in &grants {
            bucket_statements.insert(grant.bucket.clone(), Value::Array(grant.statements.clone()));
            bucket_sid_patterns.insert(
                grant.bucket.clone(),
                pattern(cross::bucket_sid_suffix(model, &grant.bucket)),
            );
        }
        let mut key_sid_patterns = Map::new();
        let mut key_statements = Map::new();
        let mut key_ids = Map::new();
        let mut keys = Vec::new();
        for key in cross::foreign_keys(model) {
            let statement = cross::key_statement(model, key.region())?;
            let id = key.as_str().rsplit_once("key/").map(|(_, id)| id)?;
            key_statements.insert(key.as_str().to_owned(), Value::Array(vec![statement]));
            key_sid_patterns.insert(
                key.as_str().to_owned(),
                pattern(cross::key_sid_suffix(model, key.region())),
            );
            key_ids.insert(key.as_str().to_owned(), Value::String(id.to_owned()));
            keys.push(OwnerKey {
                arn: key.as_str().to_owned(),
                id: id.to_owned(),
            });
        }
        if grants.is_empty() && keys.is_empty() {
            return None;
        }
        let account = cross::owner_account(model)?;
        let buckets: Vec<String> = grants.iter().map(|g| g.bucket.clone()).collect();
        let key_arns: Vec<String> = keys.iter().map(|k| k.arn.clone()).collect();
        Some(BucketOwner {
            account,
            buckets_message: format!(
                "Give bucket_policies one entry for each bucket podiam grants: {}.",
                buckets.join(", ")
            ),
            keys_message: format!(
                "Give key_policies one entry for each KMS key podiam grants: {}.",
                key_arns.join(", ")
            ),
            buckets,
            bucket_statements: Value::Object(bucket_statements),
            bucket_sid_patterns: Value::Object(bucket_sid_patterns),
            keys,
            key_arns,
            key_statements: Value::Object(key_statements),
            key_sid_patterns: Value::Object(key_sid_patterns),
            key_ids: Value::Object(key_ids),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::hclwrite::marker;
    use crate::input::model::test_model;
    use crate::input::params::RawParams;

    fn chained() -> Model {
        test_model(
            "data-lake",
            RawParams {
                account_id: Some("111111111111".into()),
                target_account: Some("333333333333".into()),
                ..RawParams::default()
            },
        )
    }

    #[test]
    fn the_target_documents_hold_references_not_account_literals() {
        let target = TargetRole::new(&chained(), false).expect("target");
        let trust = target.trust_policy.to_string();
        assert!(!trust.contains("111111111111"), "{trust}");
        assert!(
            trust.contains(&serde_json::to_string(&Ref::SourceRoleArn.marker()).expect("json"))
        );
        let external = serde_json::to_string(&Ref::FirstExternalId.marker()).expect("json");
        assert!(
            trust.contains(&format!("\"sts:ExternalId\":{external}")),
            "{trust}"
        );
        let source = target.source_policy.to_string();
        assert!(!source.contains("333333333333"), "{source}");
        assert!(source.contains(&marker(Ref::TargetRoleArn as usize).replace('\0', "\\u0000")));
        let many = TargetRole::new(&chained(), true).expect("target");
        assert!(
            many.trust_policy
                .to_string()
                .contains(&serde_json::to_string(&Ref::ExternalIds.marker()).expect("json"))
        );
        assert!(TargetRole::new(&test_model("data-lake", RawParams::default()), false).is_none());
    }

    #[test]
    fn the_owner_module_has_each_bucket_and_key_with_the_json_statements() {
        let model = Model::from_raw(&RawParams {
            cluster: Some("c".into()),
            region: Some("us-west-2".into()),
            bucket: Some(vec!["data-lake".into(), "other-lake".into()]),
            account_id: Some("111111111111".into()),
            bucket_account: Some("222222222222".into()),
            kms_key: Some(vec![
                "arn:aws:kms:us-west-2:222222222222:key/1234abcd".into(),
            ]),
            ..RawParams::default()
        })
        .expect("valid");
        let owner = BucketOwner::new(&model).expect("owner");
        assert_eq!(owner.buckets, ["data-lake", "other-lake"]);
        assert_eq!(owner.account, "222222222222");
        let joined: Vec<Value> = owner
            .bucket_statements
            .as_object()
            .expect("object")
            .values()
            .flat_map(|v| v.as_array().cloned().unwrap_or_default())
            .collect();
        assert_eq!(
            Value::Array(joined),
            cross::bucket_policy(&model)["Statement"]
        );
        assert_eq!(owner.keys[0].id, "1234abcd");
        assert_eq!(
            owner.key_statements["arn:aws:kms:us-west-2:222222222222:key/1234abcd"],
            cross::kms_key_policy(&model)["Statement"]
        );
        assert!(owner.buckets_message.ends_with("data-lake, other-lake."));
        assert!(BucketOwner::new(&test_model("data-lake", RawParams::default())).is_none());
    }
}
