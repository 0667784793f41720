//! Options for the IAM role itself: permissions boundary, path, maximum
//! session duration, tags, and how tightly the Pod Identity trust is pinned.

use serde::{Deserialize, Serialize};

use crate::input::partition::Region;

/// The most tags IAM allows on a role.
pub const MAX_TAGS: usize = 50;

/// A `key=value` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

fn tag_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c))
}

impl Tag {
    /// Parses `key=value` (the first `=` splits) against IAM's tag rules.
    pub fn parse(value: &str) -> Result<Tag, String> {
        let (key, val) = value.split_once('=').ok_or("tags are written key=value")?;
        if key.is_empty() || key.len() > 128 || val.len() > 256 {
            return Err("tag keys are 1 to 128 characters and values at most 256".into());
        }
        if !tag_chars_ok(key) || !tag_chars_ok(val) {
            return Err("tags use letters, digits, spaces and '_.:/=+-@'".into());
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err("tag keys starting with 'aws:' are reserved by AWS".into());
        }
        Ok(Tag {
            key: key.to_owned(),
            value: val.to_owned(),
        })
    }
}

/// Checks an IAM path: `/` or `/a/b/`, printable ASCII, at most 512 characters.
pub fn path(value: &str) -> Result<String, String> {
    let ok = value.starts_with('/')
        && value.ends_with('/')
        && value.len() <= 512
        && !value.contains("//")
        && value.chars().all(|c| ('!'..='~').contains(&c));
    if !ok {
        return Err("IAM paths are '/' or '/segments/' of printable ASCII with no '//', at most 512 characters".into());
    }
    Ok(value.to_owned())
}

/// Checks a maximum session duration in seconds (3600 to 43200).
pub fn max_session_duration(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if (3600..=43200).contains(&n) => Ok(n),
        _ => Err(
            "the maximum session duration is a whole number of seconds from 3600 to 43200".into(),
        ),
    }
}

/// Checks a permissions boundary: a managed policy ARN in the region's partition.
pub fn boundary(value: &str, region: Option<&Region>) -> Result<String, String> {
    const RULE: &str = "permissions boundaries are managed policy ARNs: arn:<partition>:iam::<12-digit account or 'aws'>:policy/<path/>name";
    let rest = value.strip_prefix("arn:").ok_or(RULE)?;
    let (partition, rest) = rest.split_once(':').ok_or(RULE)?;
    let rest = rest.strip_prefix("iam::").ok_or(RULE)?;
    let (account, resource) = rest.split_once(':').ok_or(RULE)?;
    let name = resource
        .strip_prefix("policy/")
        .ok_or(RULE)?
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let account_ok = account == "aws" || crate::input::rules::account_id(account).is_ok();
    if !account_ok
        || crate::input::rules::policy_name(name).is_err()
        || !resource.chars().all(|c| ('!'..='~').contains(&c))
    {
        return Err(RULE.into());
    }
    match region {
        Some(r) if partition != r.partition().id() => Err(format!(
            "the boundary must be in partition {}",
            r.partition().id()
        )),
        _ => Ok(value.to_owned()),
    }
}

/// The role options as templates see them.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// IAM path of the role and the policy: `/` or `/a/b/`.
    pub path: String,
    /// Permissions boundary ARN, if any.
    pub permissions_boundary: Option<String>,
    /// Maximum session duration in seconds.
    pub max_session_duration: u32,
    /// Tags on the role and the policy.
    pub tags: Vec<Tag>,
}

/// How tightly the Pod Identity trust policy is pinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Trust {
    /// The docs page's statement exactly: no conditions.
    pub minimal: bool,
    /// Add `aws:SourceAccount`.
    pub source_account: bool,
    /// Add `ArnLike aws:SourceArn` on the cluster's associations.
    pub source_arn: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_iam_rules() {
        assert_eq!(
            Tag::parse("team=ml").map(|t| (t.key, t.value)),
            Ok(("team".into(), "ml".into()))
        );
        assert_eq!(Tag::parse("owner=a=b").map(|t| t.value), Ok("a=b".into()));
        assert!(Tag::parse("novalue").is_err());
        assert!(Tag::parse("aws:x=1").is_err());
        assert!(Tag::parse("k=$(id)").is_err());
        assert!(Tag::parse(&format!("{}=v", "k".repeat(129))).is_err());
    }

    #[test]
    fn paths_durations_and_boundaries() {
        assert!(path("/").is_ok() && path("/team/ml/").is_ok());
        for bad in ["", "team", "/team", "//", "/a b/"] {
            assert!(path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(max_session_duration("3600"), Ok(3600));
        assert!(
            max_session_duration("3599").is_err()
                && max_session_duration("43201").is_err()
                && max_session_duration("1h").is_err()
        );
        let region = Region::parse("us-west-2").ok();
        assert!(boundary("arn:aws:iam::123456789012:policy/Boundary", region.as_ref()).is_ok());
        assert!(boundary("arn:aws:iam::aws:policy/PowerUserAccess", region.as_ref()).is_ok());
        assert!(boundary("arn:aws:iam::123456789012:role/x", region.as_ref()).is_err());
        assert!(boundary("arn:aws-cn:iam::123456789012:policy/B", region.as_ref()).is_err());
    }
}
