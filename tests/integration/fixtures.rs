//! The fixtures every artifact is snapshotted for.

use podiam::artifacts::artifact::Rendered;
use podiam::artifacts::bundle;
use podiam::input::model::Model;
use podiam::input::params::RawParams;

/// The docs page's example OIDC issuer id.
pub const OIDC_ID: &str = "EXAMPLED539D4633E53DE1B71EXAMPLE";

/// The docs page's values.
pub fn docs() -> RawParams {
    RawParams {
        cluster: Some("my-eks-cluster".into()),
        region: Some("us-west-2".into()),
        bucket: Some(vec!["my-bucket".into()]),
        ..RawParams::default()
    }
}

fn irsa(raw: RawParams) -> RawParams {
    let region = raw.region.clone().unwrap_or_default();
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    RawParams {
        method: Some("irsa".into()),
        account_id: Some("123456789012".into()),
        oidc_issuer: Some(format!("https://oidc.eks.{region}.{suffix}/id/{OIDC_ID}")),
        ..raw
    }
}

/// Every fixture: a name and its raw parameters.
pub fn all() -> Vec<(&'static str, RawParams)> {
    vec![
        ("docs-pod-identity", docs()),
        ("docs-irsa", irsa(docs())),
        (
            "custom-namespace-sa-context",
            RawParams {
                namespace: Some("ml-team".into()),
                service_account: Some("s3-reader".into()),
                kube_context: Some(
                    "arn:aws:eks:us-west-2:123456789012:cluster/my-eks-cluster".into(),
                ),
                ..docs()
            },
        ),
        (
            "china-irsa",
            irsa(RawParams {
                region: Some("cn-north-1".into()),
                ..docs()
            }),
        ),
        (
            "govcloud-pod-identity",
            RawParams {
                region: Some("us-gov-west-1".into()),
                account_id: Some("123456789012".into()),
                ..docs()
            },
        ),
        (
            "bucket-63-chars",
            irsa(RawParams {
                bucket: Some(vec![format!("long-bucket-{}", "x".repeat(51))]),
                ..docs()
            }),
        ),
        (
            "restricted",
            RawParams {
                bucket: Some(vec!["team-a-data".into(), "shared-models".into()]),
                access: Some("read-only".into()),
                prefix: Some(vec!["team-a/data/".into()]),
                kms_key: Some(vec![
                    "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                        .into(),
                ]),
                account_id: Some("123456789012".into()),
                trust_source_account: Some(true),
                permissions_boundary: Some("arn:aws:iam::123456789012:policy/TeamBoundary".into()),
                iam_path: Some("/skypilot/".into()),
                max_session_duration: Some("7200".into()),
                tag: Some(vec!["team=ml".into(), "cost-center=42".into()]),
                mount_mode: Some("COPY".into()),
                ..docs()
            },
        ),
        (
            "cross-bucket-owner",
            RawParams {
                bucket: Some(vec!["lake-raw".into(), "lake-curated".into()]),
                access: Some("read-only".into()),
                prefix: Some(vec!["team-a/".into()]),
                kms_key: Some(vec![
                    "arn:aws:kms:us-west-2:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                        .into(),
                ]),
                account_id: Some("123456789012".into()),
                bucket_account: Some("210987654321".into()),
                iam_path: Some("/skypilot/".into()),
                ..docs()
            },
        ),
        (
            "cross-target-role",
            RawParams {
                account_id: Some("123456789012".into()),
                target_account: Some("210987654321".into()),
                iam_path: Some("/chained/".into()),
                ..docs()
            },
        ),
    ]
}

/// Renders every artifact for `raw`, panicking on any error.
pub fn render(raw: &RawParams) -> Vec<Rendered> {
    let model = Model::from_raw(raw).expect("fixture parameters are valid");
    bundle::render(&model, &bundle::for_model(&model)).expect("fixture renders")
}
