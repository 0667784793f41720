//! The IAM documents: the S3 permission policy and the role's trust policy,
//! built as JSON values from the model (never as text).
//!
//! Every artifact that shows a policy (the JSON files, and later the
//! scripts, Terraform and runbook) renders these same values.

use serde_json::{Value, json};

use crate::input::access::Level;
use crate::input::model::Model;

/// IAM policy language version.
pub const POLICY_VERSION: &str = "2012-10-17";
/// The audience EKS puts in projected service account tokens, in every partition.
pub const IRSA_AUDIENCE: &str = "sts.amazonaws.com";
/// The service principal of EKS Pod Identity.
pub const POD_IDENTITY_PRINCIPAL: &str = "pods.eks.amazonaws.com";

/// Bucket-level actions, granted on the bucket ARN.
pub const BUCKET_ACTIONS: [&str; 2] = ["s3:ListBucket", "s3:GetBucketLocation"];
/// Object-level actions of the read-write profile, granted on `bucket/*`.
pub const OBJECT_ACTIONS: [&str; 3] = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];
/// IAM's limit on a managed policy, in characters not counting white space.
pub const POLICY_LIMIT: usize = 6144;
/// IAM's default limit on a role trust policy, same counting.
pub const TRUST_LIMIT: usize = crate::input::rules::TRUST_QUOTA_DEFAULT;

/// The values the policy documents are built from: the model's own for the
/// JSON artifacts, or Terraform references (as markers) for the HCL, so both
/// come from one builder and cannot drift apart.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// ARN partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// Region name.
    pub region: String,
    /// DNS suffix of the partition's endpoints.
    pub dns_suffix: String,
    /// Bucket names.
    pub buckets: Vec<String>,
    /// EKS cluster name.
    pub cluster: String,
    /// Kubernetes namespace.
    pub namespace: String,
    /// Kubernetes service account.
    pub service_account: String,
    /// AWS account id, when known.
    pub account: Option<String>,
    /// The OIDC provider's ARN and its `host/id/ID` form (IRSA), when known.
    pub oidc: Option<(String, String)>,
    /// Every workload the role admits, the first (above) included.
    pub bindings: Vec<BindingInputs>,
}

/// One binding's values, the model's own or Terraform references.
#[derive(Debug, Clone)]
pub struct BindingInputs {
    /// EKS cluster name.
    pub cluster: String,
    /// Namespace, or a pattern (IRSA).
    pub namespace: String,
    /// Service account, or a pattern (IRSA).
    pub service_account: String,
    /// The cluster's OIDC provider: ARN and `host/id/ID` (IRSA), when known.
    pub oidc: Option<(String, String)>,
    /// Whether namespace or service account is a pattern.
    pub pattern: bool,
}

impl BindingInputs {
    /// A binding's own values.
    pub fn of(model: &Model, binding: &crate::input::bindings::Binding) -> BindingInputs {
        BindingInputs {
            cluster: binding.cluster.as_str().to_owned(),
            namespace: binding.namespace.as_str().to_owned(),
            service_account: binding.service_account.as_str().to_owned(),
            oidc: binding
                .oidc
                .as_ref()
                .and_then(|o| Some((oidc_arn(model, o)?, o.provider()))),
            pattern: binding.is_pattern(),
        }
    }
}

impl Inputs {
    /// The model's own values.
    pub fn of(model: &Model) -> Inputs {
        Inputs {
            partition: model.region.partition().id().to_owned(),
            region: model.region.as_str().to_owned(),
            dns_suffix: model.region.partition().dns_suffix().to_owned(),
            buckets: model
                .buckets
                .iter()
                .map(|b| b.as_str().to_owned())
                .collect(),
            cluster: model.cluster.as_str().to_owned(),
            namespace: model.namespace.as_str().to_owned(),
            service_account: model.service_account.as_str().to_owned(),
            account: model.account_id.as_ref().map(|a| a.as_str().to_owned()),
            oidc: oidc_provider_arn(model).zip(model.oidc.as_ref().map(|o| o.provider())),
            bindings: model
                .bindings
                .iter()
                .map(|b| BindingInputs::of(model, b))
                .collect(),
        }
    }
}

/// `arn:<partition>:s3:::<bucket>`, from its two parts.
pub fn s3_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

fn bucket_arns(inputs: &Inputs) -> Vec<String> {
    inputs
        .buckets
        .iter()
        .map(|b| s3_arn(&inputs.partition, b))
        .collect()
}

