//! Input rules from AWS, Kubernetes and IAM, one function per kind of value.
//!
//! Each function returns `Err(rule)` with a sentence that says what the rule
//! is; the model pairs it with the field name and the offending value.

/// The result of checking one value: `Err` carries the rule that was broken.
pub type RuleResult = Result<(), String>;

/// Banned S3 bucket name prefixes (AWS general purpose bucket naming rules).
pub const BUCKET_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
/// Banned S3 bucket name suffixes.
pub const BUCKET_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn length(value: &str, min: usize, max: usize, what: &str) -> RuleResult {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(format!(
            "{what} must be {min} to {max} characters long (got {n})"
        ));
    }
    Ok(())
}

/// S3 general purpose bucket names.
pub fn bucket(value: &str) -> RuleResult {
    length(value, 3, 63, "S3 bucket names")?;
    if !value
        .chars()
        .all(|c| is_lower_alnum(c) || c == '.' || c == '-')
    {
        return Err("S3 bucket names use lowercase letters, digits, '.' and '-'".into());
    }
    let first_last = [value.chars().next(), value.chars().last()];
    if !first_last.iter().flatten().all(|c| is_lower_alnum(*c)) {
        return Err("S3 bucket names start and end with a lowercase letter or digit".into());
    }
    if value.contains("..") {
        return Err("S3 bucket names must not contain two adjacent periods".into());
    }
    if is_ipv4_shaped(value) {
        return Err("S3 bucket names must not be formatted as an IP address".into());
    }
    if let Some(p) = BUCKET_PREFIXES.iter().find(|p| value.starts_with(**p)) {
        return Err(format!(
            "S3 bucket names must not start with {p:?} (reserved by AWS)"
        ));
    }
    if let Some(s) = BUCKET_SUFFIXES.iter().find(|s| value.ends_with(**s)) {
        return Err(format!(
            "S3 bucket names must not end with {s:?} (reserved by AWS)"
        ));
    }
    Ok(())
}

fn is_ipv4_shaped(value: &str) -> bool {
    let parts: Vec<&str> = value.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()))
}

/// EKS cluster names.
pub fn cluster(value: &str) -> RuleResult {
    length(value, 1, 100, "EKS cluster names")?;
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !(first_ok && rest_ok) {
        return Err(
            "EKS cluster names start with a letter or digit and use letters, digits, '_' and '-'"
                .into(),
        );
    }
    Ok(())
}

/// One RFC 1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 characters.
fn dns_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value.chars().all(|c| is_lower_alnum(c) || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// Kubernetes namespaces (RFC 1123 labels).
pub fn namespace(value: &str) -> RuleResult {
    if !dns_label(value) {
        return Err("Kubernetes namespaces are RFC 1123 labels: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit".into());
    }
    Ok(())
}

/// Kubernetes service account names (RFC 1123 subdomains).
pub fn service_account(value: &str) -> RuleResult {
    if value.is_empty() || value.len() > 253 || !value.split('.').all(dns_label) {
        return Err("Kubernetes service account names are RFC 1123 subdomains: at most 253 characters, dot-separated labels of lowercase letters, digits and '-', each starting and ending with a letter or digit".into());
    }
    Ok(())
}

/// IAM's default quota on a role trust policy, in characters not counting white space.
pub const TRUST_QUOTA_DEFAULT: usize = 2048;
/// The most IAM raises that quota to.
pub const TRUST_QUOTA_MAX: usize = 8192;

/// The trust policy length quota: IAM's default 2,048 characters up to the
/// 8,192 IAM grants at most ("Role trust policy length", quota L-C07B4B0D, in
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>).
pub fn trust_quota(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (TRUST_QUOTA_DEFAULT..=TRUST_QUOTA_MAX).contains(&n) => Ok(n),
        _ => Err("the trust policy length quota is a whole number of characters from 2048 (IAM's default) to 8192 (the most IAM grants: 'Role trust policy length', quota L-C07B4B0D); give the value your account's quota was raised to".into()),
    }
}

