//! The Terraform artifacts' part of the template context: the names of
//! addresses, variables and outputs for each form (module directory or single
//! file), and the policy documents with Terraform references in them.
//!
//! The documents come from the same builders as the JSON artifacts
//! ([`crate::policy`]); only the values Terraform knows better (partition,
//! bucket variable, OIDC provider, namespace, service account) are swapped
//! for [`crate::hclwrite::marker`]s, which the `hcl_expr` filter writes as references.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::hclwrite::marker;
use crate::model::{DEFAULT_NAMESPACE, Model};
use crate::policy;
use crate::rules;

/// The EKS add-on that runs the Pod Identity agent.
pub const POD_IDENTITY_AGENT: &str = "eks-pod-identity-agent";
/// Lowest hashicorp/aws version with `aws_eks_pod_identity_association` and an optional `thumbprint_list`.
pub const AWS_PROVIDER: &str = ">= 5.81";
/// Lowest hashicorp/kubernetes version with `kubernetes_annotations`.
pub const KUBERNETES_PROVIDER: &str = ">= 2.10";
/// The name of resources and data sources in the module directory form.
const MODULE_NAME: &str = "this";
/// The longest Terraform name podiam derives.
const NAME_MAX: usize = 63;

/// References the policy documents hold, by marker index.
#[derive(Debug, Clone, Copy)]
enum Ref {
    Partition = 0,
    Bucket = 1,
    ProviderArn = 2,
    Provider = 3,
    Namespace = 4,
    ServiceAccount = 5,
    Cluster = 6,
}

impl Ref {
    fn marker(self) -> String {
        marker(self as usize)
    }
}

/// The names one form uses.
#[derive(Debug, Serialize)]
pub struct Form {
    /// Name of every resource and data source (`this`, or the tf name).
    pub res: String,
    /// Prefix of variable, local and output names (empty, or `<tf name>_`).
    pub var: String,
    /// The expression each policy marker stands for, by index.
    pub refs: Vec<String>,
}

impl Form {
    fn new(res: &str, var: &str) -> Form {
        let refs = vec![
            format!("data.aws_partition.{res}.partition"),
            format!("var.{var}bucket_name"),
            format!("local.{var}oidc_provider_arn"),
            format!("local.{var}oidc_provider"),
            format!("var.{var}namespace"),
            format!("var.{var}service_account"),
            format!("var.{var}cluster_name"),
        ];
        Form {
            res: res.to_owned(),
            var: var.to_owned(),
            refs,
        }
    }
}

/// Everything the Terraform templates need beyond the common context.
#[derive(Debug, Serialize)]
pub struct Terraform {
    /// The validated Terraform name (`--tf-name`).
    pub name: String,
    /// Names in the module directory form (`terraform/*.tf`).
    pub module: Form,
    /// Names in the single-file form, all derived from the tf name.
    pub single: Form,
    /// The S3 permission policy, with markers.
    pub permission_policy: Value,
    /// The trust policy, with markers.
    pub trust_policy: Value,
    /// The IRSA token audience.
    pub audience: &'static str,
    /// The Pod Identity agent add-on's name.
    pub agent_addon: &'static str,
    /// hashicorp/aws version constraint.
    pub aws_provider: &'static str,
    /// hashicorp/kubernetes version constraint.
    pub kubernetes_provider: &'static str,
    /// RE2 pattern matching the bucket prefixes and suffixes AWS reserves.
    pub bucket_reserved: String,
}

impl Terraform {
    /// Derives the Terraform context from a validated model.
    pub fn new(model: &Model) -> Terraform {
        let name = model.tf_name.as_str().to_owned();
        let inputs = markers(model);
        let trust_policy = policy::trust_policy_with(model, &inputs).unwrap_or_default();
        Terraform {
            module: Form::new(MODULE_NAME, ""),
            single: Form::new(&name, &format!("{name}_")),
            name,
            permission_policy: policy::permission_policy_with(model, &inputs),
            trust_policy,
            audience: policy::IRSA_AUDIENCE,
            agent_addon: POD_IDENTITY_AGENT,
            aws_provider: AWS_PROVIDER,
            kubernetes_provider: KUBERNETES_PROVIDER,
            bucket_reserved: bucket_reserved(),
        }
    }
}

/// The policy inputs with Terraform references where Terraform knows the
/// value: partition, first bucket, cluster, namespace, service account and
/// the OIDC provider. Other values stay literal.
fn markers(model: &Model) -> policy::Inputs {
    let mut inputs = policy::Inputs::of(model);
    inputs.partition = Ref::Partition.marker();
    if let Some(first) = inputs.buckets.first_mut() {
        *first = Ref::Bucket.marker();
    }
    inputs.cluster = Ref::Cluster.marker();
    inputs.namespace = Ref::Namespace.marker();
    inputs.service_account = Ref::ServiceAccount.marker();
    inputs.oidc = Some((Ref::ProviderArn.marker(), Ref::Provider.marker()));
    inputs
}

/// `^(p1|p2|…)|(s1|s2|…)$` from [`rules::BUCKET_PREFIXES`] and
/// [`rules::BUCKET_SUFFIXES`], each `.` written `[.]`.
fn bucket_reserved() -> String {
    let alternatives = |items: &[&str]| {
        items
            .iter()
            .map(|i| i.replace('.', "[.]"))
            .collect::<Vec<_>>()
            .join("|")
    };
    format!(
        "^({})|({})$",
        alternatives(&rules::BUCKET_PREFIXES),
        alternatives(&rules::BUCKET_SUFFIXES)
    )
}

/// The default tf name: `s3_<bucket>`, plus `_<namespace>` when the namespace
/// is not `default`, with `.` and `-` as `_`. Over 63 characters, it keeps
/// what fits and ends in `_` and 8 hex digits of the full name's SHA-256.
pub fn default_name(bucket: &str, namespace: &str) -> String {
    let mut full = format!("s3_{bucket}");
    if namespace != DEFAULT_NAMESPACE {
        full = format!("{full}_{namespace}");
    }
    let full: String = full
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if full.len() <= NAME_MAX {
        return full;
    }
    let digest = Sha256::digest(full.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let head = full[..NAME_MAX - hash.len() - 1].trim_end_matches('_');
    format!("{head}_{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_are_valid_and_distinct() {
        assert_eq!(default_name("my-bucket", "default"), "s3_my_bucket");
        assert_eq!(default_name("my.bucket", "ml-team"), "s3_my_bucket_ml_team");
        assert_eq!(default_name("123", "default"), "s3_123");
        let a = default_name(&"a".repeat(63), &"n".repeat(63));
        let b = default_name(&"a".repeat(63), &format!("{}m", "n".repeat(62)));
        assert_ne!(a, b);
        for name in [a, b, default_name(&"b".repeat(60), "default")] {
            assert!(name.len() <= NAME_MAX, "{name}");
            assert_eq!(crate::rules::tf_name(&name), Ok(()), "{name}");
        }
    }

    #[test]
    fn reserved_bucket_pattern_lists_every_rule() {
        assert_eq!(
            bucket_reserved(),
            "^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|[.]mrap|--x-s3|--table-s3)$"
        );
    }

    #[test]
    fn forms_name_every_reference() {
        let form = Form::new("s3_b", "s3_b_");
        assert_eq!(
            form.refs[Ref::Partition as usize],
            "data.aws_partition.s3_b.partition"
        );
        assert_eq!(
            form.refs[Ref::ServiceAccount as usize],
            "var.s3_b_service_account"
        );
        assert_eq!(form.refs.len(), Ref::Cluster as usize + 1);
    }
}
