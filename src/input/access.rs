//! What the role may do in S3: the access level, the SkyPilot mount mode,
//! key prefixes, multipart cleanup and the KMS key, validated.

use serde::Serialize;

use crate::input::partition::Region;

/// How much the role may do with objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// The docs page's five actions: list, locate, read, write, delete.
    ReadWrite,
    /// List, locate and read only.
    ReadOnly,
}

impl Level {
    /// Parses `read-write` or `read-only`.
    pub fn parse(value: &str) -> Result<Level, String> {
        match value {
            "read-write" => Ok(Level::ReadWrite),
            "read-only" => Ok(Level::ReadOnly),
            _ => Err("the access level is 'read-write' or 'read-only'".into()),
        }
    }

    /// The level as given on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::ReadWrite => "read-write",
            Level::ReadOnly => "read-only",
        }
    }

    /// The level a mount mode implies when none is given: read-only for
    /// `COPY`, read-write otherwise.
    pub fn default_for(mode: MountMode) -> Level {
        match mode {
            MountMode::Copy => Level::ReadOnly,
            _ => Level::ReadWrite,
        }
    }
}

/// SkyPilot's `file_mounts.<path>.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MountMode {
    /// rclone with a full VFS cache (the docs page's choice).
    #[serde(rename = "MOUNT_CACHED")]
    MountCached,
    /// goofys (x86_64) or rclone (arm64), no cache.
    #[serde(rename = "MOUNT")]
    Mount,
    /// `aws s3 sync` at launch: read-only use.
    #[serde(rename = "COPY")]
    Copy,
}

impl MountMode {
    /// Parses `MOUNT_CACHED`, `MOUNT` or `COPY`.
    pub fn parse(value: &str) -> Result<MountMode, String> {
        match value {
            "MOUNT_CACHED" => Ok(MountMode::MountCached),
            "MOUNT" => Ok(MountMode::Mount),
            "COPY" => Ok(MountMode::Copy),
            _ => Err("the mount mode is 'MOUNT_CACHED', 'MOUNT' or 'COPY' (uppercase, as SkyPilot spells them)".into()),
        }
    }

    /// The mode as SkyPilot spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MountMode::MountCached => "MOUNT_CACHED",
            MountMode::Mount => "MOUNT",
            MountMode::Copy => "COPY",
        }
    }

    /// The mode podiam picks when none is given: `COPY` with key prefixes
    /// (SkyPilot mounts only whole buckets), else the docs page's
    /// `MOUNT_CACHED`.
    pub fn default_for(with_prefixes: bool) -> MountMode {
        match with_prefixes {
            true => MountMode::Copy,
            false => MountMode::MountCached,
        }
    }
}

/// A key prefix, normalised without its trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Prefix(String);

impl Prefix {
    /// Checks a prefix: `a/b` or `a/b/`; no leading `/`, no `..` or `.`
    /// segment, no wildcards, only `[A-Za-z0-9._()-]` in each segment.
    pub fn parse(value: &str) -> Result<Prefix, String> {
        const RULE: &str = "key prefixes are '/'-separated segments of letters, digits and '._()-', with no leading '/', no '.' or '..' segment and no wildcards";
        let trimmed = value.strip_suffix('/').unwrap_or(value);
        if trimmed.is_empty() || trimmed.len() > 512 {
            return Err("key prefixes are 1 to 512 characters long".into());
        }
        let segment_ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._()-".contains(c))
        };
        if !trimmed.split('/').all(segment_ok) {
            return Err(RULE.into());
        }
        Ok(Prefix(trimmed.to_owned()))
    }

    /// The prefix without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A KMS key ARN in the model's partition, and the region it lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct KmsKey {
    arn: String,
    #[serde(skip)]
    region: Region,
}

impl KmsKey {
    /// Checks `arn:<partition>:kms:<region>:<account>:key/<id>`; the region
    /// must be a listed one unless `allow_unlisted`.
    pub fn parse(
        value: &str,
        region: Option<&Region>,
        allow_unlisted: bool,
    ) -> Result<KmsKey, String> {
        const RULE: &str = "KMS keys are given as key ARNs: arn:<partition>:kms:<region>:<12-digit account>:key/<key id> (aliases cannot scope a policy)";
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        let [arn, partition, service, key_region, account, resource] = parts[..] else {
            return Err(RULE.into());
        };
        let id = resource.strip_prefix("key/").ok_or(RULE)?;
        let id_ok = !id.is_empty()
            && id.len() <= 128
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let shape_ok = arn == "arn"
            && service == "kms"
            && crate::input::rules::account_id(account).is_ok()
            && id_ok;
        let mut parsed = Region::parse(key_region).map_err(|_| RULE.to_owned())?;
        if !shape_ok || parsed.partition().id() != partition {
            return Err(RULE.into());
        }
        if !allow_unlisted {
            parsed = parsed
                .listed()
                .map_err(|why| format!("the key's region {key_region:?} {why}"))?;
        }
        if let Some(region) = region
            && partition != region.partition().id()
        {
            return Err(format!(
                "the KMS key must be in partition {} (that of region {})",
                region.partition().id(),
                region.as_str()
            ));
        }
        Ok(KmsKey {
            arn: value.to_owned(),
            region: parsed,
        })
    }

