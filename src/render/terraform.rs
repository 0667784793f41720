//! The Terraform artifacts' part of the template context: the names of
//! addresses, variables and outputs for each form (module directory or single
//! file), and the policy documents with Terraform references in them.
//!
//! The documents come from the same builders as the JSON artifacts
//! ([`crate::iam::policy`]); only the values Terraform knows better (partition,
//! buckets, OIDC provider, cluster, namespace, service account, account id,
//! region, DNS suffix) are swapped for [`crate::formats::hclwrite::marker`]s, which the
//! `hcl_expr` filter writes as references. The buckets are one placeholder
//! that stands for each element of the bucket list ([`Each`]).
//!
//! A role with more bindings than the first ([`Bindings`]) gets a bindings
//! variable, and its trust statements are one statement per group, built by
//! the same builders with the group's references, that `for` expressions
//! over the bindings repeat; a single binding renders as it always did.

use serde::Serialize;
use serde_json::Value;

use crate::formats::hclwrite::{Each, Writer, holds};
use crate::iam::policy;
use crate::input::model::Model;
use crate::input::rules;
use crate::render::terraform_cross::{BucketOwner, TargetRole};
use crate::render::terraform_role::Role;
use crate::render::tf_refs::{Ref, replace_strings};

/// The EKS add-on that runs the Pod Identity agent.
pub const POD_IDENTITY_AGENT: &str = "eks-pod-identity-agent";
/// Lowest hashicorp/aws version with `disable_session_tags` on
/// `aws_eks_pod_identity_association` (CHANGELOG 6.2.0; 6.1.0 was withdrawn),
/// and with an optional `thumbprint_list`.
pub const AWS_PROVIDER: &str = ">= 6.2.0";
/// Lowest hashicorp/kubernetes version with `kubernetes_annotations`.
pub const KUBERNETES_PROVIDER: &str = ">= 2.10";
/// The name of resources and data sources in the module directory form.
const MODULE_NAME: &str = "this";
/// The alias of the target account's provider configuration in the module.
const TARGET_PROVIDER: &str = "target";
/// The `for` expression variable that stands for each bucket.
const EACH_BUCKET: &str = "bucket";
/// The `for` expression variable that stands for each trust statement group.
const EACH_GROUP: &str = "g";
/// The `for` expression variable that stands for each binding.
const EACH_BINDING: &str = "b";

/// Names of the locals per-bucket lists are hoisted into, by marker index.
const LOCALS: [(Ref, &str); 2] = [
    (Ref::BucketArns, "bucket_arns"),
    (Ref::ObjectArns, "object_arns"),
];

/// A per-bucket list, hoisted out of the policy into a `locals` entry.
#[derive(Debug, Serialize)]
pub struct Local {
    /// The local's name, with the form's prefix.
    pub name: String,
    /// Its HCL expression: a `for` expression over the bucket list.
    pub value: String,
}

/// The names one form uses.
#[derive(Debug, Serialize)]
pub struct Form {
    /// Name of every resource and data source (`this`, or the tf name).
    pub res: String,
    /// Prefix of variable, local and output names (empty, or `<tf name>_`).
    pub var: String,
    /// The expression each policy marker stands for, by index.
    pub refs: Vec<String>,
    /// The marker that stands for each bucket of the bucket list.
    pub each: Each,
    /// The per-bucket lists the policy names through locals.
    pub locals: Vec<Local>,
    /// The provider configuration of the target account (role chaining):
    /// `aws.target` in the module, `aws.<tf name>_target` in the single file.
    pub target_provider: String,
}

