//! AWS regions and the partition each one belongs to.

use serde::Serialize;

/// An AWS partition: decides ARN prefixes and the EKS OIDC issuer host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Partition {
    /// The commercial partition, `aws`.
    Aws,
    /// The China partition, `aws-cn`.
    AwsCn,
    /// AWS GovCloud (US), `aws-us-gov`.
    AwsUsGov,
}

impl Partition {
    /// The partition's name as it appears in ARNs.
    pub fn id(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::AwsCn => "aws-cn",
            Partition::AwsUsGov => "aws-us-gov",
        }
    }

    /// The DNS suffix of the partition's service endpoints.
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::AwsCn => "amazonaws.com.cn",
            Partition::Aws | Partition::AwsUsGov => "amazonaws.com",
        }
    }
}

/// The regions of each partition podiam knows, from botocore 1.44.8's
/// `endpoints.json` (the newest on PyPI when this list was taken).
pub const KNOWN_REGIONS: [(Partition, &[&str]); 3] = [
    (
        Partition::Aws,
        &[
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ],
    ),
    (Partition::AwsCn, &["cn-north-1", "cn-northwest-1"]),
    (Partition::AwsUsGov, &["us-gov-east-1", "us-gov-west-1"]),
];

/// The flag that accepts a region the list does not hold.
pub const UNLISTED_FLAG: &str = "--allow-unlisted-region";

/// A validated AWS region in one of the supported partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    name: String,
    partition: Partition,
}

impl Region {
    /// Parses a region name such as `us-west-2`, `cn-north-1` or `us-gov-west-1`.
    pub fn parse(value: &str) -> Result<Region, String> {
        const RULE: &str = "AWS regions look like 'us-west-2', 'cn-north-1' or 'us-gov-west-1' (lowercase area, direction, number)";
        if value.starts_with("us-iso") || value.starts_with("eu-iso") || value.starts_with("eusc-")
        {
            return Err("isolated and sovereign-cloud partitions are not supported; podiam knows the aws, aws-cn and aws-us-gov partitions".into());
        }
        let (partition, rest) = if let Some(rest) = value.strip_prefix("us-gov-") {
            (Partition::AwsUsGov, rest)
        } else if let Some(rest) = value.strip_prefix("cn-") {
            (Partition::AwsCn, rest)
        } else {
            let (area, rest) = value.split_once('-').ok_or(RULE)?;
            let area_ok = area.len() == 2 && area.chars().all(|c| c.is_ascii_lowercase());
            if !area_ok {
                return Err(RULE.into());
            }
            (Partition::Aws, rest)
        };
        let (direction, number) = rest.split_once('-').ok_or(RULE)?;
        let direction_ok =
            !direction.is_empty() && direction.chars().all(|c| c.is_ascii_lowercase());
        let number_ok =
            (1..=2).contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit());
        if !(direction_ok && number_ok) {
            return Err(RULE.into());
        }
        Ok(Region {
            name: value.to_owned(),
            partition,
        })
    }

    /// Whether [`KNOWN_REGIONS`] holds this region.
    pub fn is_listed(&self) -> bool {
        KNOWN_REGIONS
            .iter()
            .any(|(p, names)| *p == self.partition && names.contains(&self.name.as_str()))
    }

    /// Refuses a region the list does not hold, naming the closest known ones.
    pub fn listed(self) -> Result<Region, String> {
        if self.is_listed() {
            return Ok(self);
        }
        Err(format!(
            "is not a region podiam knows; did you mean {}? (give {UNLISTED_FLAG} for a region newer than podiam's list)",
            closest(&self.name).join(" or ")
        ))
    }

    /// The region name.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The partition this region belongs to.
    pub fn partition(&self) -> Partition {
        self.partition
    }

    /// The EKS OIDC issuer host for this region.
    pub fn oidc_host(&self) -> String {
        format!("oidc.eks.{}.{}", self.name, self.partition.dns_suffix())
    }
}

/// The known regions nearest to `name` by edit distance (ties kept, at most three).
fn closest(name: &str) -> Vec<&'static str> {
    let all = KNOWN_REGIONS
        .iter()
        .flat_map(|(_, names)| names.iter().copied());
    let scored: Vec<(usize, &str)> = all.map(|r| (distance(name, r), r)).collect();
    let best = scored.iter().map(|(d, _)| *d).min().unwrap_or(0);
    scored
        .into_iter()
        .filter(|(d, _)| *d == best)
        .map(|(_, r)| r)
        .take(3)
        .collect()
}

/// Levenshtein distance between two ASCII-ish strings, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_follow_the_region() {
        let cases = [
            ("us-west-2", "aws", "oidc.eks.us-west-2.amazonaws.com"),
            ("eu-central-1", "aws", "oidc.eks.eu-central-1.amazonaws.com"),
            (
                "cn-north-1",
                "aws-cn",
                "oidc.eks.cn-north-1.amazonaws.com.cn",
            ),
            (
                "cn-northwest-1",
                "aws-cn",
                "oidc.eks.cn-northwest-1.amazonaws.com.cn",
            ),
            (
                "us-gov-west-1",
                "aws-us-gov",
                "oidc.eks.us-gov-west-1.amazonaws.com",
            ),
        ];
        for (name, partition, host) in cases {
            let region = Region::parse(name).expect(name);
            assert_eq!(region.partition().id(), partition);
            assert_eq!(region.oidc_host(), host);
        }
    }

    #[test]
    fn every_listed_region_parses_into_its_own_partition() {
        for (partition, names) in KNOWN_REGIONS {
            for name in names {
                let region = Region::parse(name).expect(name);
                assert_eq!(region.partition(), partition, "{name}");
                assert!(region.listed().is_ok(), "{name}");
            }
        }
    }

    #[test]
    fn unlisted_regions_name_the_nearest() {
        assert_eq!(distance("us-weast-2", "us-west-2"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(closest("us-weast-2"), vec!["us-east-2", "us-west-2"]);
        assert_eq!(closest("cn-north-3"), vec!["cn-north-1"]);
        let err = Region::parse("eu-west-4")
            .and_then(Region::listed)
            .expect_err("unlisted");
        assert!(
            err.contains("eu-west-3") && err.contains(UNLISTED_FLAG),
            "{err}"
        );
    }

    #[test]
    fn malformed_regions_are_refused() {
        for bad in [
            "",
            "us",
            "us-west",
            "US-WEST-2",
            "us-west-",
            "us-west-123",
            "usa-west-2",
            "us_west_2",
            "us-west-2 ",
        ] {
            assert!(Region::parse(bad).is_err(), "{bad:?} should fail");
        }
        let err = Region::parse("us-iso-east-1").expect_err("iso");
        assert!(err.contains("not supported"));
    }
}
