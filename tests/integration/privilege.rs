//! Least privilege: access profiles, prefixes, several buckets, KMS, trust
//! pinning and IAM's size limits.

use serde_json::{Value, json};

use crate::cli::{DOCS, podiam, stderr, stdout};

/// IAM's limit for a managed policy document, in characters without white
/// space (IAM User Guide, reference_iam-quotas.html).
const POLICY_LIMIT: usize = 6144;

fn render_json(artifact: &str, extra: &[&str]) -> Value {
    let o = podiam(&[&["render", artifact][..], &DOCS, extra].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).expect("json")
}

fn actions(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn read_only_with_a_prefix_grants_no_write_and_conditions_listing() {
    let policy = render_json(
        "s3-access-policy",
        &["--access", "read-only", "--prefix", "team-a/data"],
    );
    let granted = actions(&policy);
    for write in ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"] {
        assert!(
            !granted.iter().any(|a| a == write),
            "{write} in {granted:?}"
        );
    }
    let list = policy["Statement"]
        .as_array()
        .expect("s")
        .iter()
        .find(|s| s["Action"] == json!(["s3:ListBucket"]))
        .expect("list statement");
    assert_eq!(
        list["Condition"],
        json!({"StringLike": {"s3:prefix": ["team-a/data/", "team-a/data/*"]}})
    );
    let objects = policy["Statement"]
        .as_array()
        .expect("s")
        .iter()
        .find(|s| s["Sid"] == "ReadObjects")
        .expect("objects");
    assert_eq!(
        objects["Resource"],
        json!(["arn:aws:s3:::my-bucket/team-a/data/*"])
    );
}

#[test]
fn copy_mode_implies_read_only_unless_access_says_otherwise() {
    assert!(
        !actions(&render_json("s3-access-policy", &["--mount-mode", "COPY"]))
            .contains(&"s3:PutObject".to_owned())
    );
    let explicit = render_json(
        "s3-access-policy",
        &["--mount-mode", "COPY", "--access", "read-write"],
    );
    assert!(actions(&explicit).contains(&"s3:PutObject".to_owned()));
    let multipart = render_json("s3-access-policy", &["--multipart-cleanup"]);
    assert!(actions(&multipart).contains(&"s3:AbortMultipartUpload".to_owned()));
}

#[test]
fn kms_access_is_limited_to_the_key_through_s3_in_each_partition() {
    let key = "arn:aws-cn:kms:cn-north-1:123456789012:key/abcd-1234";
    let o = podiam(&[
        "render",
        "s3-access-policy",
        "--cluster",
        "c",
        "--region",
        "cn-north-1",
        "--bucket",
        "my-bucket",
        "--kms-key",
        key,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let policy: Value = serde_json::from_str(&stdout(&o)).expect("json");
    let kms = policy["Statement"]
        .as_array()
        .expect("s")
        .iter()
        .find(|s| s["Sid"] == "UseBucketKeyThroughS3")
        .expect("kms");
    assert_eq!(kms["Action"], json!(["kms:Decrypt", "kms:GenerateDataKey"]));
    assert_eq!(kms["Resource"], json!([key]));
    assert_eq!(
        kms["Condition"],
        json!({"StringEquals": {"kms:ViaService": "s3.cn-north-1.amazonaws.com.cn"}})
    );
    let read_only = render_json(
        "s3-access-policy",
        &[
            "--access",
            "read-only",
            "--kms-key",
            "arn:aws:kms:us-west-2:123456789012:key/k1",
        ],
    );
    assert!(
        actions(&read_only).contains(&"kms:Decrypt".to_owned())
            && !actions(&read_only).contains(&"kms:GenerateDataKey".to_owned())
    );
}

#[test]
fn pod_identity_trust_is_pinned_by_default_and_minimal_on_request() {
    let pinned = render_json("trust-policy", &[]);
    assert_eq!(
        pinned["Statement"][0]["Condition"],
        json!({
            "StringEquals": {
                "aws:RequestTag/kubernetes-namespace": "default",
                "aws:RequestTag/kubernetes-service-account": "skypilot-service-account"
            },
            "StringLike": {
                "aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-west-2:*:cluster/my-eks-cluster"
            }
        })
    );
    let docs_statement = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "pods.eks.amazonaws.com"},
        "Action": ["sts:AssumeRole", "sts:TagSession"]
    }]});
    assert_eq!(
        render_json("trust-policy", &["--trust-minimal"]),
        docs_statement
    );
    let source = render_json(
        "trust-policy",
        &[
            "--trust-source-account",
            "--trust-source-arn",
            "--account-id",
            "123456789012",
        ],
    );
    assert_eq!(
        source["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        "123456789012"
    );
    assert_eq!(
        source["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"],
        "arn:aws:eks:us-west-2:123456789012:podidentityassociation/my-eks-cluster/*"
    );
    let warned = podiam(
        &[
            &["render", "trust-policy"][..],
            &DOCS,
            &["--trust-source-arn", "--account-id", "123456789012"],
        ]
        .concat(),
    );
    assert!(
        stderr(&warned).contains("Mountpoint"),
        "{}",
        stderr(&warned)
    );
    let needs_account = podiam(
        &[
            &["render", "trust-policy"][..],
            &DOCS,
            &["--trust-source-account"],
        ]
        .concat(),
    );
    assert_eq!(needs_account.status.code(), Some(2));
    assert!(
        stderr(&needs_account).contains("account-id: is required by --trust-source-account"),
        "{}",
        stderr(&needs_account)
    );
}