impl Form {
    fn new(res: &str, var: &str, target: &str, hoisted: &[(Ref, Value)]) -> Form {
        let refs = vec![
            format!("data.aws_partition.{res}.partition"),
            EACH_BUCKET.to_owned(),
            format!("local.{var}oidc_provider_arn"),
            format!("local.{var}oidc_provider"),
            format!("var.{var}namespace"),
            format!("var.{var}service_account"),
            format!("var.{var}cluster_name"),
            format!("data.aws_caller_identity.{res}.account_id"),
            // `id` is the region name in provider 5 and 6 (6 deprecates `name`).
            format!("data.aws_region.{res}.id"),
            format!("data.aws_partition.{res}.dns_suffix"),
            format!("join(\", \", var.{var}bucket_names)"),
            format!("local.{var}bucket_arns"),
            format!("local.{var}object_arns"),
            format!("{EACH_GROUP}.cluster_name"),
            format!("{EACH_GROUP}.namespace"),
            format!("{EACH_GROUP}.service_accounts"),
            format!("{EACH_GROUP}.provider_arn"),
            format!("{EACH_GROUP}.provider"),
            format!("{EACH_GROUP}.subjects"),
            format!("{EACH_BINDING}.namespace"),
            format!("{EACH_BINDING}.service_account"),
            format!("local.{var}trust_statements"),
            format!("local.{var}target_role_arn"),
            format!("aws_iam_role.{res}.arn"),
            format!("aws_eks_pod_identity_association.{res}.external_id"),
            format!("local.{var}target_external_ids"),
        ];
        let each = Each {
            index: Ref::Bucket as usize,
            name: EACH_BUCKET.to_owned(),
            list: format!("var.{var}bucket_names"),
        };
        let writer = Writer::new(&refs).with_each(Some(&each));
        let locals = hoisted
            .iter()
            .map(|(r, value)| Local {
                name: format!("{var}{}", local_name(*r)),
                // Only a malformed marker fails, and the parse-back check refuses the empty expression.
                value: writer.expression(value, 2).unwrap_or_default(),
            })
            .collect();
        Form {
            res: res.to_owned(),
            var: var.to_owned(),
            refs,
            each,
            locals,
            target_provider: format!("aws.{target}"),
        }
    }
}

fn local_name(r: Ref) -> &'static str {
    LOCALS
        .iter()
        .find(|(l, _)| *l as usize == r as usize)
        .map_or("", |(_, n)| n)
}