/// IAM role names.
pub fn role_name(value: &str) -> RuleResult {
    iam_name(value, 64, "IAM role names")
}

/// IAM managed policy names.
pub fn policy_name(value: &str) -> RuleResult {
    iam_name(value, 128, "IAM policy names")
}

/// Whether `c` is allowed in IAM role and policy names.
pub fn is_iam_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

fn iam_name(value: &str, max: usize, what: &str) -> RuleResult {
    length(value, 1, max, what)?;
    if !value.chars().all(is_iam_name_char) {
        return Err(format!("{what} use letters, digits and '+=,.@_-'"));
    }
    if value.starts_with('-') {
        return Err(format!(
            "{what} starting with '-' are refused: the AWS CLI would read them as options"
        ));
    }
    Ok(())
}

/// AWS account ids.
pub fn account_id(value: &str) -> RuleResult {
    if value.len() != 12 || !value.chars().all(|c| c.is_ascii_digit()) {
        return Err("AWS account ids are exactly 12 digits".into());
    }
    Ok(())
}

/// kubeconfig context names, as far as podiam writes them into configs.
pub fn kube_context(value: &str) -> RuleResult {
    length(value, 1, 253, "kubeconfig context names")?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._:/@-".contains(c);
    if !value.chars().all(allowed) || value.starts_with('-') {
        return Err(
            "kubeconfig context names use letters, digits and '._:/@-', and do not start with '-'"
                .into(),
        );
    }
    Ok(())
}

/// The ID part of an EKS OIDC issuer URL.
pub fn oidc_id(value: &str) -> RuleResult {
    let ok = value.len() == 32
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if !ok {
        return Err("the EKS OIDC issuer id is 32 uppercase letters and digits".into());
    }
    Ok(())
}

