//! Bindings: the (cluster, namespace, service account) workloads one role
//! admits. The first is `--cluster`/`--namespace`/`--service-account`, the
//! workload SkyPilot runs as; more come from `--bind NAMESPACE:SERVICE_ACCOUNT`
//! or a params file's `bindings:`, each key defaulting to the top-level value.

use serde::Serialize;

use crate::error::Violation;
use crate::input::params::RawBinding;
use crate::input::partition::Region;
use crate::input::rules;
use crate::input::values::{Cluster, Method, OidcProvider};

/// A namespace or service account name; under IRSA, a binding after the
/// first may also be a pattern, where `*` matches any run of characters and
/// `?` exactly one (IAM's `StringLike`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Checks `value` against `rule`, reading each `*` and `?` as a letter.
    fn parse(value: &str, rule: fn(&str) -> rules::RuleResult) -> Result<Name, String> {
        rule(&value.replace(['*', '?'], "a"))?;
        Ok(Name(value.to_owned()))
    }

    /// The name or pattern.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it holds `*` or `?`.
    pub fn is_pattern(&self) -> bool {
        self.0.contains(['*', '?'])
    }

    /// Whether it is nothing but wildcards, matching every name.
    fn matches_all(&self) -> bool {
        self.0.contains('*') && self.0.chars().all(|c| c == '*' || c == '?')
    }
}

/// `system:serviceaccount:<namespace>:<service account>`, an IRSA token's subject.
pub fn subject(namespace: &str, service_account: &str) -> String {
    format!("system:serviceaccount:{namespace}:{service_account}")
}

/// One workload the role admits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The EKS cluster.
    pub cluster: Cluster,
    /// The namespace, or a pattern (IRSA).
    pub namespace: Name,
    /// The service account, or a pattern (IRSA).
    pub service_account: Name,
    /// The cluster's OIDC provider (IRSA).
    pub oidc: Option<OidcProvider>,
}

impl Binding {
    /// `system:serviceaccount:<namespace>:<service account>`, the IRSA token subject.
    pub fn subject(&self) -> String {
        subject(self.namespace.as_str(), self.service_account.as_str())
    }

    /// Whether the namespace or service account is a pattern.
    pub fn is_pattern(&self) -> bool {
        self.namespace.is_pattern() || self.service_account.is_pattern()
    }

    /// `namespace:service-account`, as `--bind` takes it.
    pub fn pair(&self) -> String {
        format!(
            "{}:{}",
            self.namespace.as_str(),
            self.service_account.as_str()
        )
    }

    /// What a pattern binding admits, in words (plain text; callers escape).
    pub fn admits(&self) -> String {
        let part = |name: &Name, what: &str| match (name.matches_all(), name.is_pattern()) {
            (true, _) => format!("every {what}"),
            (false, true) => format!("every {what} whose name matches {}", name.as_str()),
            (false, false) => format!("the {what} {}", name.as_str()),
        };
        format!(
            "{} in {} of cluster {}",
            part(&self.service_account, "service account"),
            part(&self.namespace, "namespace"),
            self.cluster.as_str()
        )
    }
}

/// The top-level values a binding's missing keys take.
pub struct Defaults<'a> {
    /// The first binding: `--cluster`, `--namespace`, `--service-account`, `--oidc-issuer`.
    pub first: &'a Binding,
    /// The region, which every cluster's issuer host names.
    pub region: Option<&'a Region>,
    /// The method, which decides whether patterns and issuers are allowed.
    pub method: Option<Method>,
}

/// A problem with one key of one binding: key, value, rule.
type Problem = (&'static str, Option<String>, String);

/// Every binding after the first, checked; violations name `bindings[i].key`.
pub fn parse(
    raw: &[RawBinding],
    defaults: &Defaults,
    violations: &mut Vec<Violation>,
) -> Vec<Binding> {
    let mut bindings: Vec<Binding> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let mut problems = Vec::new();
        if let Some(binding) = one(r, defaults, &bindings, &mut problems) {
            let again = std::iter::once(defaults.first)
                .chain(&bindings)
                .any(|b| same_workload(b, &binding));
            if again {
                problems.push((
                    "",
                    Some(binding.pair()),
                    format!(
                        "is bound on cluster {} already; give each binding once (the first is --namespace and --service-account)",
                        binding.cluster.as_str()
                    ),
                ));
            }
            bindings.push(binding);
        }
        violations.extend(problems.into_iter().map(|(key, value, rule)| {
            let field = match key {
                "" => format!("bindings[{i}]"),
                key => format!("bindings[{i}].{key}"),
            };
            Violation::new(field, value.as_deref(), rule)
        }));
    }
    bindings
}

