//! The Terraform references podiam's documents hold, as markers: the policy
//! and role builders put a marker where Terraform knows the value better (the
//! partition, a variable, a data source), and the `hcl_expr` filter swaps
//! each marker for its expression. [`replace_strings`] swaps a built value
//! for its marker.

use serde_json::Value;

use crate::formats::hclwrite::marker;

/// References the documents hold, by marker index.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ref {
    Partition = 0,
    /// Each element of the bucket list (inside a `for` expression).
    Bucket = 1,
    ProviderArn = 2,
    Provider = 3,
    Namespace = 4,
    ServiceAccount = 5,
    Cluster = 6,
    Account = 7,
    Region = 8,
    DnsSuffix = 9,
    /// The bucket names joined with `, `, for descriptions.
    BucketList = 10,
    /// The local that lists every bucket's ARN.
    BucketArns = 11,
    /// The local that lists every bucket's object ARNs.
    ObjectArns = 12,
    /// A trust statement group's cluster (bindings' `for` expressions).
    GroupCluster = 13,
    /// A trust statement group's namespace.
    GroupNamespace = 14,
    /// A trust statement group's service accounts, a list.
    GroupAccounts = 15,
    /// A trust statement group's OIDC provider ARN (IRSA).
    GroupProviderArn = 16,
    /// A trust statement group's OIDC provider, `host/id/ID` (IRSA).
    GroupProvider = 17,
    /// A trust statement group's token subjects, a list (IRSA).
    GroupSubjects = 18,
    /// One binding's namespace.
    BindingNamespace = 19,
    /// One binding's service account.
    BindingAccount = 20,
    /// The local that lists the trust statements of every binding.
    Statements = 21,
    /// The target role's ARN, built from known values (role chaining).
    TargetRoleArn = 22,
    /// The source role's ARN (role chaining: the target role trusts it).
    SourceRoleArn = 23,
    /// The first association's `externalId` (role chaining).
    FirstExternalId = 24,
    /// Every association's `externalId`, a list (role chaining with bindings).
    ExternalIds = 25,
}

impl Ref {
    /// The marker that stands for this reference.
    pub(crate) fn marker(self) -> String {
        marker(self as usize)
    }
}

/// Replaces every string in `value` equal to `from` by `to`.
pub(crate) fn replace_strings(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::String(s) if s == from => *s = to.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|i| replace_strings(i, from, to)),
        Value::Object(map) => map.values_mut().for_each(|v| replace_strings(v, from, to)),
        _ => {}
    }
}
