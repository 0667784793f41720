//! Other accounts: the account that owns the buckets (`--bucket-account`)
//! and the account of a Pod Identity target role (`--target-account`).
//!
//! A bundle is cross-account when the role that calls S3 (the target role
//! when role chaining, else the role in the cluster's account) is not in
//! the buckets' account: the bucket owner then adds a bucket policy (and a
//! key-policy statement for each key of another account).

use crate::error::Violation;
use crate::input::access::KmsKey;
use crate::input::values::{AccountId, Method};

/// The raw values, as given.
#[derive(Debug, Clone, Copy)]
pub struct Given<'a> {
    /// `--bucket-account`.
    pub bucket_account: Option<&'a str>,
    /// `--target-account`.
    pub target_account: Option<&'a str>,
}

/// The checked accounts; each is set only when it differs from the
/// account it would otherwise be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    /// The buckets' owner, when it is not the account of the role that calls S3.
    pub bucket_account: Option<AccountId>,
    /// The target role's account, when pods reach S3 through a target role.
    pub target_account: Option<AccountId>,
    /// Both as given, for `params.yaml`: an account equal to the one it
    /// would otherwise be is dropped above with a note, and a bundle
    /// regenerated from its `params.yaml` must give the same note.
    pub given: (Option<AccountId>, Option<AccountId>),
}

/// What the checks need from the rest of the model.
pub struct Context<'a> {
    /// The cluster's account (`--account-id`).
    pub account_id: Option<&'a AccountId>,
    /// The method, when it parsed.
    pub method: Option<Method>,
    /// The KMS keys, checked.
    pub kms_keys: &'a [KmsKey],
    /// Whether the Pod Identity trust is left unpinned (`--trust-minimal`).
    pub trust_minimal: bool,
}

/// Checks both accounts against the rules; violations go to `violations`,
/// and notes (an account equal to the cluster's) to `notices`.
pub fn parse(
    given: Given,
    cx: &Context,
    violations: &mut Vec<Violation>,
    notices: &mut Vec<String>,
) -> Accounts {
    let mut one = |field: &'static str, value: Option<&str>| {
        let value = value?;
        match AccountId::parse(value) {
            Ok(id) => Some(id),
            Err(rule) => {
                violations.push(Violation::new(field, Some(value), rule));
                None
            }
        }
    };
    let bucket = one("bucket-account", given.bucket_account);
    let target = one("target-account", given.target_account);
    let as_given = (bucket.clone(), target.clone());
    let mut requires = |field: &'static str, value: &AccountId| {
        if cx.account_id.is_none() {
            violations.push(Violation::new(
                field,
                Some(value.as_str()),
                "needs the cluster's account: give --account-id or set AWS_ACCOUNT_ID",
            ));
        }
    };
    if let Some(b) = &bucket {
        requires("bucket-account", b);
    }
    if let Some(t) = &target {
        requires("target-account", t);
        if cx.trust_minimal {
            violations.push(Violation::new(
                "target-account",
                Some(t.as_str()),
                "cannot go with --trust-minimal: the source role's unpinned trust lets any association in the account that names it get its credentials, and an external id is no secret (the caller sends it), so the target role would be open to them too; drop --trust-minimal",
            ));
        }
        if cx.method.is_some_and(|m| m.irsa()) {
            violations.push(Violation::new(
                "target-account",
                Some(t.as_str()),
                "a target role is an EKS Pod Identity feature (the association's targetRoleArn): it works only with --method pod-identity; for IRSA give --bucket-account, or assume the other account's role in the workload",
            ));
        }
    }
    let Some(cluster) = cx.account_id else {
        return Accounts::default();
    };
    let target = target.filter(|t| {
        let same = t == cluster;
        if same {
            notices.push(format!("target-account {:?} is the cluster's own account: no target role is needed, so the bundle has one role", t.as_str()));
        }
        !same
    });
    let caller = target.as_ref().unwrap_or(cluster);
    let bucket = bucket.filter(|b| {
        let same = b == caller;
        if same && target.is_none() {
            notices.push(format!("bucket-account {:?} is the cluster's own account: the bundle stays single-account (no bucket policy)", b.as_str()));
        }
        !same
    });
    match &bucket {
        Some(owner) => keys_in_known_accounts(cx.kms_keys, &[caller, owner], violations),
        None => one_key_owner(cx.kms_keys, caller, violations),
    }
    Accounts {
        bucket_account: bucket,
        target_account: target,
        given: as_given,
    }
}

/// Refuses a KMS key whose account is neither the account of the role that
/// calls S3 nor the buckets': no file of the bundle would grant its use.
fn keys_in_known_accounts(
    keys: &[KmsKey],
    accounts: &[&AccountId],
    violations: &mut Vec<Violation>,
) {
    let mut known: Vec<&str> = accounts.iter().map(|a| a.as_str()).collect();
    known.dedup();
    for key in keys {
        if !known.contains(&key.account()) {
            violations.push(Violation::new(
                "kms-key",
                Some(key.as_str()),
                format!(
                    "the key is in account {}, which is neither the role's account nor the buckets' ({}): podiam renders key-policy statements only for the buckets' account; give the key's account with --bucket-account, or use a key of one of them",
                    key.account(),
                    known.join(", ")
                ),
            ));
        }
    }
}

