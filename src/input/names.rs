//! Default names: SkyPilot's namespace and service account, the IAM names
//! derived from the bucket, and the Terraform name; a derived name is
//! shortened deterministically when it would break a length limit.

use sha2::{Digest, Sha256};

/// SkyPilot's default Kubernetes service account.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "skypilot-service-account";
/// The namespace used when none is given.
pub const DEFAULT_NAMESPACE: &str = "default";
/// The docs page's role name prefix (`SkyPilotS3Role-${S3_BUCKET}`).
pub const ROLE_PREFIX: &str = "SkyPilotS3Role-";
/// The docs page's policy name prefix (`SkyPilotS3Access-${S3_BUCKET}`).
pub const POLICY_PREFIX: &str = "SkyPilotS3Access-";
/// IAM's limit on role names.
pub const ROLE_MAX: usize = 64;
/// IAM's limit on managed policy names.
pub const POLICY_MAX: usize = 128;
/// The longest Terraform name podiam derives.
pub const TF_NAME_MAX: usize = 63;

/// A derived name, and whether it had to be shortened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Derived {
    /// The name to use.
    pub name: String,
    /// The docs page's name when it was too long and `name` is its short form.
    pub shortened_from: Option<String>,
}

/// Derives `prefix + bucket`, shortened to `max` characters when needed.
///
/// A shortened name keeps as much of the full name as fits and ends in `-`
/// plus the first 8 hex digits of the full name's SHA-256, so two long
/// buckets that share a prefix still get different names.
pub fn derive(prefix: &str, bucket: &str, max: usize) -> Derived {
    let full = format!("{prefix}{bucket}");
    if full.len() <= max {
        return Derived {
            name: full,
            shortened_from: None,
        };
    }
    Derived {
        name: shorten(&full, max, '-', &['-', '.']),
        shortened_from: Some(full),
    }
}

/// The default tf name: `s3_<bucket>`, plus `_<namespace>` when the namespace
/// is not `default`, with `.` and `-` as `_`. Over 63 characters, it keeps
/// what fits and ends in `_` and 8 hex digits of the full name's SHA-256.
pub fn tf_default(bucket: &str, namespace: &str) -> String {
    let mut full = format!("s3_{bucket}");
    if namespace != DEFAULT_NAMESPACE {
        full = format!("{full}_{namespace}");
    }
    let full: String = full
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if full.len() <= TF_NAME_MAX {
        return full;
    }
    shorten(&full, TF_NAME_MAX, '_', &['_'])
}

/// `full` cut to `max` characters: what fits, less trailing `trim`
/// characters, then `sep` and the first 8 hex digits of `full`'s SHA-256.
fn shorten(full: &str, max: usize, sep: char, trim: &[char]) -> String {
    let digest = Sha256::digest(full.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let head = full[..max - hash.len() - 1].trim_end_matches(trim);
    format!("{head}{sep}{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_buckets_keep_the_docs_name() {
        let d = derive(ROLE_PREFIX, "my-bucket", ROLE_MAX);
        assert_eq!(d.name, "SkyPilotS3Role-my-bucket");
        assert_eq!(d.shortened_from, None);
        let exact = "b".repeat(ROLE_MAX - ROLE_PREFIX.len());
        assert_eq!(derive(ROLE_PREFIX, &exact, ROLE_MAX).name.len(), 64);
    }

    #[test]
    fn long_buckets_are_shortened_deterministically() {
        let bucket = format!("{}x", "b".repeat(49));
        let a = derive(ROLE_PREFIX, &bucket, ROLE_MAX);
        assert_eq!(a.name.len(), 64);
        assert!(a.name.starts_with("SkyPilotS3Role-bbb"));
        assert_eq!(
            a.shortened_from.as_deref(),
            Some(format!("SkyPilotS3Role-{bucket}").as_str())
        );
        assert_eq!(a, derive(ROLE_PREFIX, &bucket, ROLE_MAX));
        let other = format!("{}y", "b".repeat(49));
        assert_ne!(a.name, derive(ROLE_PREFIX, &other, ROLE_MAX).name);
        assert!(a.name.chars().all(crate::input::rules::is_iam_name_char));
    }

    #[test]
    fn default_names_are_valid_and_distinct() {
        assert_eq!(tf_default("my-bucket", "default"), "s3_my_bucket");
        assert_eq!(tf_default("my.bucket", "ml-team"), "s3_my_bucket_ml_team");
        assert_eq!(tf_default("123", "default"), "s3_123");
        let a = tf_default(&"a".repeat(63), &"n".repeat(63));
        let b = tf_default(&"a".repeat(63), &format!("{}m", "n".repeat(62)));
        assert_ne!(a, b);
        for name in [a, b, tf_default(&"b".repeat(60), "default")] {
            assert!(name.len() <= TF_NAME_MAX, "{name}");
            assert_eq!(crate::input::rules::tf_name(&name), Ok(()), "{name}");
        }
    }
}
