//! Default IAM names derived from the bucket, shortened deterministically
//! when the docs page's naming scheme would break an IAM length limit.

use sha2::{Digest, Sha256};

/// The docs page's role name prefix (`SkyPilotS3Role-${S3_BUCKET}`).
pub const ROLE_PREFIX: &str = "SkyPilotS3Role-";
/// The docs page's policy name prefix (`SkyPilotS3Access-${S3_BUCKET}`).
pub const POLICY_PREFIX: &str = "SkyPilotS3Access-";
/// IAM's limit on role names.
pub const ROLE_MAX: usize = 64;
/// IAM's limit on managed policy names.
pub const POLICY_MAX: usize = 128;

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
    let digest = Sha256::digest(full.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let keep = max - hash.len() - 1;
    let head = full[..keep].trim_end_matches(['-', '.']);
    Derived {
        name: format!("{head}-{hash}"),
        shortened_from: Some(full),
    }
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
        assert!(a.name.chars().all(crate::rules::is_iam_name_char));
    }
}
