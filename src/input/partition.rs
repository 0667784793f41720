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
