//! The validated model: every parameter checked against its rule and typed.
//!
//! [`Model::from_raw`] checks every field and reports every violation at
//! once; nothing downstream of the model sees a raw string.

use crate::error::{Error, Violation};
use crate::input::access::{KmsKey, Level, MountMode, Prefix};
use crate::input::accounts::{self, Accounts};
use crate::input::bindings::{self, Binding};
use crate::input::names::{self, DEFAULT_NAMESPACE, DEFAULT_SERVICE_ACCOUNT, Derived};
use crate::input::params::RawParams;
use crate::input::partition::Region;
use crate::input::role::{self, Tag, Trust};

pub use crate::input::values::{
    AccountId, Agent, Bucket, Cluster, KubeContext, Method, Namespace, OidcProvider, PolicyName,
    RoleName, ServiceAccount, TfName,
};

/// The validated parameters.
#[derive(Debug, Clone)]
pub struct Model {
    /// EKS cluster.
    pub cluster: Cluster,
    /// AWS region, and with it the partition.
    pub region: Region,
    /// The first S3 bucket: it names the role and policy, and SkyPilot mounts it.
    pub bucket: Bucket,
    /// Every S3 bucket, the first one included, without duplicates.
    pub buckets: Vec<Bucket>,
    /// Kubernetes namespace.
    pub namespace: Namespace,
    /// Kubernetes service account.
    pub service_account: ServiceAccount,
    /// kubeconfig context, if one was given.
    pub kube_context: Option<KubeContext>,
    /// AWS account id, if one was given.
    pub account_id: Option<AccountId>,
    /// The buckets' account and the target role's, when not the cluster's.
    pub accounts: Accounts,
    /// Pod Identity or IRSA.
    pub method: Method,
    /// The cluster's OIDC provider, if one was given.
    pub oidc: Option<OidcProvider>,
    /// IAM policy name.
    pub policy_name: PolicyName,
    /// IAM role name.
    pub role_name: RoleName,
    /// Read-write or read-only.
    pub access: Level,
    /// SkyPilot mount mode of the test task.
    pub mount_mode: MountMode,
    /// Whether `s3:AbortMultipartUpload` is granted.
    pub multipart_cleanup: bool,
    /// Whether regions outside podiam's list were accepted (`--allow-unlisted-region`).
    pub allow_unlisted_region: bool,
    /// Key prefixes objects are limited to; empty means the whole bucket.
    pub prefixes: Vec<Prefix>,
    /// The KMS keys of SSE-KMS buckets, without duplicates.
    pub kms_keys: Vec<KmsKey>,
    /// How the Pod Identity trust is pinned.
    pub trust: Trust,
    /// Permissions boundary ARN for the role.
    pub permissions_boundary: Option<String>,
    /// IAM path of the role and policy.
    pub iam_path: String,
    /// The role's maximum session duration in seconds.
    pub max_session_duration: u32,
    /// Tags on the role and policy.
    pub tags: Vec<Tag>,
    /// Terraform name for addresses, variables and outputs.
    pub tf_name: TfName,
    /// How the Pod Identity agent add-on is handled.
    pub pod_identity_agent: Agent,
    /// Every workload the role admits; the first is `cluster`, `namespace`,
    /// `service_account` and `oidc`, the one SkyPilot runs as.
    pub bindings: Vec<Binding>,
    /// The trust policy length quota in characters (IAM's default unless raised).
    pub trust_quota: usize,
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

    fn each<T>(
        &mut self,
        field: &'static str,
        values: &[String],
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        values
            .iter()
            .filter_map(|v| self.optional(field, Some(v), &parse))
            .collect()
    }

    fn rule(&mut self, field: &'static str, value: Option<&str>, rule: impl Into<String>) {
        self.violations.push(Violation::new(field, value, rule));
    }
}

/// A value that is present whenever no violation was recorded.
fn present<T>(value: Option<T>, field: &str) -> Result<T, Error> {
    value.ok_or_else(|| {
        Error::Invalid(vec![Violation::new(
            "internal",
            Some(field),
            "a value was missing without a reported violation (a bug in podiam)",
        )])
    })
}

