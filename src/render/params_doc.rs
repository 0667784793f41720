//! `params.yaml`: the bundle's own parameters as a params file, so that
//! `podiam generate --params params.yaml` and `podiam check DIR` reproduce
//! the bundle. Every value is written out, defaults included, except names
//! podiam derives from other values: the names derived from the first
//! bucket (and the namespace, for `tf_name`), the mount mode derived from
//! the prefixes and the access derived from the mount mode. Those stay
//! derived, so editing the bucket renames the role as a fresh run would,
//! and the notes a fresh run gives (in REVIEW.md too) come back the same.

use serde::Serialize;

use crate::input::access::{Level, MountMode};
use crate::input::model::Model;
use crate::input::names;

/// The parameters of one bundle, in the order `params.yaml` lists them.
/// `None` and `false` values are left out of the file.
#[derive(Debug, Serialize)]
pub struct ParamsDoc {
    /// EKS cluster name.
    pub cluster: String,
    /// AWS region.
    pub region: String,
    /// Whether a region outside podiam's list was accepted.
    pub allow_unlisted_region: bool,
    /// Every bucket, the first one naming the role and policy.
    pub bucket: Vec<String>,
    /// Kubernetes namespace.
    pub namespace: String,
    /// Kubernetes service account.
    pub service_account: String,
    /// kubeconfig context.
    pub kube_context: Option<String>,
    /// AWS account id (written quoted).
    pub account_id: Option<String>,
    /// The buckets' account as given (written quoted).
    pub bucket_account: Option<String>,
    /// The target role's account as given (written quoted).
    pub target_account: Option<String>,
    /// `pod-identity` or `irsa`.
    pub method: &'static str,
    /// The OIDC issuer URL (IRSA).
    pub oidc_issuer: Option<String>,
    /// The Pod Identity agent add-on: `create` or `existing`.
    pub pod_identity_agent: &'static str,
    /// IAM policy name, when it is not the one derived from the bucket.
    pub policy_name: Option<String>,
    /// IAM role name, when it is not the one derived from the bucket.
    pub role_name: Option<String>,
    /// Terraform name, when it is not the one derived.
    pub tf_name: Option<String>,
    /// `read-write` or `read-only`, when not the mount mode's default.
    pub access: Option<&'static str>,
    /// SkyPilot mount mode, when not the default (`COPY` with prefixes,
    /// else `MOUNT_CACHED`).
    pub mount_mode: Option<&'static str>,
    /// Whether `s3:AbortMultipartUpload` is granted.
    pub multipart_cleanup: bool,
    /// Key prefixes.
    pub prefix: Vec<String>,
    /// KMS key ARNs.
    pub kms_key: Vec<String>,
    /// The docs page's unpinned trust statement.
    pub trust_minimal: bool,
    /// `aws:SourceAccount` in the trust.
    pub trust_source_account: bool,
    /// `aws:SourceArn` in the trust.
    pub trust_source_arn: bool,
    /// Permissions boundary ARN.
    pub permissions_boundary: Option<String>,
    /// IAM path.
    pub iam_path: String,
    /// Role maximum session duration, in seconds.
    pub max_session_duration: u32,
    /// Tags as `key=value`, in the order given (a list keeps the order; a
    /// map in a params file is read sorted).
    pub tag: Vec<String>,
    /// The bindings after the first, every key written out.
    pub bindings: Vec<BindingDoc>,
    /// The trust policy quota, when raised.
    pub trust_policy_quota: Option<usize>,
}

/// One binding after the first, as `params.yaml` lists it.
#[derive(Debug, Serialize)]
pub struct BindingDoc {
    /// EKS cluster name.
    pub cluster: String,
    /// Namespace or pattern.
    pub namespace: String,
    /// Service account or pattern.
    pub service_account: String,
    /// The cluster's OIDC issuer URL (IRSA).
    pub oidc_issuer: Option<String>,
}

impl ParamsDoc {
    /// The parameters that reproduce `model`.
    pub fn new(model: &Model) -> ParamsDoc {
        let bucket = model.bucket.as_str();
        let derived = |given: &str, prefix: &str, max: usize| {
            (given != names::derive(prefix, bucket, max).name).then(|| given.to_owned())
        };
        let tf_default = names::tf_default(bucket, model.namespace.as_str());
        ParamsDoc {
            cluster: model.cluster.as_str().to_owned(),
            region: model.region.as_str().to_owned(),
            allow_unlisted_region: model.allow_unlisted_region,
            bucket: strings(model.buckets.iter().map(|b| b.as_str())),
            namespace: model.namespace.as_str().to_owned(),
            service_account: model.service_account.as_str().to_owned(),
            kube_context: model.kube_context.as_ref().map(|c| c.as_str().to_owned()),
            account_id: model.account_id.as_ref().map(|a| a.as_str().to_owned()),
            bucket_account: model
                .accounts
                .given
                .0
                .as_ref()
                .map(|a| a.as_str().to_owned()),
            target_account: model
                .accounts
                .given
                .1
                .as_ref()
                .map(|a| a.as_str().to_owned()),
            method: model.method.as_str(),
            oidc_issuer: model.oidc.as_ref().map(|o| o.issuer_url()),
            pod_identity_agent: model.pod_identity_agent.as_str(),
            policy_name: derived(
                model.policy_name.as_str(),
                names::POLICY_PREFIX,
                names::POLICY_MAX,
            ),
            role_name: derived(
                model.role_name.as_str(),
                names::ROLE_PREFIX,
                names::ROLE_MAX,
            ),
            tf_name: (model.tf_name.as_str() != tf_default)
                .then(|| model.tf_name.as_str().to_owned()),
            access: (model.access != Level::default_for(model.mount_mode))
                .then(|| model.access.as_str()),
            mount_mode: (model.mount_mode != MountMode::default_for(!model.prefixes.is_empty()))
                .then(|| model.mount_mode.as_str()),
            multipart_cleanup: model.multipart_cleanup,
            prefix: strings(model.prefixes.iter().map(|p| p.as_str())),
            kms_key: strings(model.kms_keys.iter().map(|k| k.as_str())),
            trust_minimal: model.trust.minimal,
            trust_source_account: model.trust.source_account,
            trust_source_arn: model.trust.source_arn,
            permissions_boundary: model.permissions_boundary.clone(),
            iam_path: model.iam_path.clone(),
            max_session_duration: model.max_session_duration,
            tag: model
                .tags
                .iter()
                .map(|t| format!("{}={}", t.key, t.value))
                .collect(),
            bindings: bindings(model).into_iter().skip(1).collect(),
            trust_policy_quota: (model.trust_quota != crate::input::rules::TRUST_QUOTA_DEFAULT)
                .then_some(model.trust_quota),
        }
    }
}

/// Every binding, the first included, with its issuer when one was given
/// (written under every method, as the top-level `oidc_issuer` is).
pub fn bindings(model: &Model) -> Vec<BindingDoc> {
    model
        .bindings
        .iter()
        .map(|b| BindingDoc {
            cluster: b.cluster.as_str().to_owned(),
            namespace: b.namespace.as_str().to_owned(),
            service_account: b.service_account.as_str().to_owned(),
            oidc_issuer: b.oidc.as_ref().map(|o| o.issuer_url()),
        })
        .collect()
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    values.map(str::to_owned).collect()
}
