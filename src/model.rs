//! The validated model: every parameter checked against its rule and typed.
//!
//! [`Model::from_raw`] checks every field and reports every violation at
//! once; nothing downstream of the model sees a raw string.

use serde::Serialize;

use crate::error::{Error, Violation};
use crate::names::{self, Derived};
use crate::params::RawParams;
use crate::partition::Region;
use crate::rules;

/// SkyPilot's default Kubernetes service account.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "skypilot-service-account";
/// The namespace used when none is given.
pub const DEFAULT_NAMESPACE: &str = "default";

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
}

impl Method {
    /// Parses `pod-identity` or `irsa`.
    pub fn parse(value: &str) -> Result<Method, String> {
        match value {
            "pod-identity" => Ok(Method::PodIdentity),
            "irsa" => Ok(Method::Irsa),
            _ => Err("the method is 'pod-identity' or 'irsa'".into()),
        }
    }

    /// The method's name as given on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::PodIdentity => "pod-identity",
            Method::Irsa => "irsa",
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
        let rest = value.strip_prefix("https://").unwrap_or(value);
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, id) = rest.split_once("/id/").ok_or(RULE)?;
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

/// The validated parameters.
#[derive(Debug, Clone)]
pub struct Model {
    /// EKS cluster.
    pub cluster: Cluster,
    /// AWS region, and with it the partition.
    pub region: Region,
    /// S3 bucket.
    pub bucket: Bucket,
    /// Kubernetes namespace.
    pub namespace: Namespace,
    /// Kubernetes service account.
    pub service_account: ServiceAccount,
    /// kubeconfig context, if one was given.
    pub kube_context: Option<KubeContext>,
    /// AWS account id, if one was given.
    pub account_id: Option<AccountId>,
    /// Pod Identity or IRSA.
    pub method: Method,
    /// The cluster's OIDC provider, if one was given.
    pub oidc: Option<OidcProvider>,
    /// IAM policy name.
    pub policy_name: PolicyName,
    /// IAM role name.
    pub role_name: RoleName,
    /// Terraform name for addresses, variables and outputs.
    pub tf_name: TfName,
    /// Things the user should know about how the parameters were read.
    pub notices: Vec<String>,
}

/// Collects violations while fields are checked.
#[derive(Default)]
struct Checker {
    violations: Vec<Violation>,
}

impl Checker {
    fn optional<T>(
        &mut self,
        field: &'static str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = value?;
        parse(value)
            .map_err(|rule| {
                self.violations
                    .push(Violation::new(field, Some(value), rule))
            })
            .ok()
    }

    fn required<T>(
        &mut self,
        field: &'static str,
        hint: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        if value.is_none() {
            self.violations
                .push(Violation::new(field, None, format!("is required; {hint}")));
        }
        self.optional(field, value, parse)
    }
}

impl Model {
    /// Validates every raw parameter, reporting all violations at once.
    pub fn from_raw(raw: &RawParams) -> Result<Model, Error> {
        let mut c = Checker::default();
        let cluster = c.required(
            "cluster",
            "give --cluster or set EKS_CLUSTER_NAME",
            raw.cluster.as_deref(),
            Cluster::parse,
        );
        let region = c.required(
            "region",
            "give --region or set AWS_REGION",
            raw.region.as_deref(),
            Region::parse,
        );
        let bucket = c.required(
            "bucket",
            "give --bucket or set S3_BUCKET",
            raw.bucket.as_deref(),
            Bucket::parse,
        );
        let namespace = c.optional(
            "namespace",
            Some(raw.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)),
            Namespace::parse,
        );
        let service_account = c.optional(
            "service-account",
            Some(
                raw.service_account
                    .as_deref()
                    .unwrap_or(DEFAULT_SERVICE_ACCOUNT),
            ),
            ServiceAccount::parse,
        );
        let kube_context = c.optional(
            "kube-context",
            raw.kube_context.as_deref(),
            KubeContext::parse,
        );
        let account_id = c.optional("account-id", raw.account_id.as_deref(), AccountId::parse);
        let method = c.optional(
            "method",
            Some(raw.method.as_deref().unwrap_or("pod-identity")),
            Method::parse,
        );
        let oidc = c.optional("oidc-issuer", raw.oidc_issuer.as_deref(), |v| {
            OidcProvider::parse(v, region.as_ref())
        });
        let mut notices = Vec::new();
        let bucket_name = bucket.as_ref().map(|b| b.as_str().to_owned());
        let policy_name = c.optional("policy-name", raw.policy_name.as_deref(), PolicyName::parse);
        let role_name = c.optional("role-name", raw.role_name.as_deref(), RoleName::parse);
        let policy_name = policy_name.or_else(|| {
            default_name(
                &bucket_name,
                names::POLICY_PREFIX,
                names::POLICY_MAX,
                &mut notices,
            )
            .and_then(|n| PolicyName::parse(&n).ok())
        });
        let role_name = role_name.or_else(|| {
            default_name(
                &bucket_name,
                names::ROLE_PREFIX,
                names::ROLE_MAX,
                &mut notices,
            )
            .and_then(|n| RoleName::parse(&n).ok())
        });
        let tf_name = c
            .optional("tf-name", raw.tf_name.as_deref(), TfName::parse)
            .or_else(|| {
                let name = crate::terraform::default_name(
                    bucket.as_ref()?.as_str(),
                    namespace.as_ref()?.as_str(),
                );
                TfName::parse(&name).ok()
            });
        match (
            cluster,
            region,
            bucket,
            namespace,
            service_account,
            method,
            policy_name,
            role_name,
            tf_name,
        ) {
            (
                Some(cluster),
                Some(region),
                Some(bucket),
                Some(namespace),
                Some(service_account),
                Some(method),
                Some(policy_name),
                Some(role_name),
                Some(tf_name),
            ) if c.violations.is_empty() => {
                let mut model = Model {
                    cluster,
                    region,
                    bucket,
                    namespace,
                    service_account,
                    kube_context,
                    account_id,
                    method,
                    oidc,
                    policy_name,
                    role_name,
                    tf_name,
                    notices,
                };
                model.add_method_notices(raw);
                Ok(model)
            }
            _ => Err(Error::Invalid(c.violations)),
        }
    }

    fn add_method_notices(&mut self, raw: &RawParams) {
        if self.method == Method::PodIdentity && raw.oidc_issuer.is_some() {
            self.notices.push(
                "oidc-issuer is only used by --method irsa; it is ignored for pod-identity".into(),
            );
        }
        if self.method == Method::PodIdentity
            && self.region.partition() == crate::partition::Partition::AwsCn
        {
            self.notices.push(format!(
                "EKS Pod Identity may not be offered in China regions ({}); check before applying, or use --method irsa",
                self.region.as_str()
            ));
        }
    }

    /// Whether the namespace is Kubernetes' `default`.
    pub fn default_namespace(&self) -> bool {
        self.namespace.as_str() == DEFAULT_NAMESPACE
    }

    /// Whether the service account is SkyPilot's default one.
    pub fn default_service_account(&self) -> bool {
        self.service_account.as_str() == DEFAULT_SERVICE_ACCOUNT
    }
}

fn default_name(
    bucket: &Option<String>,
    prefix: &str,
    max: usize,
    notices: &mut Vec<String>,
) -> Option<String> {
    let Derived {
        name,
        shortened_from,
    } = names::derive(prefix, bucket.as_deref()?, max);
    if let Some(full) = shortened_from {
        notices.push(format!(
            "the default name {full:?} is over IAM's {max}-character limit; using {name:?} instead"
        ));
    }
    Some(name)
}