/// The object ARNs: `bucket/*`, or `bucket/<prefix>/*` for each prefix.
fn object_arns(model: &Model, inputs: &Inputs) -> Vec<String> {
    let mut arns = Vec::new();
    for bucket in bucket_arns(inputs) {
        if model.prefixes.is_empty() {
            arns.push(format!("{bucket}/*"));
        }
        arns.extend(
            model
                .prefixes
                .iter()
                .map(|p| format!("{bucket}/{}/*", p.as_str())),
        );
    }
    arns
}

/// The `s3:prefix` values ListBucket is limited to: `P/` and `P/*` per prefix.
pub fn list_prefixes(model: &Model) -> Vec<String> {
    model
        .prefixes
        .iter()
        .flat_map(|p| [format!("{}/", p.as_str()), format!("{}/*", p.as_str())])
        .collect()
}

/// The object actions of the model's access profile.
pub fn object_actions(model: &Model) -> Vec<&'static str> {
    let mut actions = match model.access {
        Level::ReadWrite => OBJECT_ACTIONS.to_vec(),
        Level::ReadOnly => vec!["s3:GetObject"],
    };
    if model.multipart_cleanup {
        actions.push("s3:AbortMultipartUpload");
    }
    actions
}

/// The KMS actions: decrypt to read, and generate data keys to write.
pub fn kms_actions(model: &Model) -> Vec<&'static str> {
    match model.access {
        Level::ReadWrite => vec!["kms:Decrypt", "kms:GenerateDataKey"],
        Level::ReadOnly => vec!["kms:Decrypt"],
    }
}

/// `arn:<partition>:iam::<account>:role<path><name>`, when the account id is known.
pub fn role_arn(model: &Model) -> Option<String> {
    iam_arn(
        model,
        "role",
        &format!("{}{}", path_rest(model), model.role_name.as_str()),
    )
}

/// `arn:<partition>:iam::<account>:policy<path><name>`, when the account id is known.
pub fn policy_arn(model: &Model) -> Option<String> {
    iam_arn(
        model,
        "policy",
        &format!("{}{}", path_rest(model), model.policy_name.as_str()),
    )
}

/// The IAM path without its leading `/`: empty for `/`, `a/b/` for `/a/b/`.
fn path_rest(model: &Model) -> &str {
    model.iam_path.strip_prefix('/').unwrap_or(&model.iam_path)
}

/// `arn:<partition>:iam::<account>:oidc-provider/<host>/id/<ID>`, when both are known.
pub fn oidc_provider_arn(model: &Model) -> Option<String> {
    oidc_arn(model, model.oidc.as_ref()?)
}

/// The IAM ARN of `provider`, when the account id is known.
pub fn oidc_arn(model: &Model, provider: &crate::input::model::OidcProvider) -> Option<String> {
    iam_arn(model, "oidc-provider", &provider.provider())
}

fn iam_arn(model: &Model, kind: &str, name: &str) -> Option<String> {
    iam_arn_in(model, model.account_id.as_ref()?.as_str(), kind, name)
}

/// `arn:<partition>:iam::<account>:<kind>/<name>`.
fn iam_arn_in(model: &Model, account: &str, kind: &str, name: &str) -> Option<String> {
    Some(format!(
        "arn:{}:iam::{account}:{kind}/{name}",
        model.region.partition().id(),
    ))
}

/// The target role's ARN (the role's name and path in the target account),
/// when pods reach S3 through a Pod Identity target role.
pub fn target_role_arn(model: &Model) -> Option<String> {
    let account = model.accounts.target_account.as_ref()?;
    iam_arn_in(
        model,
        account.as_str(),
        "role",
        &format!("{}{}", path_rest(model), model.role_name.as_str()),
    )
}

/// The S3 policy's ARN in the target account, when role chaining.
pub fn target_policy_arn(model: &Model) -> Option<String> {
    let account = model.accounts.target_account.as_ref()?;
    iam_arn_in(
        model,
        account.as_str(),
        "policy",
        &format!("{}{}", path_rest(model), model.policy_name.as_str()),
    )
}

/// The ARN of the role that calls S3: the target role when role chaining,
/// else the role (when the account id is known).
pub fn s3_role_arn(model: &Model) -> Option<String> {
    target_role_arn(model).or_else(|| role_arn(model))
}

/// The S3 permission policy. Bucket actions name bucket ARNs and object
/// actions name object ARNs; with prefixes, listing is limited by an
/// `s3:prefix` condition and objects by their ARNs. For the docs page's
/// values this grants exactly the docs page's five actions on its two ARNs.
pub fn permission_policy(model: &Model) -> Value {
    permission_policy_with(model, &Inputs::of(model))
}

