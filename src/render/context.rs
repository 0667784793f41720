//! The one serializable context handed to every template, derived from the
//! model. Templates see only these fields, all already validated.

use serde::Serialize;
use serde_json::Value;

use crate::iam::policy;
use crate::input::model::{Method, Model};
use crate::input::role::Settings;
use crate::render::mounts::{Mount, mounts};

/// Who generated the files, for headers.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// podiam's version.
    pub version: &'static str,
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
    /// The cluster that signs its tokens.
    pub cluster: String,
}

/// One workload the role admits, as templates see it.
#[derive(Debug, Serialize)]
pub struct BindingView {
    /// EKS cluster name.
    pub cluster: String,
    /// Namespace, or a pattern (IRSA only).
    pub namespace: String,
    /// Service account, or a pattern (IRSA only).
    pub service_account: String,
    /// Whether namespace or service account is a pattern with `*` or `?`.
    pub pattern: bool,
    /// Whether it is the first binding: SkyPilot's, with its Kubernetes objects.
    pub first: bool,
    /// Whether its cluster is the first binding's cluster.
    pub first_cluster: bool,
    /// What it admits, in words (patterns); plain text, escape it.
    pub admits: String,
    /// Its cluster's OIDC provider (IRSA).
    pub oidc: Option<Oidc>,
}

/// SkyPilot-specific values.
#[derive(Debug, Serialize)]
pub struct SkyPilot {
    /// `kubernetes` or `kubernetes/<context>`.
    pub infra: String,
    /// The test task's mounts: `/s3/data` for one, `/s3/<bucket>[/<prefix>]` for several.
    pub mounts: Vec<Mount>,
    /// `MOUNT_CACHED`, `MOUNT` or `COPY`.
    pub mode: &'static str,
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
    /// The parameters as `params.yaml` lists them.
    pub params: crate::render::params_doc::ParamsDoc,
    /// `pod-identity` or `irsa`.
    pub method: Method,
    /// Whether the role trusts IRSA (`irsa` or `both`).
    pub irsa: bool,
    /// Whether the role trusts EKS Pod Identity (`pod-identity` or `both`).
    pub pod_identity: bool,
    /// Whether the method is `both`: the migration from IRSA to Pod Identity.
    pub both: bool,
    /// Every workload the role admits; the first is SkyPilot's.
    pub bindings: Vec<BindingView>,
    /// Every cluster the bindings name, each once, the first binding's first.
    pub clusters: Vec<String>,
    /// Every OIDC provider the bindings name, each once (IRSA).
    pub oidc_providers: Vec<Oidc>,
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
    /// The cluster's OIDC provider (IRSA).
    pub oidc: Option<Oidc>,
    /// The S3 permission policy document.
    pub permission_policy: Value,
    /// The trust policy document, when everything it needs is known.
    pub trust_policy: Option<Value>,
    /// The other accounts: the bucket owner's side and the target role.
    pub cross: crate::render::cross::Cross,
    /// SkyPilot values.
    pub skypilot: SkyPilot,
    /// Terraform names and policy expressions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terraform: Option<crate::render::terraform::Terraform>,
    /// The review sheet (Markdown, every value already escaped), when the
    /// trust policy can be written (the outer `None`: not computed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<Option<String>>,
    /// Every S3 bucket, the first one included.
    pub buckets: Vec<String>,
    /// The role options: IAM path, permissions boundary, session length, tags.
    pub role: Settings,
    /// How the Pod Identity agent add-on is handled: `create` or `existing`.
    pub pod_identity_agent: crate::input::model::Agent,
    /// The Kubernetes objects: names, labels, and what apply.sh creates.
    pub kubernetes: crate::render::kube::Kubernetes,
    /// The runbook's sentences, Markdown with every value escaped; an error
    /// here fails the render (see [`crate::render::prose::serialize`]).
    #[serde(serialize_with = "crate::render::prose::serialize")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prose: Option<Result<crate::render::prose::Prose, String>>,
}

impl Context {
    /// Derives the template context from a validated model.
    pub fn new(model: &Model) -> Context {
        Context::for_templates(model, |_| true)
    }