#[test]
fn two_hundred_buckets_exceed_the_policy_limit_with_the_measured_size() {
    let buckets: Vec<String> = (0..200).map(|i| format!("team-bucket-{i:03}")).collect();
    let mut args = vec![
        "render",
        "s3-access-policy",
        "--cluster",
        "c",
        "--region",
        "us-west-2",
    ];
    for b in &buckets {
        args.extend(["--bucket", b.as_str()]);
    }
    let o = podiam(&args);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("the permission policy would be")
            && err.contains("IAM's limit for a managed policy is 6144"),
        "{err}"
    );
    let size: usize = err
        .split("would be ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a measured size");
    assert!(size > POLICY_LIMIT, "{size}");
    assert!(stdout(&o).is_empty());
}

#[test]
fn bad_prefixes_and_role_options_are_refused_with_their_rule() {
    let cases: [(&[&str], &str); 8] = [
        (
            &["--prefix", "../etc"],
            "prefix \"../etc\": key prefixes are",
        ),
        (&["--prefix", "/abs"], "prefix \"/abs\""),
        (&["--prefix", "a*"], "no wildcards"),
        (
            &["--max-session-duration", "60"],
            "max-session-duration \"60\": the maximum session duration is a whole number of seconds from 3600 to 43200",
        ),
        (&["--iam-path", "team"], "iam-path \"team\": IAM paths are"),
        (&["--tag", "aws:owner=x"], "reserved by AWS"),
        (
            &["--kms-key", "arn:aws:kms:us-west-2:123456789012:alias/x"],
            "kms-key",
        ),
        (
            &["--permissions-boundary", "arn:aws:iam::123456789012:role/x"],
            "permissions-boundary",
        ),
    ];
    for (extra, needle) in cases {
        let o = podiam(&[&["render", "s3-access-policy"][..], &DOCS, extra].concat());
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(stderr(&o).contains(needle), "{extra:?}: {}", stderr(&o));
    }
    let dup = podiam(
        &[
            &["render", "s3-access-policy"][..],
            &DOCS,
            &["--bucket", "my-bucket"],
        ]
        .concat(),
    );
    assert!(
        stderr(&dup).contains("each bucket may be given once"),
        "{}",
        stderr(&dup)
    );
    let irsa = podiam(
        &[
            &["render", "s3-access-policy"][..],
            &DOCS,
            &["--method", "irsa", "--trust-minimal"],
        ]
        .concat(),
    );
    assert_eq!(irsa.status.code(), Some(2));
}

#[test]
fn a_policy_of_exactly_the_limit_is_accepted_and_one_more_is_refused() {
    let run = |buckets: usize, key_id: &str| {
        let names: Vec<String> = (0..buckets)
            .map(|i| format!("team-bucket-{i:03}"))
            .collect();
        let key = format!("arn:aws:kms:us-west-2:123456789012:key/{key_id}");
        let mut args = vec!["render", "s3-access-policy", "--cluster", "c"];
        args.extend(["--region", "us-west-2", "--kms-key", key.as_str()]);
        for name in &names {
            args.extend(["--bucket", name.as_str()]);
        }
        podiam(&args)
    };
    let size = |o: &std::process::Output| {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
        stdout(o).chars().filter(|c| !c.is_whitespace()).count()
    };
    // Enough buckets that a key id of at most 127 characters reaches the
    // limit: each character of the id is one character of the policy.
    let one = size(&run(1, "a"));
    let per_bucket = size(&run(2, "a")) - one;
    let mut buckets = 1 + (POLICY_LIMIT - 126 - one) / per_bucket;
    let mut base = size(&run(buckets, "a"));
    while base + 126 < POLICY_LIMIT {
        buckets += 1;
        base = size(&run(buckets, "a"));
    }
    assert!(base <= POLICY_LIMIT, "{buckets} buckets give {base}");
    let id = "a".repeat(POLICY_LIMIT - base + 1);
    assert_eq!(size(&run(buckets, &id)), POLICY_LIMIT, "exactly the limit");
    let over = run(buckets, &format!("{id}a"));
    assert_eq!(over.status.code(), Some(2));
    assert!(
        stderr(&over).contains("would be 6145 characters"),
        "{}",
        stderr(&over)
    );
}