/// [`permission_policy`] built from `inputs`.
pub fn permission_policy_with(model: &Model, inputs: &Inputs) -> Value {
    let mut statements = s3_statements(model, inputs);
    statements.extend(kms_statements(model, inputs));
    if object_actions(model).contains(&"s3:PutObject") {
        statements.extend(acl_denies());
    }
    json!({"Version": POLICY_VERSION, "Statement": statements})
}

/// The S3 Allow statements of the permission policy, for `inputs`' buckets:
/// list and locate the buckets, then the access profile's object actions.
/// A bucket owner's bucket policy grants the same statements (see
/// [`crate::iam::cross`]).
pub fn s3_statements(model: &Model, inputs: &Inputs) -> Vec<Value> {
    let buckets = bucket_arns(inputs);
    let mut statements = Vec::new();
    if model.prefixes.is_empty() {
        statements.push(json!({"Sid": "ListAndLocateBucket", "Effect": "Allow", "Action": BUCKET_ACTIONS, "Resource": buckets}));
    } else {
        statements.push(json!({"Sid": "LocateBucket", "Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": buckets}));
        statements.push(json!({
            "Sid": "ListBucketUnderPrefixes",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": buckets,
            "Condition": {"StringLike": {"s3:prefix": list_prefixes(model)}},
        }));
    }
    let sid = match model.access {
        Level::ReadWrite => "ReadWriteDeleteObjects",
        Level::ReadOnly => "ReadObjects",
    };
    statements.push(json!({"Sid": sid, "Effect": "Allow", "Action": object_actions(model), "Resource": object_arns(model, inputs)}));
    statements
}

/// The canned ACLs an upload may name: both keep the object private to the bucket owner.
const PRIVATE_ACLS: [&str; 2] = ["private", "bucket-owner-full-control"];
/// The grant headers of PutObject, each of which could share an object.
const GRANT_HEADERS: [&str; 4] = [
    "s3:x-amz-grant-full-control",
    "s3:x-amz-grant-read",
    "s3:x-amz-grant-read-acp",
    "s3:x-amz-grant-write-acp",
];

/// `Word-word` as `WordWord`, for statement ids.
pub fn camel(text: &str) -> String {
    text.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| w[..1].to_uppercase() + &w[1..])
        .collect()
}

/// Denies uploads that would set an ACL sharing the object: a canned ACL
/// other than [`PRIVATE_ACLS`], or any grant header. `s3:PutObject` sets
/// ACLs without `s3:PutObjectAcl`. `Null = false` makes each Deny apply
/// only when the header is present; the Denies name every resource since
/// they only ever take away.
fn acl_denies() -> Vec<Value> {
    let mut denies = vec![json!({
        "Sid": "DenyPublicCannedAcl",
        "Effect": "Deny",
        "Action": ["s3:PutObject"],
        "Resource": ["*"],
        "Condition": {
            "StringNotEquals": {"s3:x-amz-acl": PRIVATE_ACLS},
            "Null": {"s3:x-amz-acl": "false"},
        },
    })];
    for header in GRANT_HEADERS {
        denies.push(json!({
            "Sid": format!("Deny{}Header", camel(header.trim_start_matches("s3:x-amz-"))),
            "Effect": "Deny",
            "Action": ["s3:PutObject"],
            "Resource": ["*"],
            "Condition": {"Null": {header: "false"}},
        }));
    }
    denies
}

/// One statement per region the KMS keys live in: the keys, usable only
/// through S3 in that region (`kms:ViaService`), since S3 calls KMS from the
/// bucket's region and a bucket's key lives there too.
fn kms_statements(model: &Model, inputs: &Inputs) -> Vec<Value> {
    let mut regions: Vec<&str> = Vec::new();
    for key in &model.kms_keys {
        if !regions.contains(&key.region()) {
            regions.push(key.region());
        }
    }
    let several = regions.len() > 1;
    regions
        .iter()
        .map(|region| {
            let keys: Vec<&str> = model
                .kms_keys
                .iter()
                .filter(|k| k.region() == *region)
                .map(|k| k.as_str())
                .collect();
            let suffix = if several { camel(region) } else { String::new() };
            json!({
                "Sid": format!("UseBucketKeyThroughS3{suffix}"),
                "Effect": "Allow",
                "Action": kms_actions(model),
                "Resource": keys,
                "Condition": {"StringEquals": {"kms:ViaService": s3_service_host(region, &inputs.dns_suffix)}},
            })
        })
        .collect()
}

/// `s3.<region>.<dns suffix>`, the value of `kms:ViaService` for S3 in `region`.
pub fn s3_service_host(region: &str, dns_suffix: &str) -> String {
    format!("s3.{region}.{dns_suffix}")
}

pub use crate::input::bindings::subject as irsa_subject;
