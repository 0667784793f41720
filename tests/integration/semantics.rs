//! Issue 9: inputs that used to render setups AWS or SkyPilot would refuse,
//! or that fail silently. Each test failed before its fix; the conformance
//! suite (check-45, check-50) evaluates the same claims with AWS's and
//! SkyPilot's semantics through independent engines.

use serde_json::{Value, json};

use crate::cli::{DOCS, podiam, stderr, stdout};

const KEY_EAST: &str =
    "arn:aws:kms:us-east-1:123456789012:key/1111aaaa-12ab-34cd-56ef-1234567890ab";
const KEY_WEST: &str =
    "arn:aws:kms:us-west-2:123456789012:key/2222bbbb-12ab-34cd-56ef-1234567890ab";

fn render(artifact: &str, extra: &[&str]) -> String {
    let o = podiam(&[&["render", artifact][..], &DOCS, extra].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    stdout(&o)
}

fn render_json(artifact: &str, extra: &[&str]) -> Value {
    serde_json::from_str(&render(artifact, extra)).expect("json")
}

fn render_yaml(artifact: &str, extra: &[&str]) -> serde_yaml::Value {
    serde_yaml::from_str(&render(artifact, extra)).expect("yaml")
}

/// Runs `render` with the docs page's values expecting exit 2; returns stderr.
fn refused(artifact: &str, extra: &[&str]) -> String {
    refused_with(&[&["render", artifact][..], &DOCS, extra].concat())
}

/// Runs podiam expecting exit 2; returns stderr.
fn refused_with(args: &[&str]) -> String {
    let o = podiam(args);
    let extra = args;
    assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
    assert!(stdout(&o).is_empty(), "{extra:?} printed an artifact");
    stderr(&o)
}

/// `render s3-access-policy` arguments for a cluster in `region`, plus `extra`.
fn in_region<'a>(region: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let args = ["render", "s3-access-policy", "--cluster", "c"];
    [&args[..], &["--bucket", "b-b", "--region", region], extra].concat()
}

/// The KMS statements as (key ARNs, kms:ViaService value).
fn kms_grants(policy: &Value) -> Vec<(Vec<String>, String)> {
    policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["Effect"] == "Allow" && s["Resource"].to_string().contains(":kms:"))
        .map(|s| {
            let keys = s["Resource"]
                .as_array()
                .expect("resources")
                .iter()
                .map(|r| r.as_str().expect("arn").to_owned())
                .collect();
            let via = s["Condition"]["StringEquals"]["kms:ViaService"]
                .as_str()
                .expect("kms:ViaService")
                .to_owned();
            (keys, via)
        })
        .collect()
}

#[test]
fn kms_via_service_is_s3_in_each_keys_region() {
    let policy = render_json(
        "s3-access-policy",
        &["--kms-key", KEY_EAST, "--kms-key", KEY_WEST],
    );
    let mut grants = kms_grants(&policy);
    grants.sort();
    assert_eq!(
        grants,
        vec![
            (
                vec![KEY_EAST.to_owned()],
                "s3.us-east-1.amazonaws.com".into()
            ),
            (
                vec![KEY_WEST.to_owned()],
                "s3.us-west-2.amazonaws.com".into()
            ),
        ]
    );
    // "In IAM, the Sid value must be unique within a JSON policy" (IAM User
    // Guide, reference_policies_elements_sid.html).
    let sids: Vec<&str> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter_map(|s| s["Sid"].as_str())
        .collect();
    let unique: std::collections::BTreeSet<&str> = sids.iter().copied().collect();
    assert_eq!(unique.len(), sids.len(), "duplicate Sids: {sids:?}");
    let china = podiam(&in_region(
        "cn-north-1",
        &[
            "--kms-key",
            "arn:aws-cn:kms:cn-northwest-1:123456789012:key/abcd-1234",
        ],
    ));
    assert_eq!(china.status.code(), Some(0), "{}", stderr(&china));
    let china: Value = serde_json::from_str(&stdout(&china)).expect("json");
    assert_eq!(
        kms_grants(&china)[0].1,
        "s3.cn-northwest-1.amazonaws.com.cn"
    );
}

