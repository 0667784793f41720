//! `manifest.json`: what a bundle holds, for reviewers to sign. It records
//! podiam's version, the normalised parameters, and each artifact's path,
//! SHA-256 and the schema it passed.

use serde::Serialize;
use serde_json::Value;

use crate::artifacts::artifact::Rendered;
use crate::input::model::Model;
use crate::render::templates::Overrides;

/// One artifact's entry.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// The artifact's name.
    pub name: &'static str,
    /// Its path inside the bundle.
    pub path: &'static str,
    /// Lowercase hex SHA-256 of its bytes.
    pub sha256: String,
    /// How it was parsed back.
    pub format: &'static str,
    /// The schema it passed, if its format has one (shell and Markdown are
    /// checked by parsing back only: `bash -n`, CommonMark structure).
    pub schema: Option<&'static str>,
}

/// The parameters after validation and defaults, as podiam used them.
#[derive(Debug, Serialize)]
pub struct Parameters {
    cluster: String,
    region: String,
    partition: &'static str,
    bucket: String,
    namespace: String,
    service_account: String,
    kube_context: Option<String>,
    account_id: Option<String>,
    /// Only in cross-account bundles: single-account manifests stay as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    bucket_account: Option<String>,
    /// Only in target-role bundles.
    #[serde(skip_serializing_if = "Option::is_none")]
    target_account: Option<String>,
    method: &'static str,
    oidc_issuer: Option<String>,
    policy_name: String,
    role_name: String,
    buckets: Vec<String>,
    access: &'static str,
    mount_mode: &'static str,
    multipart_cleanup: bool,
    prefixes: Vec<String>,
    kms_keys: Vec<String>,
    allow_unlisted_region: bool,
    trust: crate::input::role::Trust,
    permissions_boundary: Option<String>,
    iam_path: String,
    max_session_duration: u32,
    tags: Vec<crate::input::role::Tag>,
    pod_identity_agent: &'static str,
    bindings: Vec<crate::render::params_doc::BindingDoc>,
    trust_policy_quota: usize,
}

impl Parameters {
    /// The model's parameters, normalised.
    pub fn new(model: &Model) -> Parameters {
        Parameters {
            cluster: model.cluster.as_str().to_owned(),
            region: model.region.as_str().to_owned(),
            partition: model.region.partition().id(),
            bucket: model.bucket.as_str().to_owned(),
            namespace: model.namespace.as_str().to_owned(),
            service_account: model.service_account.as_str().to_owned(),
            kube_context: model.kube_context.as_ref().map(|c| c.as_str().to_owned()),
            account_id: model.account_id.as_ref().map(|a| a.as_str().to_owned()),
            bucket_account: model
                .accounts
                .bucket_account
                .as_ref()
                .map(|a| a.as_str().to_owned()),
            target_account: model
                .accounts
                .target_account
                .as_ref()
                .map(|a| a.as_str().to_owned()),
            method: model.method.as_str(),
            oidc_issuer: model.oidc.as_ref().map(|o| o.issuer_url()),
            policy_name: model.policy_name.as_str().to_owned(),
            role_name: model.role_name.as_str().to_owned(),
            buckets: model
                .buckets
                .iter()
                .map(|b| b.as_str().to_owned())
                .collect(),
            access: model.access.as_str(),
            mount_mode: model.mount_mode.as_str(),
            multipart_cleanup: model.multipart_cleanup,
            prefixes: model
                .prefixes
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            kms_keys: model
                .kms_keys
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            allow_unlisted_region: model.allow_unlisted_region,
            trust: model.trust,
            permissions_boundary: model.permissions_boundary.clone(),
            iam_path: model.iam_path.clone(),
            max_session_duration: model.max_session_duration,
            tags: model.tags.clone(),
            pod_identity_agent: model.pod_identity_agent.as_str(),
            bindings: crate::render::params_doc::bindings(model),
            trust_policy_quota: model.trust_quota,
        }
    }
}

pub use crate::formats::digest::sha256_hex;

/// The manifest of `rendered` for `model`, as a JSON value; `overrides`
/// are the template overrides it was rendered from, if any.
pub fn build<'a>(
    model: &Model,
    rendered: impl IntoIterator<Item = &'a Rendered>,
    overrides: Option<&Overrides>,
) -> Value {
    let entries: Vec<Entry> = rendered
        .into_iter()
        .map(|r| Entry {
            name: r.artifact.name,
            path: r.artifact.path,
            sha256: sha256_hex(r.text.as_bytes()),
            format: r.artifact.format.name(),
            schema: r.artifact.schema.map(|s| s.name()),
        })
        .collect();
    let mut manifest = serde_json::json!({
        "podiam": { "version": env!("CARGO_PKG_VERSION") },
        "parameters": Parameters::new(model),
        "artifacts": entries,
    });
    if let (Some(o), Some(fields)) = (overrides, manifest.as_object_mut()) {
        fields.insert("templates".to_owned(), serde_json::json!(o));
    }
    manifest
}