/// Replaces each list of per-bucket strings in `value` by the marker of its
/// local (`bucket_arns` for the bucket ARNs, `object_arns` for any other),
/// collecting the lists. A list that would give one local two different
/// values stays inline (written as a `for` expression).
fn hoist(value: &mut Value, bucket_arn: &str, found: &mut Vec<(Ref, Value)>) {
    let each = Ref::Bucket.marker();
    match value {
        Value::Array(items)
            if !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.as_str().is_some_and(|s| s.contains(&each))) =>
        {
            let is_bucket = matches!(items.as_slice(), [Value::String(s)] if s == bucket_arn);
            let r = if is_bucket {
                Ref::BucketArns
            } else {
                Ref::ObjectArns
            };
            match found.iter().find(|(f, _)| *f as usize == r as usize) {
                Some((_, v)) if v != value => {}
                Some(_) => *value = Value::String(r.marker()),
                None => {
                    found.push((r, value.clone()));
                    *value = Value::String(r.marker());
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| hoist(i, bucket_arn, found)),
        Value::Object(map) => map.values_mut().for_each(|v| hoist(v, bucket_arn, found)),
        _ => {}
    }
}

/// Everything the Terraform templates need beyond the common context.
#[derive(Debug, Serialize)]
pub struct Terraform {
    /// The validated Terraform name (`--tf-name`).
    pub name: String,
    /// Names in the module directory form (`terraform/*.tf`).
    pub module: Form,
    /// Names in the single-file form, all derived from the tf name.
    pub single: Form,
    /// The S3 permission policy, with markers.
    pub permission_policy: Value,
    /// The trust policy, with markers.
    pub trust_policy: Value,
    /// Every bucket name, the default of the bucket list variable.
    pub buckets: Vec<String>,
    /// Whether a document needs `data.aws_caller_identity` (IRSA always does).
    pub uses_account: bool,
    /// Whether a document needs `data.aws_region`.
    pub uses_region: bool,
    /// The role options and the descriptions that depend on the model.
    pub role: Role,
    /// The IRSA token audience.
    pub audience: &'static str,
    /// The Pod Identity agent add-on's name.
    pub agent_addon: &'static str,
    /// hashicorp/aws version constraint.
    pub aws_provider: &'static str,
    /// hashicorp/kubernetes version constraint.
    pub kubernetes_provider: &'static str,
    /// RE2 pattern matching the bucket prefixes and suffixes AWS reserves.
    pub bucket_reserved: String,
    /// The bindings after the first, when there are any.
    pub bindings: Option<Bindings>,
    /// The Pod Identity target role, when role chaining (`--target-account`).
    pub target: Option<TargetRole>,
    /// The bucket owner's module, when the buckets (or keys) are in another account.
    pub owner: Option<BucketOwner>,
}

/// What the Terraform needs for a role with more than one binding: the
/// bindings variable's default and the trust statements, one per OIDC
/// provider or (cluster, namespace) group, that `for` expressions over the
/// bindings repeat. Bindings are written `CLUSTER/NAMESPACE/SERVICE_ACCOUNT`
/// (no part can hold a `/`), which is also each association's key.
#[derive(Debug, Serialize)]
pub struct Bindings {
    /// Each binding after the first: the default of the bindings variable.
    pub extra: Vec<String>,
    /// Whether namespaces and service accounts may be patterns (IRSA alone).
    pub patterns: bool,
    /// A binding's IRSA token subject, with the binding's references.
    pub subject: Value,
    /// The IRSA statement of one OIDC provider whose subjects are all names.
    pub irsa_exact: Value,
    /// The IRSA statement of one OIDC provider with a pattern among its subjects.
    pub irsa_pattern: Value,
    /// The Pod Identity statement of one (cluster, namespace) group.
    pub pod_identity: Value,
    /// Whether Pod Identity has a statement per group (false: one for all, `--trust-minimal`).
    pub per_namespace: bool,
    /// Whether the trust statements depend on the bindings (not so for a minimal Pod Identity trust).
    pub trust: bool,
}

impl Bindings {
    /// The bindings part of the context, or `None` for a single binding.
    fn new(model: &Model, inputs: &policy::Inputs) -> Option<Bindings> {
        let extra = model.bindings.get(1..).filter(|e| !e.is_empty())?;
        let statements = |pattern: bool| {
            let mut group = inputs.clone();
            group.bindings = vec![policy::BindingInputs {
                cluster: Ref::GroupCluster.marker(),
                namespace: Ref::GroupNamespace.marker(),
                service_account: Ref::GroupAccounts.marker(),
                oidc: Some((Ref::GroupProviderArn.marker(), Ref::GroupProvider.marker())),
                pattern,
            }];
            let trust = crate::iam::trust::trust_policy_with(model, &group).unwrap_or_default();
            trust["Statement"].as_array().cloned().unwrap_or_default()
        };
        let (exact, pattern) = (statements(false), statements(true));
        let subject =
            policy::irsa_subject(&Ref::GroupNamespace.marker(), &Ref::GroupAccounts.marker());
        let irsa = |all: &[Value]| {
            let mut statement = all
                .first()
                .filter(|_| model.method.irsa())
                .cloned()
                .unwrap_or_default();
            replace_strings(&mut statement, &subject, &Ref::GroupSubjects.marker());
            statement
        };
        let pod_identity = exact
            .last()
            .filter(|_| model.method.pod_identity())
            .cloned()
            .unwrap_or_default();
        Some(Bindings {
            extra: extra
                .iter()
                .map(|b| {
                    format!(
                        "{}/{}/{}",
                        b.cluster.as_str(),
                        b.namespace.as_str(),
                        b.service_account.as_str()
                    )
                })
                .collect(),
            patterns: !model.method.pod_identity(),
            subject: Value::String(policy::irsa_subject(
                &Ref::BindingNamespace.marker(),
                &Ref::BindingAccount.marker(),
            )),
            irsa_exact: irsa(&exact),
            irsa_pattern: irsa(&pattern),
            pod_identity,
            per_namespace: !model.trust.minimal,
            trust: model.method.irsa() || !model.trust.minimal,
        })
    }
}

impl Terraform {
    /// Derives the Terraform context from a validated model.
    pub fn new(model: &Model) -> Terraform {
        let name = model.tf_name.as_str().to_owned();
        let inputs = markers(model);
        let bindings = Bindings::new(model, &inputs);
        let trust_policy = crate::iam::trust::trust_policy_with(model, &inputs).unwrap_or_default();
        let mut permission_policy = policy::permission_policy_with(model, &inputs);
        let uses =
            |r: Ref| holds(&permission_policy, &r.marker()) || holds(&trust_policy, &r.marker());
        let (uses_account, uses_region) = (uses(Ref::Account), uses(Ref::Region));
        let mut hoisted = Vec::new();
        let bucket_arn = policy::s3_arn(&inputs.partition, &Ref::Bucket.marker());
        hoist(&mut permission_policy, &bucket_arn, &mut hoisted);
        // With more bindings, the statements come from the bindings' `for`
        // expressions; the document above still says which data sources they use.
        let trust_policy = match &bindings {
            Some(b) if b.trust => serde_json::json!({
                "Version": policy::POLICY_VERSION,
                "Statement": Ref::Statements.marker(),
            }),
            _ => trust_policy,
        };
        let target = TargetRole::new(model, bindings.is_some());
        Terraform {
            module: Form::new(MODULE_NAME, "", TARGET_PROVIDER, &hoisted),
            single: Form::new(
                &name,
                &format!("{name}_"),
                &format!("{name}_{TARGET_PROVIDER}"),
                &hoisted,
            ),
            name,
            buckets: model
                .buckets
                .iter()
                .map(|b| b.as_str().to_owned())
                .collect(),
            // The target role trusts the cluster's account.
            uses_account: model.method.irsa() || uses_account || target.is_some(),
            uses_region,
            permission_policy,
            trust_policy,
            role: Role::new(model),
            audience: policy::IRSA_AUDIENCE,
            agent_addon: POD_IDENTITY_AGENT,
            aws_provider: AWS_PROVIDER,
            kubernetes_provider: KUBERNETES_PROVIDER,
            bucket_reserved: bucket_reserved(),
            bindings,
            target,
            owner: BucketOwner::new(model),
        }
    }
}

/// The policy inputs with Terraform references for every value Terraform
/// knows: the buckets become one placeholder for each element of the bucket
/// list, and the account id (when a document uses it), region and DNS suffix
/// come from data sources, so the module needs no account id.
fn markers(model: &Model) -> policy::Inputs {
    let mut inputs = policy::Inputs::of(model);
    inputs.partition = Ref::Partition.marker();
    inputs.region = Ref::Region.marker();
    inputs.dns_suffix = Ref::DnsSuffix.marker();
    inputs.buckets = vec![Ref::Bucket.marker()];
    inputs.cluster = Ref::Cluster.marker();
    inputs.namespace = Ref::Namespace.marker();
    inputs.service_account = Ref::ServiceAccount.marker();
    inputs.account = inputs.account.map(|_| Ref::Account.marker());
    inputs.oidc = Some((Ref::ProviderArn.marker(), Ref::Provider.marker()));
    if let Some(first) = inputs.bindings.first_mut() {
        first.cluster = Ref::Cluster.marker();
        first.namespace = Ref::Namespace.marker();
        first.service_account = Ref::ServiceAccount.marker();
        first.oidc.clone_from(&inputs.oidc);
    }
    inputs
}

/// `^(p1|p2|…)|(s1|s2|…)$` from [`rules::BUCKET_PREFIXES`] and
/// [`rules::BUCKET_SUFFIXES`], each `.` written `[.]`.
fn bucket_reserved() -> String {
    let alternatives = |items: &[&str]| {
        items
            .iter()
            .map(|i| i.replace('.', "[.]"))
            .collect::<Vec<_>>()
            .join("|")
    };
    format!(
        "^({})|({})$",
        alternatives(&rules::BUCKET_PREFIXES),
        alternatives(&rules::BUCKET_SUFFIXES)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_bucket_pattern_lists_every_rule() {
        assert_eq!(
            bucket_reserved(),
            "^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|[.]mrap|--x-s3|--table-s3)$"
        );
    }

    #[test]
    fn forms_name_every_reference() {
        let form = Form::new("s3_b", "s3_b_", "s3_b_target", &[]);
        assert_eq!(
            form.refs[Ref::Partition as usize],
            "data.aws_partition.s3_b.partition"
        );
        assert_eq!(
            form.refs[Ref::ServiceAccount as usize],
            "var.s3_b_service_account"
        );
        assert_eq!(form.refs.len(), Ref::ExternalIds as usize + 1);
        let lens: Vec<usize> = LOCALS.iter().map(|(_, n)| n.len()).collect();
        assert!(
            lens.windows(2).all(|w| w[0] == w[1]),
            "locals align without padding"
        );
        assert_eq!(form.refs[Ref::Bucket as usize], form.each.name);
        assert_eq!(form.each.list, "var.s3_b_bucket_names");
    }
}
