//! The IAM documents: the S3 permission policy and the role's trust policy,
//! built as JSON values from the model (never as text).
//!
//! Every artifact that shows a policy (the JSON files, and later the
//! scripts, Terraform and runbook) renders these same values.

use serde_json::{Value, json};

use crate::input::access::Level;
use crate::input::model::{Method, Model};

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
pub const TRUST_LIMIT: usize = 2048;

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
    iam_arn(model, "oidc-provider", &model.oidc.as_ref()?.provider())
}

fn iam_arn(model: &Model, kind: &str, name: &str) -> Option<String> {
    let account = model.account_id.as_ref()?;
    Some(format!(
        "arn:{}:iam::{}:{kind}/{name}",
        model.region.partition().id(),
        account.as_str()
    ))
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
    statements.extend(kms_statements(model, inputs));
    if object_actions(model).contains(&"s3:PutObject") {
        statements.extend(acl_denies());
    }
    json!({"Version": POLICY_VERSION, "Statement": statements})
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
fn camel(text: &str) -> String {
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

/// The role's trust policy for the chosen method, or what is missing to write it.
pub fn trust_policy(model: &Model) -> Result<Value, Vec<String>> {
    trust_policy_with(model, &Inputs::of(model))
}

/// [`trust_policy`] built from `inputs`.
pub fn trust_policy_with(model: &Model, inputs: &Inputs) -> Result<Value, Vec<String>> {
    match (model.method, &inputs.oidc) {
        (Method::PodIdentity, _) => Ok(pod_identity_trust(model, inputs)),
        (Method::Irsa, Some((provider_arn, provider))) => Ok(irsa_trust_for(
            provider_arn,
            provider,
            &irsa_subject(&inputs.namespace, &inputs.service_account),
        )),
        (Method::Irsa, None) => Err(irsa_missing(model)),
    }
}

/// The Pod Identity trust: the docs page's statement, pinned by default to
/// the cluster, namespace and service account through the session tags EKS
/// attaches, so that no other association can use the role.
fn pod_identity_trust(model: &Model, inputs: &Inputs) -> Value {
    let mut statement = json!({
        "Effect": "Allow",
        "Principal": { "Service": POD_IDENTITY_PRINCIPAL },
        "Action": ["sts:AssumeRole", "sts:TagSession"],
    });
    if !model.trust.minimal {
        let cluster = cluster_arn(inputs);
        let mut like = serde_json::Map::new();
        let mut equals = serde_json::Map::new();
        if inputs.account.is_some() {
            equals.insert(CLUSTER_TAG.to_owned(), json!(cluster));
        } else {
            like.insert(CLUSTER_TAG.to_owned(), json!(cluster));
        }
        equals.insert(
            "aws:RequestTag/kubernetes-namespace".to_owned(),
            json!(inputs.namespace),
        );
        equals.insert(
            "aws:RequestTag/kubernetes-service-account".to_owned(),
            json!(inputs.service_account),
        );
        let mut equals = Value::Object(equals);
        if let (true, Some(account)) = (model.trust.source_account, &inputs.account) {
            equals["aws:SourceAccount"] = json!(account);
        }
        let mut condition = json!({ "StringEquals": equals });
        if !like.is_empty() {
            condition["StringLike"] = Value::Object(like);
        }
        if let Some(arn) = association_arn_pattern(inputs).filter(|_| model.trust.source_arn) {
            condition["ArnLike"] = json!({ "aws:SourceArn": arn });
        }
        statement["Condition"] = condition;
    }
    json!({ "Version": POLICY_VERSION, "Statement": [statement] })
}

/// The session tag that names the pod's cluster by ARN: unlike
/// `eks-cluster-name`, it tells apart same-named clusters in other regions
/// and accounts.
pub const CLUSTER_TAG: &str = "aws:RequestTag/eks-cluster-arn";

/// `arn:<p>:eks:<region>:<account>:cluster/<name>`, with `*` for an unknown account.
pub fn cluster_arn(inputs: &Inputs) -> String {
    format!(
        "arn:{}:eks:{}:{}:cluster/{}",
        inputs.partition,
        inputs.region,
        inputs.account.as_deref().unwrap_or("*"),
        inputs.cluster
    )
}

/// `arn:<p>:eks:<region>:<account>:podidentityassociation/<cluster>/*`.
pub fn association_arn_pattern(inputs: &Inputs) -> Option<String> {
    let account = inputs.account.as_ref()?;
    Some(format!(
        "arn:{}:eks:{}:{account}:podidentityassociation/{}/*",
        inputs.partition, inputs.region, inputs.cluster
    ))
}

/// Checks IAM's size and character limits on both documents.
pub fn check_limits(model: &Model) -> Result<(), crate::error::Error> {
    let mut violations = Vec::new();
    let documents = [
        (
            "permission policy",
            Some(permission_policy(model)),
            POLICY_LIMIT,
            "IAM's limit for a managed policy",
        ),
        (
            "trust policy",
            trust_policy(model).ok(),
            TRUST_LIMIT,
            "IAM's default limit for a role trust policy (a quota you can raise)",
        ),
    ];
    for (what, document, limit, source) in documents {
        let Some(document) = document else { continue };
        let text = document.to_string();
        let size = text.chars().filter(|c| !c.is_whitespace()).count();
        if size > limit {
            let rule = format!(
                "the {what} would be {size} characters without white space; {source} is {limit}"
            );
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
    if violations.is_empty() {
        Ok(())
    } else {
        Err(crate::error::Error::Invalid(violations))
    }
}

/// `system:serviceaccount:<namespace>:<service account>`, the token's subject.
pub fn irsa_subject(namespace: &str, service_account: &str) -> String {
    format!("system:serviceaccount:{namespace}:{service_account}")
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
