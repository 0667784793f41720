//! The IAM documents: the S3 permission policy and the role's trust policy,
//! built as JSON values from the model (never as text).
//!
//! Every artifact that shows a policy (the JSON files, and later the
//! scripts, Terraform and runbook) renders these same values.

use serde_json::{Value, json};

use crate::model::{Method, Model};

/// IAM policy language version.
pub const POLICY_VERSION: &str = "2012-10-17";
/// The audience EKS puts in projected service account tokens, in every partition.
pub const IRSA_AUDIENCE: &str = "sts.amazonaws.com";
/// The service principal of EKS Pod Identity.
pub const POD_IDENTITY_PRINCIPAL: &str = "pods.eks.amazonaws.com";

/// Bucket-level actions, granted on the bucket ARN.
pub const BUCKET_ACTIONS: [&str; 2] = ["s3:ListBucket", "s3:GetBucketLocation"];
/// Object-level actions, granted on `bucket/*`.
pub const OBJECT_ACTIONS: [&str; 3] = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];

/// `arn:<partition>:s3:::<bucket>`.
pub fn bucket_arn(model: &Model) -> String {
    s3_arn(model.region.partition().id(), model.bucket.as_str())
}

/// `arn:<partition>:s3:::<bucket>`, from its two parts.
pub fn s3_arn(partition: &str, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

/// `arn:<partition>:s3:::<bucket>/*`.
pub fn objects_arn(model: &Model) -> String {
    format!("{}/*", bucket_arn(model))
}

/// `arn:<partition>:iam::<account>:role/<name>`, when the account id is known.
pub fn role_arn(model: &Model) -> Option<String> {
    iam_arn(model, "role", model.role_name.as_str())
}

/// `arn:<partition>:iam::<account>:policy/<name>`, when the account id is known.
pub fn policy_arn(model: &Model) -> Option<String> {
    iam_arn(model, "policy", model.policy_name.as_str())
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

/// The S3 permission policy: the docs page's five actions, split so that
/// bucket actions name the bucket ARN and object actions name `bucket/*`.
pub fn permission_policy(model: &Model) -> Value {
    permission_policy_for(&bucket_arn(model))
}

/// The S3 permission policy for the bucket with ARN `bucket_arn`.
pub fn permission_policy_for(bucket_arn: &str) -> Value {
    json!({
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "ListAndLocateBucket",
                "Effect": "Allow",
                "Action": BUCKET_ACTIONS,
                "Resource": [bucket_arn],
            },
            {
                "Sid": "ReadWriteDeleteObjects",
                "Effect": "Allow",
                "Action": OBJECT_ACTIONS,
                "Resource": [format!("{bucket_arn}/*")],
            },
        ],
    })
}

/// The role's trust policy for the chosen method, or what is missing to write it.
pub fn trust_policy(model: &Model) -> Result<Value, Vec<String>> {
    match model.method {
        Method::PodIdentity => Ok(pod_identity_trust()),
        Method::Irsa => irsa_trust(model),
    }
}

/// The docs page's Pod Identity trust statement.
pub fn pod_identity_trust() -> Value {
    json!({
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": { "Service": POD_IDENTITY_PRINCIPAL },
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    })
}

/// The docs page's IRSA trust statement: the cluster's OIDC provider, pinned
/// to one namespace and service account, audience `sts.amazonaws.com`.
fn irsa_trust(model: &Model) -> Result<Value, Vec<String>> {
    let (Some(provider_arn), Some(oidc)) = (oidc_provider_arn(model), model.oidc.as_ref()) else {
        return Err(irsa_missing(model));
    };
    Ok(irsa_trust_for(
        &provider_arn,
        &oidc.provider(),
        &irsa_subject(model.namespace.as_str(), model.service_account.as_str()),
    ))
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