    /// [`Context::new`] without the costly parts no template in use needs:
    /// `uses(field)` says whether one may (see
    /// [`crate::render::templates::Engine::may_use`]).
    pub fn for_templates(model: &Model, uses: impl Fn(&str) -> bool) -> Context {
        // Built once, for the context and for the sentences made from them.
        let permission_policy = policy::permission_policy(model);
        let trust_policy = crate::iam::trust::trust_policy(model);
        let review = uses("review").then(|| {
            crate::iam::explain::markdown_with(model, &permission_policy, trust_policy.as_ref())
                .ok()
        });
        let prose = uses("prose").then(|| {
            crate::render::prose::Prose::with(model, &permission_policy, trust_policy.as_ref().ok())
        });
        Context {
            podiam: Tool {
                version: env!("CARGO_PKG_VERSION"),
            },
            params: crate::render::params_doc::ParamsDoc::new(model),
            method: model.method,
            irsa: model.method.irsa(),
            pod_identity: model.method.pod_identity(),
            both: model.method == Method::Both,
            bindings: bindings(model),
            clusters: clusters(model),
            oidc_providers: oidc_providers(model),
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
            oidc: model
                .oidc
                .as_ref()
                .map(|o| oidc(model, model.cluster.as_str(), o)),
            permission_policy,
            trust_policy: trust_policy.ok(),
            cross: crate::render::cross::Cross::new(model),
            skypilot: skypilot(model),
            terraform: uses("terraform").then(|| crate::render::terraform::Terraform::new(model)),
            review,
            buckets: model
                .buckets
                .iter()
                .map(|b| b.as_str().to_owned())
                .collect(),
            role: role_settings(model),
            pod_identity_agent: model.pod_identity_agent,
            kubernetes: crate::render::kube::Kubernetes::new(model),
            prose,
        }
    }
}

fn oidc(model: &Model, cluster: &str, provider: &crate::input::model::OidcProvider) -> Oidc {
    Oidc {
        cluster: cluster.to_owned(),
        issuer_url: provider.issuer_url(),
        provider: provider.provider(),
        provider_arn: policy::oidc_arn(model, provider),
    }
}

fn bindings(model: &Model) -> Vec<BindingView> {
    model
        .bindings
        .iter()
        .enumerate()
        .map(|(i, b)| BindingView {
            cluster: b.cluster.as_str().to_owned(),
            namespace: b.namespace.as_str().to_owned(),
            service_account: b.service_account.as_str().to_owned(),
            pattern: b.is_pattern(),
            first: i == 0,
            first_cluster: b.cluster == model.cluster,
            admits: b.admits(),
            oidc: b
                .oidc
                .as_ref()
                .filter(|_| model.method.irsa())
                .map(|o| oidc(model, b.cluster.as_str(), o)),
        })
        .collect()
}

fn clusters(model: &Model) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for b in &model.bindings {
        if !out.iter().any(|c| c == b.cluster.as_str()) {
            out.push(b.cluster.as_str().to_owned());
        }
    }
    out
}

fn oidc_providers(model: &Model) -> Vec<Oidc> {
    let mut out: Vec<Oidc> = Vec::new();
    for b in &model.bindings {
        let Some(provider) = b.oidc.as_ref() else {
            continue;
        };
        if model.method.irsa() && !out.iter().any(|o| o.provider == provider.provider()) {
            out.push(oidc(model, b.cluster.as_str(), provider));
        }
    }
    out
}

fn skypilot(model: &Model) -> SkyPilot {
    let infra = match &model.kube_context {
        Some(ctx) => format!("kubernetes/{}", ctx.as_str()),
        None => "kubernetes".to_owned(),
    };
    SkyPilot {
        infra,
        mounts: mounts(model),
        mode: model.mount_mode.as_str(),
        set_namespace: !model.default_namespace(),
        set_remote_identity: !model.default_service_account(),
    }
}

/// The model's role options.
fn role_settings(model: &Model) -> Settings {
    Settings {
        path: model.iam_path.clone(),
        permissions_boundary: model.permissions_boundary.clone(),
        max_session_duration: model.max_session_duration,
        tags: model.tags.clone(),
    }
}