    /// The key ARN.
    pub fn as_str(&self) -> &str {
        &self.arn
    }

    /// The account that owns the key (the ARN's fifth field).
    pub fn account(&self) -> &str {
        self.arn.split(':').nth(4).unwrap_or_default()
    }

    /// The region the key lives in: S3 calls KMS from there.
    pub fn region(&self) -> &str {
        self.region.as_str()
    }

    /// Whether podiam's region list holds the key's region.
    pub fn region_is_listed(&self) -> bool {
        self.region.is_listed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_normalised_and_checked() {
        assert_eq!(
            Prefix::parse("team-a/data/").map(|p| p.0),
            Ok("team-a/data".into())
        );
        assert_eq!(Prefix::parse("a").map(|p| p.0), Ok("a".into()));
        for bad in [
            "", "/", "/abs", "a//b", "../x", "a/../b", "a/./b", "a*", "a?", "a b", "a\nb", "ä",
        ] {
            assert!(Prefix::parse(bad).is_err(), "{bad:?}");
        }
        let longest = "a".repeat(512);
        assert!(Prefix::parse(&longest).is_ok(), "512 characters");
        assert!(Prefix::parse(&format!("{longest}/")).is_ok(), "and a '/'");
        let over = Prefix::parse(&"a".repeat(513)).expect_err("513 characters");
        assert!(over.contains("1 to 512"), "{over}");
        let empty = Prefix::parse("").expect_err("empty");
        assert!(empty.contains("1 to 512"), "{empty}");
    }

    #[test]
    fn kms_keys_are_key_arns_in_the_partition() {
        let region = Region::parse("us-west-2").ok();
        let key = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(KmsKey::parse(key, region.as_ref(), false).is_ok());
        assert!(
            KmsKey::parse(
                "arn:aws:kms:us-west-2:123456789012:alias/x",
                region.as_ref(),
                false
            )
            .is_err()
        );
        let cn = "arn:aws-cn:kms:cn-north-1:123456789012:key/abc";
        assert!(
            KmsKey::parse(cn, region.as_ref(), false)
                .expect_err("partition")
                .contains("partition aws")
        );
        assert!(
            KmsKey::parse(
                "arn:aws:kms:us-west-2:12345:key/abc",
                region.as_ref(),
                false
            )
            .is_err()
        );
        let mismatched = "arn:aws:kms:cn-north-1:123456789012:key/abc";
        assert!(
            KmsKey::parse(mismatched, None, false).is_err(),
            "partition and region disagree"
        );
        let unlisted = "arn:aws:kms:us-esat-1:123456789012:key/abc";
        let err = KmsKey::parse(unlisted, region.as_ref(), false).expect_err("unlisted");
        assert!(err.contains("us-east-1"), "{err}");
        let key = KmsKey::parse(unlisted, region.as_ref(), true).expect("opted in");
        assert_eq!(key.region(), "us-esat-1");
        assert!(!key.region_is_listed());
        let longest = format!("arn:aws:kms:us-west-2:123456789012:key/{}", "a".repeat(128));
        assert!(
            KmsKey::parse(&longest, region.as_ref(), false).is_ok_and(|k| k.region_is_listed()),
            "a 128-character key id in a listed region"
        );
        let too_long = "a".repeat(129);
        for id in ["", "ab_c", "a b", "a/b", too_long.as_str()] {
            let bad = format!("arn:aws:kms:us-west-2:123456789012:key/{id}");
            assert!(
                KmsKey::parse(&bad, region.as_ref(), false).is_err(),
                "{id:?}"
            );
        }
    }

    #[test]
    fn levels_and_modes_parse_exactly() {
        assert_eq!(Level::parse("read-only"), Ok(Level::ReadOnly));
        assert!(Level::parse("ro").is_err());
        assert_eq!(MountMode::parse("COPY"), Ok(MountMode::Copy));
        assert!(MountMode::parse("copy").is_err());
    }
}