/// Without a bucket account, the keys of other accounts than the role's
/// (a central KMS account) must all be one account's: the key owner's side
/// (`scripts/bucket-owner.sh`) runs with one account's credentials.
fn one_key_owner(keys: &[KmsKey], caller: &AccountId, violations: &mut Vec<Violation>) {
    let mut owners: Vec<&str> = Vec::new();
    for key in keys.iter().filter(|k| k.account() != caller.as_str()) {
        if !owners.contains(&key.account()) {
            owners.push(key.account());
        }
        if owners.len() > 1 {
            violations.push(Violation::new(
                "kms-key",
                Some(key.as_str()),
                format!(
                    "the keys of other accounts than the role's are in accounts {}: podiam renders the key owner's side for one account; generate a bundle per key account",
                    owners.join(" and ")
                ),
            ));
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        bucket: Option<&str>,
        target: Option<&str>,
        account: Option<&str>,
        method: Method,
        keys: &[&str],
    ) -> (Accounts, Vec<String>, Vec<String>) {
        let account = account.map(|a| AccountId::parse(a).expect("account"));
        let keys: Vec<KmsKey> = keys
            .iter()
            .map(|k| KmsKey::parse(k, None, false).expect("key"))
            .collect();
        let cx = Context {
            account_id: account.as_ref(),
            method: Some(method),
            kms_keys: &keys,
            trust_minimal: false,
        };
        let (mut v, mut n) = (Vec::new(), Vec::new());
        let given = Given {
            bucket_account: bucket,
            target_account: target,
        };
        let accounts = parse(given, &cx, &mut v, &mut n);
        (accounts, v.iter().map(|v| v.to_string()).collect(), n)
    }

    const A: &str = "111111111111";
    const B: &str = "222222222222";
    const C: &str = "333333333333";

    #[test]
    fn a_bucket_account_needs_the_cluster_account_and_twelve_digits() {
        let (_, v, _) = run(Some(B), None, None, Method::PodIdentity, &[]);
        assert!(
            v[0].contains("bucket-account") && v[0].contains("--account-id"),
            "{v:?}"
        );
        let (_, v, _) = run(Some("2222"), None, Some(A), Method::PodIdentity, &[]);
        assert!(v[0].starts_with("bucket-account \"2222\""), "{v:?}");
    }

    #[test]
    fn the_cluster_account_as_bucket_account_is_a_note_and_single_account() {
        let (a, v, n) = run(Some(A), None, Some(A), Method::Irsa, &[]);
        assert!(
            v.is_empty() && a.bucket_account.is_none() && a.target_account.is_none(),
            "{v:?}"
        );
        assert!(n[0].contains("single-account"), "{n:?}");
    }

    #[test]
    fn a_target_role_is_pod_identity_only() {
        for method in [Method::Irsa, Method::Both] {
            let (_, v, _) = run(None, Some(B), Some(A), method, &[]);
            assert!(v[0].starts_with("target-account \"222222222222\""), "{v:?}");
        }
        let (a, v, _) = run(None, Some(B), Some(A), Method::PodIdentity, &[]);
        assert!(v.is_empty() && a.target_account.is_some() && a.bucket_account.is_none());
    }

    #[test]
    fn a_bucket_account_equal_to_the_target_account_needs_no_bucket_policy() {
        let (a, _, n) = run(Some(B), Some(B), Some(A), Method::PodIdentity, &[]);
        assert!(a.bucket_account.is_none() && a.target_account.is_some() && n.is_empty());
        let (a, _, _) = run(Some(C), Some(B), Some(A), Method::PodIdentity, &[]);
        assert_eq!(
            a.bucket_account.map(|b| b.as_str().to_owned()),
            Some(C.to_owned())
        );
    }

    #[test]
    fn a_key_of_a_third_account_is_refused() {
        let key = |acct: &str| format!("arn:aws:kms:us-west-2:{acct}:key/1234abcd");
        let (_, v, _) = run(
            Some(B),
            None,
            Some(A),
            Method::PodIdentity,
            &[&key(B), &key(A)],
        );
        assert!(v.is_empty(), "{v:?}");
        let (_, v, _) = run(Some(B), None, Some(A), Method::PodIdentity, &[&key(C)]);
        assert!(
            v[0].starts_with("kms-key") && v[0].contains("333333333333"),
            "{v:?}"
        );
        // Without a bucket account a central key account is the key owner's side.
        let (_, v, _) = run(None, None, Some(A), Method::PodIdentity, &[&key(C)]);
        assert!(v.is_empty(), "{v:?}");
        let (_, v, _) = run(
            None,
            None,
            Some(A),
            Method::PodIdentity,
            &[&key(B), &key(C)],
        );
        assert!(v[0].contains("one account"), "{v:?}");
    }
}
