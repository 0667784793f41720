//! Raw parameters as the user gave them: flags, environment variables or a
//! params file, merged by precedence (flag > env > file > default).
//!
//! Nothing here is trusted; [`crate::model`] validates every value.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::schemas::Schema;

/// Every parameter podiam takes, each still a raw, unvalidated string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParams {
    /// EKS cluster name (`EKS_CLUSTER_NAME`).
    pub cluster: Option<String>,
    /// AWS region (`AWS_REGION`).
    pub region: Option<String>,
    /// S3 bucket (`S3_BUCKET`).
    pub bucket: Option<String>,
    /// Kubernetes namespace (`K8S_NAMESPACE`).
    pub namespace: Option<String>,
    /// Kubernetes service account (`K8S_SERVICE_ACCOUNT`).
    pub service_account: Option<String>,
    /// kubeconfig context (`KUBE_CONTEXT`).
    pub kube_context: Option<String>,
    /// AWS account id (`AWS_ACCOUNT_ID`).
    pub account_id: Option<String>,
    /// `pod-identity` or `irsa`.
    pub method: Option<String>,
    /// EKS OIDC issuer URL or host/path (IRSA).
    pub oidc_issuer: Option<String>,
    /// IAM policy name (`IAM_POLICY_NAME`).
    pub policy_name: Option<String>,
    /// IAM role name (`IAM_ROLE_NAME`).
    pub role_name: Option<String>,
    /// Terraform identifier for addresses, variables and outputs (`PODIAM_TF_NAME`).
    pub tf_name: Option<String>,
}

impl RawParams {
    /// Fills every field this set lacks from `lower` (a lower-precedence source).
    pub fn or(self, lower: RawParams) -> RawParams {
        RawParams {
            cluster: self.cluster.or(lower.cluster),
            region: self.region.or(lower.region),
            bucket: self.bucket.or(lower.bucket),
            namespace: self.namespace.or(lower.namespace),
            service_account: self.service_account.or(lower.service_account),
            kube_context: self.kube_context.or(lower.kube_context),
            account_id: self.account_id.or(lower.account_id),
            method: self.method.or(lower.method),
            oidc_issuer: self.oidc_issuer.or(lower.oidc_issuer),
            policy_name: self.policy_name.or(lower.policy_name),
            role_name: self.role_name.or(lower.role_name),
            tf_name: self.tf_name.or(lower.tf_name),
        }
    }

    /// Reads a params file (YAML or JSON; `-` is standard input), checks it
    /// against `schemas/params.schema.json` and returns its values.
    pub fn from_file(path: &Path) -> Result<RawParams, Error> {
        let shown = path.display().to_string();
        let text = read_source(path).map_err(|source| Error::ParamsRead {
            path: shown.clone(),
            source,
        })?;
        let value: serde_json::Value =
            serde_yaml::from_str(&text).map_err(|e| Error::ParamsParse {
                path: shown.clone(),
                message: e.to_string(),
            })?;
        let problems = crate::schemas::check(Schema::Params, &value);
        if !problems.is_empty() {
            return Err(Error::ParamsSchema {
                path: shown,
                problems,
            });
        }
        serde_json::from_value(value).map_err(|e| Error::ParamsParse {
            path: shown,
            message: e.to_string(),
        })
    }
}

fn read_source(path: &Path) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_precedence_wins_and_gaps_fill_from_below() {
        let flags = RawParams {
            bucket: Some("flag".into()),
            ..RawParams::default()
        };
        let file = RawParams {
            bucket: Some("file".into()),
            region: Some("us-west-2".into()),
            ..RawParams::default()
        };
        let merged = flags.or(file);
        assert_eq!(merged.bucket.as_deref(), Some("flag"));
        assert_eq!(merged.region.as_deref(), Some("us-west-2"));
        assert_eq!(merged.cluster, None);
    }
}