#[test]
fn terraform_takes_the_kms_region_from_the_key_not_the_provider() {
    let hcl = render("terraform-main", &["--kms-key", KEY_EAST]);
    let via: Vec<&str> = hcl
        .lines()
        .map(str::trim)
        .filter(|l| l.contains("kms:ViaService"))
        .collect();
    assert_eq!(
        via,
        ["\"kms:ViaService\" = \"s3.us-east-1.${data.aws_partition.this.dns_suffix}\""],
        "{hcl}"
    );
}

#[test]
fn review_and_runbook_say_what_each_key_policy_must_allow() {
    let extra = ["--kms-key", KEY_EAST, "--kms-key", KEY_WEST];
    for artifact in ["review", "runbook"] {
        let text = render(artifact, &extra);
        for key in [KEY_EAST, KEY_WEST] {
            assert!(text.contains(key), "{artifact} lacks {key}");
        }
        assert!(text.contains("key policy"), "{artifact}");
        assert!(text.contains("aws kms get-key-policy"), "{artifact}");
    }
}

#[test]
fn a_prefix_makes_the_task_copy_and_refuses_mount_modes() {
    let task = render_yaml("skypilot-task", &["--prefix", "team-a"]);
    let mount = &task["file_mounts"]["/s3/data"];
    assert_eq!(mount["mode"], "COPY");
    assert_eq!(mount["source"], "s3://my-bucket/team-a/");
    for mode in ["MOUNT", "MOUNT_CACHED"] {
        let err = refused(
            "skypilot-task",
            &["--prefix", "team-a", "--mount-mode", mode],
        );
        assert!(
            err.contains("mount-mode") && err.contains("prefix") && err.contains(mode),
            "{err}"
        );
    }
}

#[test]
fn read_only_mounts_are_read_only_in_skypilot_too() {
    let cases = [
        ("MOUNT_CACHED", Some("mount_cached")),
        ("MOUNT", Some("mount")),
        ("COPY", None),
    ];
    for (mode, key) in cases {
        let task = render_yaml(
            "skypilot-task",
            &["--access", "read-only", "--mount-mode", mode],
        );
        let mount = &task["file_mounts"]["/s3/data"];
        match key {
            Some(key) => assert_eq!(
                mount["config"][key]["read_only"],
                serde_yaml::Value::Bool(true),
                "{mode}: {mount:?}"
            ),
            None => assert!(mount.get("config").is_none(), "{mode}: {mount:?}"),
        }
        let writable = render_yaml(
            "skypilot-task",
            &["--access", "read-write", "--mount-mode", mode],
        );
        assert!(
            writable["file_mounts"]["/s3/data"].get("config").is_none(),
            "{mode} read-write"
        );
    }
}

#[test]
fn read_only_refuses_multipart_cleanup() {
    let err = refused(
        "s3-access-policy",
        &["--access", "read-only", "--multipart-cleanup"],
    );
    assert!(
        err.contains("multipart-cleanup") && err.contains("read-only"),
        "{err}"
    );
    let err = refused(
        "s3-access-policy",
        &["--mount-mode", "COPY", "--multipart-cleanup"],
    );
    assert!(err.contains("multipart-cleanup"), "{err}");
}

#[test]
fn the_pod_identity_trust_pins_the_cluster_arn() {
    let unknown_account = render_json("trust-policy", &[]);
    let condition = &unknown_account["Statement"][0]["Condition"];
    assert_eq!(
        condition["StringLike"],
        json!({"aws:RequestTag/eks-cluster-arn": "arn:aws:eks:us-west-2:*:cluster/my-eks-cluster"})
    );
    assert_eq!(
        condition["StringEquals"],
        json!({
            "aws:RequestTag/kubernetes-namespace": "default",
            "aws:RequestTag/kubernetes-service-account": "skypilot-service-account",
        })
    );
    let known = render_json("trust-policy", &["--account-id", "123456789012"]);
    let condition = &known["Statement"][0]["Condition"];
    assert_eq!(
        condition["StringEquals"]["aws:RequestTag/eks-cluster-arn"],
        "arn:aws:eks:us-west-2:123456789012:cluster/my-eks-cluster"
    );
    assert!(condition.get("StringLike").is_none(), "{condition}");
    for doc in [&unknown_account, &known] {
        assert!(!doc.to_string().contains("eks-cluster-name"), "{doc}");
    }
    let minimal = render_json("trust-policy", &["--trust-minimal"]);
    assert!(minimal["Statement"][0].get("Condition").is_none());
}

