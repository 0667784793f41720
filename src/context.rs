//! The one serializable context handed to every template, derived from the
//! model. Templates see only these fields, all already validated.

use serde::Serialize;
use serde_json::Value;

use crate::model::{Method, Model};
use crate::names;
use crate::policy;

/// Who generated the files, for headers.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// podiam's version.
    pub version: &'static str,
    /// The command that regenerates the bundle, one argument per item.
    pub regenerate: Vec<String>,
}

/// The cluster's OIDC provider, for IRSA.
#[derive(Debug, Serialize)]
pub struct Oidc {
    /// `https://oidc.eks.<region>.<suffix>/id/<ID>`.
    pub issuer_url: String,
    /// `oidc.eks.<region>.<suffix>/id/<ID>`.
    pub provider: String,
    /// The provider's IAM ARN, when the account id is known.
    pub provider_arn: Option<String>,
}

/// SkyPilot-specific values.
#[derive(Debug, Serialize)]
pub struct SkyPilot {
    /// `kubernetes` or `kubernetes/<context>`.
    pub infra: String,
    /// `s3://<bucket>/`.
    pub source: String,
    /// Whether `kubernetes.namespace` must be written.
    pub set_namespace: bool,
    /// Whether `kubernetes.remote_identity` must be written.
    pub set_remote_identity: bool,
}

/// Everything a template may use.
#[derive(Debug, Serialize)]
pub struct Context {
    /// Generator information.
    pub podiam: Tool,
    /// `pod-identity` or `irsa`.
    pub method: Method,
    /// Whether the method is IRSA.
    pub irsa: bool,
    /// EKS cluster name.
    pub cluster: String,
    /// AWS region.
    pub region: String,
    /// AWS partition id (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: &'static str,
    /// S3 bucket.
    pub bucket: String,
    /// Kubernetes namespace.
    pub namespace: String,
    /// Whether the namespace is `default`.
    pub default_namespace: bool,
    /// Kubernetes service account.
    pub service_account: String,
    /// Whether the service account is SkyPilot's default.
    pub default_service_account: bool,
    /// kubeconfig context.
    pub kube_context: Option<String>,
    /// AWS account id.
    pub account_id: Option<String>,
    /// IAM policy name.
    pub policy_name: String,
    /// IAM role name.
    pub role_name: String,
    /// IAM policy ARN, when the account id is known.
    pub policy_arn: Option<String>,
    /// IAM role ARN, when the account id is known.
    pub role_arn: Option<String>,
    /// `arn:<partition>:s3:::<bucket>`.
    pub bucket_arn: String,
    /// The cluster's OIDC provider (IRSA).
    pub oidc: Option<Oidc>,
    /// The S3 permission policy document.
    pub permission_policy: Value,
    /// The trust policy document, when everything it needs is known.
    pub trust_policy: Option<Value>,
    /// SkyPilot values.
    pub skypilot: SkyPilot,
    /// Terraform names and policy expressions.
    pub terraform: crate::terraform::Terraform,
}

impl Context {
    /// Derives the template context from a validated model.
    pub fn new(model: &Model) -> Context {
        Context {
            podiam: Tool {
                version: env!("CARGO_PKG_VERSION"),
                regenerate: regenerate(model),
            },
            method: model.method,
            irsa: model.method == Method::Irsa,
            cluster: model.cluster.as_str().to_owned(),
            region: model.region.as_str().to_owned(),
            partition: model.region.partition().id(),
            bucket: model.bucket.as_str().to_owned(),
            namespace: model.namespace.as_str().to_owned(),
            default_namespace: model.default_namespace(),
            service_account: model.service_account.as_str().to_owned(),
            default_service_account: model.default_service_account(),
            kube_context: model.kube_context.as_ref().map(|c| c.as_str().to_owned()),
            account_id: model.account_id.as_ref().map(|a| a.as_str().to_owned()),
            policy_name: model.policy_name.as_str().to_owned(),
            role_name: model.role_name.as_str().to_owned(),
            policy_arn: policy::policy_arn(model),
            role_arn: policy::role_arn(model),
            bucket_arn: policy::bucket_arn(model),
            oidc: model.oidc.as_ref().map(|o| Oidc {
                issuer_url: o.issuer_url(),
                provider: o.provider(),
                provider_arn: policy::oidc_provider_arn(model),
            }),
            permission_policy: policy::permission_policy(model),
            trust_policy: policy::trust_policy(model).ok(),
            skypilot: skypilot(model),
            terraform: crate::terraform::Terraform::new(model),
        }
    }
}

fn skypilot(model: &Model) -> SkyPilot {
    let infra = match &model.kube_context {
        Some(ctx) => format!("kubernetes/{}", ctx.as_str()),
        None => "kubernetes".to_owned(),
    };
    SkyPilot {
        infra,
        source: format!("s3://{}/", model.bucket.as_str()),
        set_namespace: !model.default_namespace(),
        set_remote_identity: !model.default_service_account(),
    }
}

/// The `podiam generate` arguments that reproduce this model: every
/// parameter that differs from its default, in a fixed order.
fn regenerate(model: &Model) -> Vec<String> {
    let mut args: Vec<String> = ["podiam", "generate"].map(String::from).to_vec();
    let mut push = |flag: &str, value: &str| args.extend([format!("--{flag}"), value.to_owned()]);
    push("cluster", model.cluster.as_str());
    push("region", model.region.as_str());
    push("bucket", model.bucket.as_str());
    push("method", model.method.as_str());
    if !model.default_namespace() {
        push("namespace", model.namespace.as_str());
    }
    if !model.default_service_account() {
        push("service-account", model.service_account.as_str());
    }
    if let Some(ctx) = &model.kube_context {
        push("kube-context", ctx.as_str());
    }
    if let Some(account) = &model.account_id {
        push("account-id", account.as_str());
    }
    if let Some(oidc) = &model.oidc {
        push("oidc-issuer", &oidc.issuer_url());
    }
    let bucket = model.bucket.as_str();
    if model.policy_name.as_str()
        != names::derive(names::POLICY_PREFIX, bucket, names::POLICY_MAX).name
    {
        push("policy-name", model.policy_name.as_str());
    }
    if model.role_name.as_str() != names::derive(names::ROLE_PREFIX, bucket, names::ROLE_MAX).name {
        push("role-name", model.role_name.as_str());
    }
    let tf_default =
        crate::terraform::default_name(bucket, model.namespace.as_str()) == model.tf_name.as_str();
    if !tf_default {
        push("tf-name", model.tf_name.as_str());
    }
    args
}
