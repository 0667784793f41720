//! The role options of the Terraform artifacts (path, permissions boundary,
//! maximum session duration, tags) and the descriptions whose wording
//! depends on the model: what the access profile allows and how the trust
//! is pinned. Descriptions that name Terraform values carry markers
//! ([`crate::formats::hclwrite::marker`]) for the `hcl_expr` filter.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::input::access::Level;
use crate::input::model::{Method, Model};
use crate::render::tf_refs::Ref;

/// The role options and model-dependent wording.
#[derive(Debug, Serialize)]
pub struct Role {
    /// IAM path of the role and the policy.
    pub path: String,
    /// Permissions boundary ARN, if any.
    pub permissions_boundary: Option<String>,
    /// Maximum session duration in seconds.
    pub max_session_duration: u32,
    /// The tags, as a JSON object in the order given.
    pub tags: Value,
    /// Whether any tag was given.
    pub has_tags: bool,
    /// The bucket list variable's description.
    pub buckets_description: String,
    /// The policy's description, with a marker for the bucket list.
    pub policy_description: String,
    /// The role's description, with markers for namespace, service account and cluster.
    pub role_description: String,
}

impl Role {
    /// Derives the role options and wording from a validated model.
    pub fn new(model: &Model) -> Role {
        let tags: Map<String, Value> = model
            .tags
            .iter()
            .map(|t| (t.key.clone(), Value::String(t.value.clone())))
            .collect();
        let purpose = purpose(model);
        Role {
            path: model.iam_path.clone(),
            permissions_boundary: model.permissions_boundary.clone(),
            max_session_duration: model.max_session_duration,
            has_tags: !tags.is_empty(),
            tags: Value::Object(tags),
            buckets_description: format!("S3 buckets in which the pods may {purpose}."),
            policy_description: format!(
                "Lets pods on EKS {purpose} in these S3 buckets: {}.",
                Ref::BucketList.marker()
            ),
            role_description: role_description(model),
        }
    }
}

/// What the permission policy lets the pods do, as a verb phrase:
/// `list and read objects`, `list, read, write and delete objects`, plus
/// multipart cleanup and key prefixes when given.
pub fn purpose(model: &Model) -> String {
    let mut text = match model.access {
        Level::ReadWrite => "list, read, write and delete objects",
        Level::ReadOnly => "list and read objects",
    }
    .to_owned();
    if model.multipart_cleanup {
        text.push_str(" and abort multipart uploads");
    }
    let prefixes: Vec<String> = model
        .prefixes
        .iter()
        .map(|p| format!("{}/", p.as_str()))
        .collect();
    match prefixes.as_slice() {
        [] => {}
        [one] => text.push_str(&format!(" under key prefix {one}")),
        many => text.push_str(&format!(" under key prefixes {}", many.join(", "))),
    }
    text
}

/// Who assumes the role and how the trust pins them.
fn role_description(model: &Model) -> String {
    let who = format!(
        "pods of service account {}/{} on EKS cluster {}",
        Ref::Namespace.marker(),
        Ref::ServiceAccount.marker(),
        Ref::Cluster.marker()
    );
    match model.method {
        Method::Irsa => format!("Assumed through IRSA by {who}."),
        Method::PodIdentity if model.trust.minimal => format!(
            "Assumed through EKS Pod Identity by {who}; its trust names no cluster or service account, so any association in the account may use it."
        ),
        Method::PodIdentity => format!("Assumed through EKS Pod Identity by {who}."),
        Method::Both => {
            format!("Assumed through IRSA and EKS Pod Identity (while migrating) by {who}.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::params::RawParams;

    fn model(extra: RawParams) -> Model {
        crate::input::model::test_model("bkt1", extra)
    }

    #[test]
    fn purpose_follows_the_access_profile() {
        assert_eq!(
            purpose(&model(RawParams::default())),
            "list, read, write and delete objects"
        );
        let read_only = model(RawParams {
            access: Some("read-only".into()),
            prefix: Some(vec!["a/b".into(), "c".into()]),
            ..RawParams::default()
        });
        assert_eq!(
            purpose(&read_only),
            "list and read objects under key prefixes a/b/, c/"
        );
        let cleanup = model(RawParams {
            multipart_cleanup: Some(true),
            access: Some("read-write".into()),
            prefix: Some(vec!["p/".into()]),
            ..RawParams::default()
        });
        assert_eq!(
            purpose(&cleanup),
            "list, read, write and delete objects and abort multipart uploads under key prefix p/"
        );
        let role = Role::new(&read_only);
        assert!(!role.policy_description.contains("write"));
        assert!(!role.buckets_description.contains("write"));
    }

    #[test]
    fn tags_keep_their_order_and_the_trust_wording_follows_the_options() {
        let m = model(RawParams {
            tag: Some(vec!["z=1".into(), "a=2".into()]),
            trust_minimal: Some(true),
            ..RawParams::default()
        });
        let role = Role::new(&m);
        let keys: Vec<&String> = role.tags.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["z", "a"]);
        assert!(role.has_tags);
        assert!(
            role.role_description
                .contains("any association in the account")
        );
        let pinned = Role::new(&model(RawParams::default()));
        assert!(!pinned.has_tags);
        assert!(!pinned.role_description.contains("any association"));
    }
}