#[test]
fn unknown_regions_are_refused_with_the_closest_known_ones() {
    let err = refused_with(&in_region("us-weast-2", &[]));
    assert!(
        err.contains("region \"us-weast-2\"") && err.contains("us-west-2"),
        "{err}"
    );
    assert!(err.contains("--allow-unlisted-region"), "{err}");
    let err = refused_with(&in_region("cn-north-3", &[]));
    assert!(err.contains("cn-north-1"), "{err}");
    let newer = podiam(&in_region("eu-north-9", &["--allow-unlisted-region"]));
    assert_eq!(newer.status.code(), Some(0), "{}", stderr(&newer));
    assert!(stderr(&newer).contains("eu-north-9"), "the opt-in is noted");
    let key = refused(
        "s3-access-policy",
        &["--kms-key", "arn:aws:kms:us-esat-1:123456789012:key/abc"],
    );
    assert!(
        key.contains("kms-key") && key.contains("us-east-1"),
        "{key}"
    );
}

#[test]
fn the_unlisted_region_notice_names_only_the_unlisted_regions() {
    let key = |region: &str| format!("arn:aws:kms:{region}:123456789012:key/abc");
    let notice = |key: &str| {
        let o = podiam(&in_region(
            "us-west-2",
            &["--allow-unlisted-region", "--kms-key", key],
        ));
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        stderr(&o)
            .lines()
            .find(|l| l.contains("--allow-unlisted-region:"))
            .map(str::to_owned)
    };
    assert_eq!(notice(&key("us-east-1")), None, "every region is listed");
    let unlisted = notice(&key("eu-north-9")).expect("a notice");
    assert!(
        unlisted.contains("does not hold eu-north-9;"),
        "only the key's region: {unlisted}"
    );
}

#[test]
fn uploads_cannot_set_a_public_acl() {
    let policy = render_json("s3-access-policy", &[]);
    let denies: Vec<&Value> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["Effect"] == "Deny")
        .collect();
    let acl = denies
        .iter()
        .find(|s| s["Condition"].to_string().contains("s3:x-amz-acl"))
        .expect("a Deny on the canned ACL header");
    assert_eq!(acl["Action"], json!(["s3:PutObject"]));
    assert_eq!(
        acl["Condition"]["StringNotEquals"]["s3:x-amz-acl"],
        json!(["private", "bucket-owner-full-control"])
    );
    assert_eq!(acl["Condition"]["Null"]["s3:x-amz-acl"], "false");
    for header in [
        "s3:x-amz-grant-full-control",
        "s3:x-amz-grant-read",
        "s3:x-amz-grant-read-acp",
        "s3:x-amz-grant-write-acp",
    ] {
        assert!(
            denies
                .iter()
                .any(|s| s["Condition"]["Null"][header] == "false"),
            "no Deny on {header}"
        );
    }
    let read_only = render_json("s3-access-policy", &["--access", "read-only"]);
    assert!(!read_only.to_string().contains("Deny"), "nothing to deny");
}

#[test]
fn review_names_the_real_boundaries() {
    let review = render("review", &[]);
    assert!(
        !review.contains("no public sharing through ACLs"),
        "{review}"
    );
    assert!(review.contains("x-amz-acl"), "{review}");
    assert!(review.contains("create pods in namespace"), "{review}");
    assert!(review.contains("kubernetes.remote_identity"), "{review}");
    assert!(review.contains("disableSessionTags"), "{review}");
    for artifact in ["review", "runbook", "skypilot-config"] {
        let text = render(artifact, &[]);
        assert!(!text.contains("machine that runs"), "{artifact}");
    }
    let review = render("review", &["--mount-mode", "MOUNT_CACHED"]);
    assert!(review.contains("API server"), "{review}");
    for identity in ["SSO", "IAM_ROLE", "CONTAINER_ROLE", "LOGIN"] {
        assert!(review.contains(identity), "{identity}");
    }
}
