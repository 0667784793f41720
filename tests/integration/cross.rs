//! Other accounts (issue 12): `--bucket-account` adds the bucket owner's
//! side, `--target-account` a Pod Identity target role; bad input is refused
//! naming the field, and each bundle holds exactly the files of its shape
//! and regenerates from its own `params.yaml`.

use std::fs;
use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::cli::{podiam, stderr};
use crate::review_loop::files;

const CLUSTER_ACCOUNT: &str = "111111111111";
const LAKE: &str = "222222222222";
const KEY: &str = "arn:aws:kms:us-west-2:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const BASE: [&str; 8] = [
    "--cluster",
    "c1",
    "--region",
    "us-west-2",
    "--bucket",
    "lake-data",
    "--account-id",
    CLUSTER_ACCOUNT,
];

fn generate(out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().expect("utf8");
    let mut args = vec!["generate", "--out", out];
    args.extend(BASE);
    args.extend(extra);
    podiam(&args)
}

/// `podiam check DIR` finds no drift: the bundle regenerates from its params.yaml.
fn checks_clean(dir: &Path) {
    let check = podiam(&["check", dir.to_str().expect("utf8")]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
}

fn json(dir: &Path, path: &str) -> Value {
    let text = fs::read_to_string(dir.join(path)).expect(path);
    serde_json::from_str(&text).expect("json")
}

const BUCKET_OWNER_FILES: [&str; 4] = [
    "iam/bucket-policy.json",
    "iam/kms-key-policy.json",
    "scripts/bucket-owner.sh",
    "terraform/bucket-owner/main.tf",
];
const TARGET_FILES: [&str; 2] = [
    "iam/target-trust-policy.json",
    "iam/source-role-policy.json",
];

#[test]
fn bad_accounts_are_refused_naming_the_field_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let third = "arn:aws:kms:us-west-2:333333333333:key/1234abcd";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--bucket-account", "22222222222"],
            "bucket-account \"22222222222\": AWS account ids are exactly 12 digits",
        ),
        (
            vec!["--target-account", "x22222222222"],
            "target-account \"x22222222222\"",
        ),
        (
            vec!["--target-account", LAKE, "--method", "irsa"],
            "target-account \"222222222222\": a target role is an EKS Pod Identity feature",
        ),
        (
            vec!["--bucket-account", LAKE, "--kms-key", third],
            "kms-key \"arn:aws:kms:us-west-2:333333333333:key/1234abcd\": the key is in account 333333333333, which is neither",
        ),
    ];
    for (i, (extra, message)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("b{i}"));
        let o = generate(&out, extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(message), "{extra:?}: {}", stderr(&o));
        assert!(!out.exists(), "{extra:?} wrote {out:?}");
    }
    // Without the cluster's account neither shape can name the role.
    let o = podiam(&[
        "render",
        "bucket-policy",
        "--cluster",
        "c1",
        "--region",
        "us-west-2",
        "--bucket",
        "lake-data",
        "--bucket-account",
        LAKE,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("bucket-account \"222222222222\": needs the cluster's account"));
}

#[test]
fn the_cluster_account_as_bucket_account_is_a_note_and_the_bundle_stays_single_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (same, plain) = (dir.path().join("same"), dir.path().join("plain"));
    let o = generate(&same, &["--bucket-account", CLUSTER_ACCOUNT]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is the cluster's own account: the bundle stays single-account"),
        "{}",
        stderr(&o)
    );
    assert_eq!(generate(&plain, &[]).status.code(), Some(0));
    let (same, plain) = (files(&same), files(&plain));
    assert_eq!(
        same.keys().collect::<Vec<_>>(),
        plain.keys().collect::<Vec<_>>()
    );
    // Only the review sheet (which lists the note), params.yaml (which keeps
    // the value as given, so the note comes back) and the manifest differ.
    for (path, (bytes, _)) in &same {
        if !["REVIEW.md", "manifest.json", "params.yaml"].contains(&path.as_str()) {
            assert!(
                *bytes == plain[path].0,
                "{path} differs from a plain bundle's"
            );
        }
    }
}

