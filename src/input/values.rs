//! Validated values: each type can only be built by checking its rule, so a
//! value of one of these types is known to be good.

use serde::Serialize;

use crate::input::partition::Region;
use crate::input::rules;

macro_rules! checked_string {
    ($(#[$meta:meta])* $name:ident, $rule:path) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `value` against its rule.
            pub fn parse(value: &str) -> Result<Self, String> {
                $rule(value)?;
                Ok(Self(value.to_owned()))
            }

            /// The validated value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

checked_string!(/// An S3 general purpose bucket name.
    Bucket, rules::bucket);
checked_string!(/// An EKS cluster name.
    Cluster, rules::cluster);
checked_string!(/// A Kubernetes namespace.
    Namespace, rules::namespace);
checked_string!(/// A Kubernetes service account name.
    ServiceAccount, rules::service_account);
checked_string!(/// A kubeconfig context name.
    KubeContext, rules::kube_context);
checked_string!(/// A 12-digit AWS account id.
    AccountId, rules::account_id);
checked_string!(/// An IAM role name.
    RoleName, rules::role_name);
checked_string!(/// An IAM managed policy name.
    PolicyName, rules::policy_name);
checked_string!(/// A Terraform identifier that names addresses, variables and outputs.
    TfName, rules::tf_name);

/// How pods get the role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// EKS Pod Identity (the docs page's recommendation).
    PodIdentity,
    /// IAM roles for service accounts, through the cluster's OIDC provider.
    Irsa,
    /// Both at once: the migration from IRSA to Pod Identity.
    Both,
}

impl Method {
    /// Parses `pod-identity` or `irsa`.
    pub fn parse(value: &str) -> Result<Method, String> {
        match value {
            "pod-identity" => Ok(Method::PodIdentity),
            "irsa" => Ok(Method::Irsa),
            "both" => Ok(Method::Both),
            _ => Err("the method is 'pod-identity', 'irsa' or 'both' (IRSA and Pod Identity at once, to migrate)".into()),
        }
    }

    /// The method's name as given on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::PodIdentity => "pod-identity",
            Method::Irsa => "irsa",
            Method::Both => "both",
        }
    }

    /// Whether the role trusts the cluster's OIDC provider (IRSA).
    pub fn irsa(self) -> bool {
        matches!(self, Method::Irsa | Method::Both)
    }

    /// Whether the role trusts EKS Pod Identity.
    pub fn pod_identity(self) -> bool {
        matches!(self, Method::PodIdentity | Method::Both)
    }
}

/// How the EKS Pod Identity Agent add-on is handled (Pod Identity only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agent {
    /// The scripts install it when missing and wait for ACTIVE; Terraform
    /// manages an `aws_eks_addon` (the docs page's Step 1).
    Create,
    /// It must exist: the scripts only check it, Terraform only looks it up.
    Existing,
}

impl Agent {
    /// Parses `create` or `existing`.
    pub fn parse(value: &str) -> Result<Agent, String> {
        match value {
            "create" => Ok(Agent::Create),
            "existing" => Ok(Agent::Existing),
            _ => Err("the Pod Identity agent is 'create' (install the add-on when missing) or 'existing' (only check it)".into()),
        }
    }

    /// The value as given on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Create => "create",
            Agent::Existing => "existing",
        }
    }
}

/// The cluster's OIDC provider: `oidc.eks.<region>.<suffix>/id/<ID>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    host: String,
    id: String,
}

impl OidcProvider {
    /// Parses the issuer URL (`https://…/id/<ID>`) or its host/path form,
    /// and checks that its host is the one for `region`.
    pub fn parse(value: &str, region: Option<&Region>) -> Result<OidcProvider, String> {
        const RULE: &str = "the OIDC issuer is 'https://oidc.eks.<region>.amazonaws.com[.cn]/id/<ID>' or the same without 'https://'";
        let rest = match value.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
            Some((scheme, _)) => {
                return Err(format!(
                    "the OIDC issuer must use https (IAM's OIDC providers are https only), not {scheme}://; {RULE}"
                ));
            }
            None => value,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, id) = rest.split_once("/id/").ok_or(RULE)?;
        // Host names are case-insensitive; IAM and EKS write them in lowercase.
        let host = host.to_ascii_lowercase();
        let host = host.as_str();
        rules::oidc_id(id)?;
        match region {
            Some(region) if host != region.oidc_host() => Err(format!(
                "the OIDC issuer host for region {} is {}",
                region.as_str(),
                region.oidc_host()
            )),
            None if !host.starts_with("oidc.eks.") => Err(RULE.into()),
            _ => Ok(OidcProvider {
                host: host.to_owned(),
                id: id.to_owned(),
            }),
        }
    }

    /// `host/id/ID`, the form IAM uses in provider ARNs and condition keys.
    pub fn provider(&self) -> String {
        format!("{}/id/{}", self.host, self.id)
    }

    /// The issuer URL.
    pub fn issuer_url(&self) -> String {
        format!("https://{}", self.provider())
    }

    /// The issuer id.
    pub fn id(&self) -> &str {
        &self.id
    }
}