impl Model {
    /// Validates every raw parameter, reporting all violations at once.
    ///
    /// The rendered policies' size limits are checked after this, by
    /// [`crate::iam::limits::check_limits`]: they need the documents.
    pub fn from_raw(raw: &RawParams) -> Result<Model, Error> {
        let mut c = Checker::default();
        let cluster = c.required(
            "cluster",
            "give --cluster or set EKS_CLUSTER_NAME",
            raw.cluster.as_deref(),
            Cluster::parse,
        );
        let allow_unlisted = raw.allow_unlisted_region.unwrap_or(false);
        let region = c.required(
            "region",
            "give --region or set AWS_REGION",
            raw.region.as_deref(),
            |v| {
                let region = Region::parse(v)?;
                if allow_unlisted {
                    Ok(region)
                } else {
                    region.listed()
                }
            },
        );
        let buckets = buckets(&mut c, raw.bucket.as_deref().unwrap_or_default());
        let namespace = c.optional(
            "namespace",
            Some(raw.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE)),
            Namespace::parse,
        );
        let sa = raw
            .service_account
            .as_deref()
            .unwrap_or(DEFAULT_SERVICE_ACCOUNT);
        let service_account = c.optional("service-account", Some(sa), ServiceAccount::parse);
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
        let first = buckets.first().map(|b| b.as_str().to_owned());
        let policy_name = c
            .optional("policy-name", raw.policy_name.as_deref(), PolicyName::parse)
            .or_else(|| {
                default_name(&first, names::POLICY_PREFIX, names::POLICY_MAX)
                    .and_then(|n| PolicyName::parse(&n).ok())
            });
        let role_name = c
            .optional("role-name", raw.role_name.as_deref(), RoleName::parse)
            .or_else(|| {
                default_name(&first, names::ROLE_PREFIX, names::ROLE_MAX)
                    .and_then(|n| RoleName::parse(&n).ok())
            });
        let mount_mode = c.optional(
            "mount-mode",
            Some(
                raw.mount_mode
                    .as_deref()
                    .unwrap_or(MountMode::default_for(has_prefix(raw)).as_str()),
            ),
            MountMode::parse,
        );
        let default_level = mount_mode
            .map_or(Level::ReadWrite, Level::default_for)
            .as_str();
        let access = c.optional(
            "access",
            Some(raw.access.as_deref().unwrap_or(default_level)),
            Level::parse,
        );
        let prefixes = c.each(
            "prefix",
            raw.prefix.as_deref().unwrap_or_default(),
            Prefix::parse,
        );
        once_each(&mut c, &prefixes);
        let kms_keys = kms_keys(&mut c, raw, region.as_ref());
        let accounts = accounts::parse(
            accounts::Given {
                bucket_account: raw.bucket_account.as_deref(),
                target_account: raw.target_account.as_deref(),
            },
            &accounts::Context {
                account_id: account_id.as_ref(),
                method,
                kms_keys: &kms_keys,
                trust_minimal: raw.trust_minimal.unwrap_or(false),
            },
            &mut c.violations,
            &mut notices,
        );
        let permissions_boundary = c.optional(
            "permissions-boundary",
            raw.permissions_boundary.as_deref(),
            |v| role::boundary(v, region.as_ref()),
        );
        let iam_path = c.optional(
            "iam-path",
            Some(raw.iam_path.as_deref().unwrap_or("/")),
            role::path,
        );
        let max_session_duration = c.optional(
            "max-session-duration",
            Some(raw.max_session_duration.as_deref().unwrap_or("3600")),
            role::max_session_duration,
        );
        let tags = tags(&mut c, raw.tag.as_deref().unwrap_or_default());
        mode_rules(&mut c, raw, mount_mode, access);
        let trust = trust(&mut c, raw, method, account_id.is_some());
        let tf_name = c
            .optional("tf-name", raw.tf_name.as_deref(), TfName::parse)
            .or_else(|| {
                let name =
                    names::tf_default(buckets.first()?.as_str(), namespace.as_ref()?.as_str());
                TfName::parse(&name).ok()
            });
        let pod_identity_agent = c.optional(
            "pod-identity-agent",
            Some(raw.pod_identity_agent.as_deref().unwrap_or("create")),
            Agent::parse,
        );
        let trust_quota = c.optional(
            "trust-policy-quota",
            raw.trust_policy_quota.as_deref(),
            crate::input::rules::trust_quota,
        );
        let bindings = match (&cluster, &namespace, &service_account) {
            (Some(cluster), Some(ns), Some(sa)) => {
                let (namespace, service_account) = bindings::first_names(ns.as_str(), sa.as_str());
                let first = Binding {
                    cluster: cluster.clone(),
                    namespace,
                    service_account,
                    oidc: oidc.clone(),
                };
                let defaults = bindings::Defaults {
                    first: &first,
                    region: region.as_ref(),
                    method,
                };
                let more = bindings::parse(
                    raw.bindings.as_deref().unwrap_or_default(),
                    &defaults,
                    &mut c.violations,
                );
                let all: Vec<Binding> = std::iter::once(first).chain(more).collect();
                bindings::issuers_agree(&all, &mut c.violations);
                all
            }
            _ => Vec::new(),
        };
        if !c.violations.is_empty() {
            return Err(Error::Invalid(c.violations));
        }
        let buckets_ok = present(buckets.first().cloned(), "bucket")?;
        let mut model = Model {
            cluster: present(cluster, "cluster")?,
            region: present(region, "region")?,
            bucket: buckets_ok,
            buckets,
            namespace: present(namespace, "namespace")?,
            service_account: present(service_account, "service-account")?,
            kube_context,
            account_id,
            accounts,
            method: present(method, "method")?,
            oidc,
            policy_name: present(policy_name, "policy-name")?,
            role_name: present(role_name, "role-name")?,
            access: present(access, "access")?,
            mount_mode: present(mount_mode, "mount-mode")?,
            multipart_cleanup: raw.multipart_cleanup.unwrap_or(false),
            prefixes,
            kms_keys,
            allow_unlisted_region: allow_unlisted,
            trust,
            permissions_boundary,
            iam_path: present(iam_path, "iam-path")?,
            max_session_duration: present(max_session_duration, "max-session-duration")?,
            tags,
            tf_name: present(tf_name, "tf-name")?,
            pod_identity_agent: present(pod_identity_agent, "pod-identity-agent")?,
            bindings,
            trust_quota: trust_quota.unwrap_or(crate::input::rules::TRUST_QUOTA_DEFAULT),
            notices,
        };
        model.add_method_notices(raw);
        Ok(model)
    }

    fn add_method_notices(&mut self, raw: &RawParams) {
        let bucket = self.bucket.as_str();
        let shortened = [
            (
                self.policy_name.as_str(),
                names::POLICY_PREFIX,
                names::POLICY_MAX,
            ),
            (self.role_name.as_str(), names::ROLE_PREFIX, names::ROLE_MAX),
        ]
        .map(|(name, prefix, max)| shortened_note(name, bucket, prefix, max));
        self.notices.extend(shortened.into_iter().flatten());
        if self.allow_unlisted_region {
            let unlisted: Vec<&str> = std::iter::once(self.region.as_str())
                .filter(|_| !self.region.is_listed())
                .chain(
                    self.kms_keys
                        .iter()
                        .filter(|k| !k.region_is_listed())
                        .map(|k| k.region()),
                )
                .collect();
            if !unlisted.is_empty() {
                self.notices.push(format!("--allow-unlisted-region: podiam's region list does not hold {}; check the name, since a typo renders policies that match nothing", unlisted.join(", ")));
            }
        }
        if !self.prefixes.is_empty() {
            self.notices.push(format!("--prefix: SkyPilot mounts only whole buckets (MOUNT and MOUNT_CACHED refuse a sub-path), so the test task copies the prefix with COPY and the role is {}", self.access.as_str()));
        }
        if self.trust.source_arn {
            self.notices.push("--trust-source-arn adds ArnLike aws:SourceArn on the cluster's Pod Identity associations; one report has this condition breaking Mountpoint for S3 credentials, so test it before relying on it".into());
        }
        if self.method.pod_identity() && self.trust.minimal {
            self.notices.push("--trust-minimal: any Pod Identity association in the account that names this role can use it".into());
        }
        if self.method == Method::Irsa && self.pod_identity_agent != Agent::Create {
            self.notices.push(
                "pod-identity-agent is only used by --method pod-identity; it is ignored for irsa"
                    .into(),
            );
        }
        let binding_issuer = raw
            .bindings
            .iter()
            .flatten()
            .any(|b| b.oidc_issuer.is_some());
        if self.method == Method::PodIdentity && (raw.oidc_issuer.is_some() || binding_issuer) {
            self.notices.push(
                "oidc-issuer is only used by --method irsa; it is ignored for pod-identity".into(),
            );
        }
        if self.method.pod_identity()
            && self.region.partition() == crate::input::partition::Partition::AwsCn
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

/// A model of cluster `c` in `us-west-2` for `bucket`, with `extra`'s other fields (unit tests).
#[cfg(test)]
pub fn test_model(bucket: &str, extra: RawParams) -> Model {
    let raw = RawParams {
        cluster: Some("c".into()),
        region: Some("us-west-2".into()),
        bucket: Some(vec![bucket.into()]),
        ..extra
    };
    Model::from_raw(&raw).expect("valid")
}

/// Refuses a key prefix given twice, `data` and `data/` included: both
/// would put the same ARN twice into the policy.
fn once_each(c: &mut Checker, prefixes: &[Prefix]) {
    for (i, p) in prefixes.iter().enumerate() {
        if prefixes[..i].iter().any(|q| q.as_str() == p.as_str()) {
            c.rule(
                "prefix",
                Some(p.as_str()),
                "is given twice (a trailing '/' does not make another prefix); give each prefix once",
            );
        }
    }
}

/// Every bucket, checked; at least one, no duplicates.
fn buckets(c: &mut Checker, values: &[String]) -> Vec<Bucket> {
    if values.is_empty() {
        c.rule(
            "bucket",
            None,
            "is required; give --bucket (repeat it for more buckets) or set S3_BUCKET",
        );
    }
    let buckets = c.each("bucket", values, Bucket::parse);
    for (i, b) in buckets.iter().enumerate() {
        if buckets[..i].contains(b) {
            c.rule("bucket", Some(b.as_str()), "each bucket may be given once");
        }
    }
    buckets
}

/// Whether any key prefix was given.
fn has_prefix(raw: &RawParams) -> bool {
    raw.prefix.as_ref().is_some_and(|p| !p.is_empty())
}

/// Rules across the mount mode, prefixes, access and multipart cleanup.
fn mode_rules(c: &mut Checker, raw: &RawParams, mode: Option<MountMode>, access: Option<Level>) {
    if let (true, Some(mode @ (MountMode::Mount | MountMode::MountCached))) =
        (has_prefix(raw), mode)
    {
        c.rule("mount-mode", Some(mode.as_str()), "cannot be combined with --prefix: SkyPilot's MOUNT and MOUNT_CACHED mount whole buckets only and refuse a sub-path source (StorageModeError); drop --mount-mode (the task then uses COPY) or drop --prefix");
    }
    if raw.multipart_cleanup == Some(true) && access == Some(Level::ReadOnly) {
        c.rule("multipart-cleanup", None, "cannot be combined with read-only access (given by --access read-only, or implied by --mount-mode COPY or --prefix): s3:AbortMultipartUpload is a write action; give --access read-write or drop --multipart-cleanup");
    }
}

/// Every KMS key, checked; no duplicates.
fn kms_keys(c: &mut Checker, raw: &RawParams, region: Option<&Region>) -> Vec<KmsKey> {
    let allow = raw.allow_unlisted_region.unwrap_or(false);
    let keys = c.each("kms-key", raw.kms_key.as_deref().unwrap_or_default(), |v| {
        KmsKey::parse(v, region, allow)
    });
    for (i, k) in keys.iter().enumerate() {
        if keys[..i].contains(k) {
            c.rule("kms-key", Some(k.as_str()), "each key may be given once");
        }
    }
    keys
}

/// Every tag, checked; keys unique (case-insensitively, as IAM compares them), at most 50.
fn tags(c: &mut Checker, values: &[String]) -> Vec<Tag> {
    let tags = c.each("tag", values, Tag::parse);
    for (i, t) in tags.iter().enumerate() {
        if tags[..i].iter().any(|o| o.key.eq_ignore_ascii_case(&t.key)) {
            c.rule("tag", Some(&t.key), "each tag key may be given once");
        }
    }
    if tags.len() > role::MAX_TAGS {
        c.rule(
            "tag",
            None,
            format!(
                "IAM allows at most {} tags; {} were given",
                role::MAX_TAGS,
                tags.len()
            ),
        );
    }
    tags
}

/// The trust pinning options, checked against the method and account id.
fn trust(c: &mut Checker, raw: &RawParams, method: Option<Method>, has_account: bool) -> Trust {
    let trust = Trust {
        minimal: raw.trust_minimal.unwrap_or(false),
        source_account: raw.trust_source_account.unwrap_or(false),
        source_arn: raw.trust_source_arn.unwrap_or(false),
    };
    let pinning = trust.source_account || trust.source_arn;
    if method == Some(Method::Irsa) && (pinning || trust.minimal) {
        c.rule("trust", None, "--trust-minimal, --trust-source-account and --trust-source-arn shape the Pod Identity trust; IRSA's trust is always pinned by :sub and :aud");
    }
    if trust.minimal && pinning {
        c.rule("trust", None, "--trust-minimal gives the docs page's unpinned statement; it cannot be combined with --trust-source-account or --trust-source-arn");
    }
    if pinning && !has_account {
        c.rule("account-id", None, "is required by --trust-source-account and --trust-source-arn; give --account-id or set AWS_ACCOUNT_ID");
    }
    trust
}

fn default_name(bucket: &Option<String>, prefix: &str, max: usize) -> Option<String> {
    Some(names::derive(prefix, bucket.as_deref()?, max).name)
}

/// The note for a name that is the docs page's default shortened to fit
/// IAM's limit, however it was given (derived, or written out as in a
/// bundle's `params.yaml`), so that both give the same REVIEW.md.
fn shortened_note(name: &str, bucket: &str, prefix: &str, max: usize) -> Option<String> {
    let Derived {
        name: derived,
        shortened_from,
    } = names::derive(prefix, bucket, max);
    let full = shortened_from.filter(|_| derived == name)?;
    Some(format!(
        "the default name {full:?} is over IAM's {max}-character limit; using {name:?} instead"
    ))
}