#[test]
fn a_bucket_owner_bundle_has_the_owner_side_and_a_plain_one_none_of_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cross, plain) = (dir.path().join("cross"), dir.path().join("plain"));
    let o = generate(&cross, &["--bucket-account", LAKE, "--kms-key", KEY]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(generate(&plain, &[]).status.code(), Some(0));
    let (cross_files, plain_files) = (files(&cross), files(&plain));
    for path in BUCKET_OWNER_FILES {
        assert!(cross_files.contains_key(path), "{path}");
        assert!(!plain_files.contains_key(path), "{path}");
    }
    for path in TARGET_FILES {
        assert!(!cross_files.contains_key(path), "{path}");
    }
    assert!(cross_files["scripts/bucket-owner.sh"].1, "executable");
    // The bucket policy names the role, only the bucket, and the role's own actions.
    let policy = json(&cross, "iam/bucket-policy.json");
    let role = format!("arn:aws:iam::{CLUSTER_ACCOUNT}:role/SkyPilotS3Role-lake-data");
    for s in policy["Statement"].as_array().expect("statements") {
        assert_eq!(s["Principal"]["AWS"], role.as_str());
        assert!(s["Sid"].as_str().expect("sid").starts_with("Podiam"));
        for r in s["Resource"].as_array().expect("resources") {
            let r = r.as_str().expect("arn");
            assert!(
                r == "arn:aws:s3:::lake-data" || r == "arn:aws:s3:::lake-data/*",
                "{r}"
            );
        }
    }
    let key = json(&cross, "iam/kms-key-policy.json");
    assert_eq!(key["Statement"][0]["Resource"], "*");
    assert_eq!(
        key["Statement"][0]["Condition"]["StringEquals"]["kms:ViaService"],
        "s3.us-west-2.amazonaws.com"
    );
    // The manifest records the account; params.yaml regenerates the bundle.
    let manifest = json(&cross, "manifest.json");
    assert_eq!(manifest["parameters"]["bucket_account"], LAKE);
    assert!(
        json(&plain, "manifest.json")["parameters"]
            .get("bucket_account")
            .is_none()
    );
    checks_clean(&cross);
}

#[test]
fn a_target_role_bundle_chains_from_the_source_role_for_each_association() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("t");
    let o = generate(&out, &["--target-account", LAKE, "--bind", "team-b:reader"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let found = files(&out);
    for path in TARGET_FILES {
        assert!(found.contains_key(path), "{path}");
    }
    for path in BUCKET_OWNER_FILES {
        assert!(
            !found.contains_key(path),
            "the buckets are the target account's: {path}"
        );
    }
    let trust = json(&out, "iam/target-trust-policy.json");
    let assume = &trust["Statement"][0];
    assert_eq!(assume["Action"], "sts:AssumeRole");
    assert_eq!(
        assume["Principal"]["AWS"],
        format!("arn:aws:iam::{CLUSTER_ACCOUNT}:root")
    );
    assert_eq!(
        assume["Condition"]["ArnEquals"]["aws:PrincipalArn"],
        format!("arn:aws:iam::{CLUSTER_ACCOUNT}:role/SkyPilotS3Role-lake-data")
    );
    assert_eq!(
        assume["Condition"]["StringEquals"]["sts:ExternalId"],
        serde_json::json!([
            "us-west-2/111111111111/c1/default/skypilot-service-account",
            "us-west-2/111111111111/c1/team-b/reader"
        ])
    );
    let source = json(&out, "iam/source-role-policy.json");
    assert_eq!(
        source["Statement"][0]["Resource"][0],
        format!("arn:aws:iam::{LAKE}:role/SkyPilotS3Role-lake-data")
    );
    let review = fs::read_to_string(out.join("REVIEW.md")).expect("review");
    assert!(
        review.contains("### The target role (role chaining)"),
        "{review}"
    );
    let runbook = fs::read_to_string(out.join("RUNBOOK.md")).expect("runbook");
    assert!(runbook.contains("## Accounts and credentials"), "{runbook}");
    assert!(
        runbook.contains("--target-role-arn \"$TARGET_ROLE_ARN\""),
        "{runbook}"
    );
    let params = fs::read_to_string(out.join("params.yaml")).expect("params");
    assert!(
        params.contains("target_account: \"222222222222\""),
        "{params}"
    );
    checks_clean(&out);
}

#[test]
fn a_cross_account_artifact_alone_needs_its_shape() {
    let mut args = vec!["render", "target-trust-policy"];
    args.extend(BASE);
    let o = podiam(&args);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("target-account: only a Pod Identity bundle with a target role"),
        "{}",
        stderr(&o)
    );
    args.extend(["--target-account", LAKE]);
    let o = podiam(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_bundle_regenerated_without_its_other_account_keeps_and_names_the_stale_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b");
    let o = generate(&out, &["--bucket-account", LAKE]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let before = files(&out);
    let o = generate(&out, &["--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("scripts/bucket-owner.sh") && err.contains("bucket-owner.sh teardown"),
        "{err}"
    );
    assert!(files(&out) == before, "nothing written");
}

#[test]
fn the_own_account_note_survives_a_regeneration_from_params_yaml() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b");
    let o = generate(&out, &["--bucket-account", CLUSTER_ACCOUNT]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    checks_clean(&out);
}

#[test]
fn a_target_role_needs_a_pinned_source_trust() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b");
    let o = generate(&out, &["--target-account", LAKE, "--trust-minimal"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("target-account \"222222222222\": cannot go with --trust-minimal"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_central_kms_account_gets_its_key_policy_statement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b");
    let key = "arn:aws:kms:us-west-2:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let o = generate(&out, &["--kms-key", key]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let found = files(&out);
    assert!(found.contains_key("iam/kms-key-policy.json"));
    assert!(!found.contains_key("iam/bucket-policy.json"));
    let runbook = fs::read_to_string(out.join("RUNBOOK.md")).expect("runbook");
    assert!(
        runbook.contains("The bucket owner's account `999999999999`")
            || runbook.contains("account `999999999999`"),
        "{runbook}"
    );
}