/// Terraform identifiers podiam derives names from: `^[a-z][a-z0-9_]{0,62}$`.
pub fn tf_name(value: &str) -> RuleResult {
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok = chars.all(|c| is_lower_alnum(c) || c == '_');
    if !(first_ok && rest_ok && value.len() <= 63) {
        return Err(
            "Terraform names are 1 to 63 lowercase letters, digits and '_', starting with a letter"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(f: fn(&str) -> RuleResult, v: &str) {
        assert_eq!(f(v), Ok(()), "{v:?} should pass");
    }

    fn bad(f: fn(&str) -> RuleResult, v: &str, needle: &str) {
        let err = f(v).expect_err(v);
        assert!(err.contains(needle), "{v:?}: {err:?} lacks {needle:?}");
    }

    #[test]
    fn bucket_length_boundaries() {
        ok(bucket, "abc");
        ok(bucket, &"a".repeat(63));
        bad(bucket, "ab", "3 to 63");
        bad(bucket, &"a".repeat(64), "3 to 63");
    }

    #[test]
    fn bucket_characters_and_ends() {
        bad(
            bucket,
            "My_Bucket",
            "lowercase letters, digits, '.' and '-'",
        );
        bad(bucket, "my_bucket", "lowercase letters");
        bad(bucket, "-abc", "start and end");
        bad(bucket, "abc-", "start and end");
        bad(bucket, ".abc", "start and end");
        bad(bucket, "a..b", "adjacent periods");
        ok(bucket, "a.b-c.1");
    }

    #[test]
    fn bucket_ip_shapes() {
        bad(bucket, "192.168.5.4", "IP address");
        bad(bucket, "1.2.3.4", "IP address");
        ok(bucket, "1.2.3.4.5");
        ok(bucket, "1.2.3");
        ok(bucket, "192.168.5.a");
    }

    #[test]
    fn bucket_reserved_prefixes_and_suffixes() {
        for p in BUCKET_PREFIXES {
            bad(bucket, &format!("{p}abc"), "must not start with");
            ok(bucket, &format!("a{p}abc"));
        }
        for s in BUCKET_SUFFIXES {
            bad(bucket, &format!("abc{s}"), "must not end with");
        }
        ok(bucket, "abc-s3aliasx");
    }

    #[test]
    fn cluster_names() {
        ok(cluster, "a");
        ok(cluster, "My_Cluster-1");
        ok(cluster, &"a".repeat(100));
        bad(cluster, "", "1 to 100");
        bad(cluster, &"a".repeat(101), "1 to 100");
        bad(cluster, "_a", "start with a letter or digit");
        bad(cluster, "-a", "start with a letter or digit");
        bad(cluster, "a.b", "letters, digits");
    }

    #[test]
    fn namespaces() {
        ok(namespace, "default");
        ok(namespace, &"a".repeat(63));
        bad(namespace, &"a".repeat(64), "RFC 1123 label");
        bad(namespace, "Team", "RFC 1123 label");
        bad(namespace, "a.b", "RFC 1123 label");
        bad(namespace, "-a", "RFC 1123 label");
        bad(namespace, "a-", "RFC 1123 label");
        bad(namespace, "", "RFC 1123 label");
    }

    #[test]
    fn service_accounts() {
        ok(service_account, "skypilot-service-account");
        ok(service_account, "a.b-c");
        let long = format!(
            "{}.{}.{}.{}",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(61)
        );
        assert_eq!(long.len(), 253);
        ok(service_account, &long);
        bad(service_account, &format!("{long}x"), "RFC 1123 subdomains");
        bad(service_account, "a..b", "RFC 1123 subdomains");
        bad(service_account, "A", "RFC 1123 subdomains");
        bad(service_account, "", "RFC 1123 subdomains");
    }

    #[test]
    fn iam_names() {
        ok(role_name, &"r".repeat(64));
        bad(role_name, &"r".repeat(65), "1 to 64");
        bad(role_name, "", "1 to 64");
        ok(role_name, "a+=,.@_-Z9");
        bad(role_name, "a b", "'+=,.@_-'");
        bad(role_name, "a/b", "'+=,.@_-'");
        bad(role_name, "-rf", "read them as options");
        ok(role_name, "a-");
        ok(policy_name, &"p".repeat(128));
        bad(policy_name, &"p".repeat(129), "1 to 128");
    }

    #[test]
    fn account_ids() {
        ok(account_id, "123456789012");
        ok(account_id, "012345678901");
        bad(account_id, "12345678901", "12 digits");
        bad(account_id, "1234567890123", "12 digits");
        bad(account_id, "12345678901a", "12 digits");
    }

    #[test]
    fn kube_contexts() {
        ok(kube_context, "my-context");
        ok(
            kube_context,
            "arn:aws:eks:us-west-2:123456789012:cluster/my-eks-cluster",
        );
        ok(kube_context, "user@cluster.local");
        bad(kube_context, "-ctx", "do not start with '-'");
        bad(kube_context, "a b", "letters, digits");
        bad(kube_context, "", "1 to 253");
    }

    #[test]
    fn tf_names() {
        ok(tf_name, "s3_my_bucket");
        ok(tf_name, "a");
        ok(tf_name, &"a".repeat(63));
        bad(tf_name, &"a".repeat(64), "1 to 63");
        bad(tf_name, "", "1 to 63");
        bad(tf_name, "_a", "starting with a letter");
        bad(tf_name, "9a", "starting with a letter");
        bad(tf_name, "a-b", "lowercase letters, digits and '_'");
        bad(tf_name, "A", "lowercase");
        bad(tf_name, "a${b}", "lowercase");
    }

    #[test]
    fn oidc_ids() {
        ok(oidc_id, "EXAMPLED539D4633E53DE1B71EXAMPLE");
        bad(oidc_id, "EXAMPLED539D4633E53DE1B71EXAMPL", "32 uppercase");
        bad(oidc_id, "exampled539d4633e53de1b71example", "32 uppercase");
    }
}