/// One binding with its missing keys filled in, or `None` when a key is bad.
/// `earlier` are the bindings before it: a cluster's issuer given once
/// serves every later binding on that cluster.
fn one(
    r: &RawBinding,
    defaults: &Defaults,
    earlier: &[Binding],
    problems: &mut Vec<Problem>,
) -> Option<Binding> {
    let first = defaults.first;
    let mut checked =
        |key: &'static str, value: Option<&String>, parse: &dyn Fn(&str) -> Result<(), String>| {
            let value = value?;
            match parse(value) {
                Ok(()) => Some(value.clone()),
                Err(rule) => {
                    problems.push((key, Some(value.clone()), rule));
                    None
                }
            }
        };
    let cluster = checked("cluster", r.cluster.as_ref(), &|v| {
        Cluster::parse(v).map(|_| ())
    });
    let namespace = checked("namespace", r.namespace.as_ref(), &|v| {
        Name::parse(v, rules::namespace).map(|_| ())
    });
    let service_account = checked("service_account", r.service_account.as_ref(), &|v| {
        Name::parse(v, rules::service_account).map(|_| ())
    });
    let issuer = checked("oidc_issuer", r.oidc_issuer.as_ref(), &|v| {
        OidcProvider::parse(v, defaults.region).map(|_| ())
    });
    let bad = |given: &Option<String>, kept: &Option<String>| given.is_some() && kept.is_none();
    if bad(&r.cluster, &cluster)
        || bad(&r.namespace, &namespace)
        || bad(&r.service_account, &service_account)
        || bad(&r.oidc_issuer, &issuer)
    {
        return None;
    }
    let cluster = match cluster {
        Some(c) => Cluster::parse(&c).ok()?,
        None => first.cluster.clone(),
    };
    let oidc = match issuer {
        Some(v) => OidcProvider::parse(&v, defaults.region).ok(),
        None => std::iter::once(first)
            .chain(earlier)
            .find(|b| b.cluster == cluster && b.oidc.is_some())
            .and_then(|b| b.oidc.clone()),
    };
    let binding = Binding {
        cluster,
        namespace: namespace.map_or_else(|| first.namespace.clone(), Name),
        service_account: service_account.map_or_else(|| first.service_account.clone(), Name),
        oidc,
    };
    problems.extend(
        rules_for(&binding, defaults)
            .into_iter()
            .map(|(key, rule)| {
                let value = if key.is_empty() {
                    Some(binding.pair())
                } else {
                    None
                };
                (key, value, rule)
            }),
    );
    Some(binding)
}

fn same_workload(a: &Binding, b: &Binding) -> bool {
    a.cluster == b.cluster && a.namespace == b.namespace && a.service_account == b.service_account
}

/// The rules across a binding's keys and the method.
fn rules_for(binding: &Binding, defaults: &Defaults) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    if binding.is_pattern() && defaults.method.is_some_and(Method::pod_identity) {
        problems.push(("", "holds '*' or '?': a Pod Identity association names one namespace and one service account, so wildcards work only with --method irsa".to_owned()));
    }
    if binding.namespace.matches_all() && binding.service_account.matches_all() {
        problems.push(("", format!(
            "would admit every service account of cluster {}; name the namespace or the service account",
            binding.cluster.as_str()
        )));
    }
    if defaults.method.is_some_and(Method::irsa)
        && binding.oidc.is_none()
        && binding.cluster != defaults.first.cluster
    {
        problems.push(("oidc_issuer", format!(
            "is required for cluster {}: IRSA trusts each cluster's own OIDC provider (find it with: aws eks describe-cluster --name {} --region {} --query cluster.identity.oidc.issuer --output text)",
            binding.cluster.as_str(),
            binding.cluster.as_str(),
            defaults.region.map_or("REGION", |r| r.as_str())
        )));
    }
    problems
}

/// Rules across all bindings: one issuer per cluster and one cluster per issuer.
pub fn issuers_agree(all: &[Binding], violations: &mut Vec<Violation>) {
    for (i, b) in all.iter().enumerate() {
        for a in &all[..i] {
            let (Some(x), Some(y)) = (&a.oidc, &b.oidc) else {
                continue;
            };
            let rule = match (a.cluster == b.cluster, x == y) {
                (true, false) => format!(
                    "cluster {} has one OIDC issuer, but the bindings give it two: {} and {}",
                    b.cluster.as_str(),
                    x.issuer_url(),
                    y.issuer_url()
                ),
                (false, true) => format!(
                    "clusters {} and {} cannot share the issuer {}: each cluster has an OIDC issuer of its own",
                    a.cluster.as_str(),
                    b.cluster.as_str(),
                    y.issuer_url()
                ),
                _ => continue,
            };
            violations.push(Violation::new(
                format!("bindings[{}].oidc_issuer", i.saturating_sub(1)),
                Some(&y.issuer_url()),
                rule,
            ));
        }
    }
}

/// The first binding's names, checked as exact names (SkyPilot runs as it).
pub fn first_names(namespace: &str, service_account: &str) -> (Name, Name) {
    (Name(namespace.to_owned()), Name(service_account.to_owned()))
}
