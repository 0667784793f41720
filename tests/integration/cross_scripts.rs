//! The cross-account scripts as a reviewer runs them, on a PATH of basic
//! tools only: `scripts/bucket-owner.sh` (the bucket owner's side) and the
//! apply/verify/teardown scripts of a Pod Identity target-role bundle.
//! `--help` explains every option and action the argument loop takes, an
//! unknown option exits 2, dry runs need neither the AWS CLI nor jq, a real
//! run without them stops before it runs anything, and hostile values reach
//! the scripts quoted.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use podiam::artifacts::bundle;
use podiam::input::model::Model;
use podiam::input::params::RawParams;
use serde_json::Value;

use crate::cli::{stderr, stdout};
use crate::corpus;
use crate::fixtures;
use crate::scripts_cli::{Sandbox, accepted_options, option_lines, strings};

const OWNER: &str = "222222222222";
const TARGET: &str = "333333333333";
const KEY: &str = "arn:aws:kms:us-west-2:222222222222:key/1234abcd";
const OTHER_KEY: &str = "arn:aws:kms:eu-west-1:222222222222:key/5678ef90";

/// The bucket owner's bundle: two buckets and keys in two regions.
fn owner_args() -> Vec<String> {
    strings(&[
        "--bucket",
        "other-bucket",
        "--account-id",
        "123456789012",
        "--bucket-account",
        OWNER,
        "--kms-key",
        KEY,
        "--kms-key",
        OTHER_KEY,
    ])
}

/// A target-role bundle with two bindings.
fn target_args() -> Vec<String> {
    strings(&[
        "--account-id",
        "123456789012",
        "--target-account",
        TARGET,
        "--bind",
        "team-b:reader",
    ])
}

fn script_text(bundle: &Path, script: &str) -> String {
    fs::read_to_string(bundle.join(format!("scripts/{script}.sh"))).expect("script")
}

/// The lines of the help section that starts with `heading`, up to the next blank line.
fn section<'a>(help: &'a str, heading: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| *l != heading)
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect()
}

#[test]
fn bucket_owner_help_explains_every_option_and_action_the_loop_takes() {
    let sandbox = Sandbox::new();
    let bundle = sandbox.bundle("owner", &owner_args());
    let accepted = accepted_options(&script_text(&bundle, "bucket-owner"));
    for want in [
        "apply",
        "verify",
        "teardown",
        "--dry-run",
        "--yes",
        "-h",
        "--help",
    ] {
        assert!(accepted.iter().any(|a| a == want), "{want}: {accepted:?}");
    }
    let o = sandbox.run(&bundle, "bucket-owner", &["--help"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let help = stdout(&o);
    assert!(
        help.starts_with("Usage: ") && help.contains(OWNER),
        "{help}"
    );
    let options = option_lines(&help);
    let actions = section(&help, "Actions:");
    for option in &accepted {
        if option.starts_with('-') {
            let line = options.iter().find(|(names, _)| names.contains(option));
            let Some((_, words)) = line else {
                panic!("--help does not explain {option}:\n{help}");
            };
            assert!(*words >= 4, "{option} has no explanation:\n{help}");
        } else {
            let line = actions
                .iter()
                .find(|l| l.split_whitespace().next() == Some(option.as_str()));
            let Some(line) = line else {
                panic!("--help does not explain the action {option}:\n{help}");
            };
            assert!(line.split_whitespace().count() >= 5, "{line}");
        }
    }
    for (names, _) in &options {
        for option in names {
            assert!(accepted.contains(option), "--help offers {option}");
        }
    }
    assert_eq!(actions.len(), 3, "{help}");
    let short = sandbox.run(&bundle, "bucket-owner", &["-h"], &[]);
    assert_eq!(stdout(&short), help);
}

#[test]
fn target_role_scripts_explain_and_take_target_profile() {
    let sandbox = Sandbox::new();
    let bundle = sandbox.bundle("target", &target_args());
    for script in ["apply", "verify", "teardown"] {
        let accepted = accepted_options(&script_text(&bundle, script));
        assert!(
            accepted.iter().any(|a| a == "--target-profile"),
            "{script}: {accepted:?}"
        );
        let o = sandbox.run(&bundle, script, &["--help"], &[]);
        assert_eq!(o.status.code(), Some(0), "{script}: {}", stderr(&o));
        let help = stdout(&o);
        let lines = option_lines(&help);
        for option in &accepted {
            let line = lines.iter().find(|(names, _)| names.contains(option));
            let Some((_, words)) = line else {
                panic!("{script}.sh --help does not explain {option}:\n{help}");
            };
            assert!(*words >= 4, "{script}: {option}:\n{help}");
        }
        // --target-profile without a name is a usage error, not a run.
        let o = sandbox.run(&bundle, script, &["--target-profile"], &[]);
        assert_eq!(o.status.code(), Some(2), "{script}: {}", stderr(&o));
        assert!(stderr(&o).contains("--target-profile needs a profile name"));
    }
    // Single-account bundles keep their options.
    let plain = sandbox.bundle("plain", &[]);
    for script in ["apply", "verify", "teardown"] {
        let accepted = accepted_options(&script_text(&plain, script));
        assert!(
            !accepted.iter().any(|a| a == "--target-profile"),
            "{script}"
        );
        assert!(!script_text(&plain, script).contains("TARGET_"), "{script}");
    }
}

#[test]
fn unknown_options_and_a_missing_action_exit_2_with_the_usage() {
    let sandbox = Sandbox::new();
    let bundle = sandbox.bundle("owner", &owner_args());
    let cases: [&[&str]; 4] = [
        &["--no-such-option"],
        &["apply", "extra"],
        &["apply", "verify"],
        &["--dry-run"],
    ];
    for args in cases {
        let o = sandbox.run(&bundle, "bucket-owner", args, &[]);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), "", "{args:?}");
        assert!(stderr(&o).contains("Usage: "), "{args:?}: {}", stderr(&o));
    }
    let target = sandbox.bundle("target", &target_args());
    for script in ["apply", "verify", "teardown"] {
        let o = sandbox.run(&target, script, &["--target-profile", "p", "--bogus"], &[]);
        assert_eq!(o.status.code(), Some(2), "{script}: {}", stderr(&o));
        assert!(stderr(&o).contains("unknown option --bogus"), "{script}");
    }
}

/// The statement ids of `file` in the bundle (the reviewed policy documents).
fn sids(bundle: &Path, file: &str) -> Vec<String> {
    let text = fs::read_to_string(bundle.join(file)).expect("policy");
    let doc: Value = serde_json::from_str(&text).expect("json");
    doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| s["Sid"].as_str().expect("sid").to_owned())
        .collect()
}

#[test]
fn bucket_owner_dry_runs_need_neither_aws_nor_jq_and_name_every_statement() {
    let sandbox = Sandbox::new();
    let bundle = sandbox.bundle("owner", &owner_args());
    assert!(!sandbox.bin().join("jq").exists() && !sandbox.bin().join("aws").exists());
    let bucket_sids = sids(&bundle, "iam/bucket-policy.json");
    let key_sids = sids(&bundle, "iam/kms-key-policy.json");
    assert_eq!((bucket_sids.len(), key_sids.len()), (4, 2));
    for action in ["apply", "verify", "teardown"] {
        let o = sandbox.run(&bundle, "bucket-owner", &[action, "--dry-run"], &[]);
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{action}: {}{out}", stderr(&o));
        assert!(out.contains("+ aws sts get-caller-identity"), "{action}");
        for bucket in ["my-bucket", "other-bucket"] {
            assert!(
                out.contains(&format!("+ aws s3api get-bucket-policy --bucket {bucket} ")),
                "{action}: {out}"
            );
        }
        for key in [KEY, OTHER_KEY] {
            assert!(
                out.contains(&format!(
                    "+ aws kms get-key-policy --key-id {key} --policy-name default --region {}",
                    key.split(':').nth(3).expect("region")
                )),
                "{action}: {out}"
            );
        }
        if action != "verify" {
            for sid in bucket_sids.iter().chain(&key_sids) {
                assert!(out.contains(sid.as_str()), "{action} does not name {sid}");
            }
        }
        assert!(!out.contains("bypass-policy-lockout-safety-check"));
    }
    let apply = stdout(&sandbox.run(&bundle, "bucket-owner", &["apply", "--dry-run"], &[]));
    assert!(apply.contains("+ aws s3api put-bucket-policy --bucket other-bucket"));
    assert!(apply.contains("+ aws kms put-key-policy --key-id arn:aws:kms:eu-west-1:"));
    assert!(
        apply.contains("== 4/4 key policy of arn:aws:kms:eu-west-1:"),
        "{apply}"
    );
    let teardown = stdout(&sandbox.run(&bundle, "bucket-owner", &["teardown", "--dry-run"], &[]));
    assert!(teardown.contains("+ aws s3api delete-bucket-policy --bucket my-bucket"));
    // A real run needs the tools and stops, naming the missing one, before it runs anything.
    let o = sandbox.run(&bundle, "bucket-owner", &["apply"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("aws is not on PATH"), "{}", stderr(&o));
    assert!(stderr(&o).contains("--dry-run"), "{}", stderr(&o));
    assert!(!stdout(&o).contains("+ aws"), "{}", stdout(&o));
}

#[test]
fn target_role_apply_dry_run_checks_the_external_id_before_the_target_account() {
    let sandbox = Sandbox::new();
    let bundle = sandbox.bundle("target", &target_args());
    let o = sandbox.run(&bundle, "apply", &["--dry-run"], &[]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{}{out}", stderr(&o));
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("apply.sh --dry-run does not print {needle:?}:\n{out}"))
    };
    let source_role = at("+ aws iam create-role --role-name SkyPilotS3Role-my-bucket");
    let inline = at(
        "+ aws iam put-role-policy --role-name SkyPilotS3Role-my-bucket --policy-name podiam-assume-target-role",
    );
    let association = at(&format!(
        "--target-role-arn arn:aws:iam::{TARGET}:role/SkyPilotS3Role-my-bucket"
    ));
    let external =
        at("would check: the association's externalId is us-west-2/123456789012/c1/team-b/reader");
    let target_policy = at("+ aws --profile TARGET_PROFILE iam create-policy");
    let target_role = at("+ aws --profile TARGET_PROFILE iam create-role");
    let attach = at("+ aws --profile TARGET_PROFILE iam attach-role-policy");
    assert!(source_role < inline && inline < association && association < external);
    assert!(external < target_policy && target_policy < target_role && target_role < attach);
    assert!(out.contains("target-trust-policy.json"));
    // The cluster account never gets the S3 policy.
    assert!(!out.contains("+ aws iam create-policy"), "{out}");
    assert!(!out.contains("+ aws iam attach-role-policy"), "{out}");
    let steps: Vec<&str> = out.lines().filter(|l| l.starts_with("== ")).collect();
    for n in 1..=7 {
        assert!(
            steps.iter().any(|s| s.starts_with(&format!("== {n}/7 "))),
            "step {n}/7: {steps:?}"
        );
    }
    let teardown = stdout(&sandbox.run(&bundle, "teardown", &["--dry-run"], &[]));
    let at = |needle: &str| {
        teardown
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}:\n{teardown}"))
    };
    assert!(
        at("+ aws --profile TARGET_PROFILE iam delete-role ")
            < at("+ aws iam delete-role-policy --role-name SkyPilotS3Role-my-bucket")
    );
    assert!(at("+ aws iam delete-role-policy ") < at("+ aws iam delete-role "));
    // A real run without --target-profile stops before it writes (here at the
    // missing AWS CLI, which comes first).
    let o = sandbox.run(&bundle, "apply", &[], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("aws is not on PATH"), "{}", stderr(&o));
}

/// Renders a bundle for `raw` into `dir` as `podiam generate` writes it.
fn write_bundle(raw: &RawParams, dir: &Path) -> Option<()> {
    let model = Model::from_raw(raw).ok()?;
    let rendered = bundle::render(&model, &bundle::for_model(&model)).expect("renders");
    for r in rendered {
        let path = dir.join(r.artifact.path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, &r.text).expect("write");
        if r.artifact.path.ends_with(".sh") {
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    Some(())
}

#[test]
fn hostile_values_reach_the_cross_account_scripts_quoted() {
    let sandbox = Sandbox::new();
    let base = RawParams {
        account_id: Some("123456789012".into()),
        target_account: Some(TARGET.into()),
        bucket_account: Some(OWNER.into()),
        kms_key: Some(vec![KEY.into()]),
        ..fixtures::docs()
    };
    type Setter = fn(&mut RawParams, String);
    let fields: [(&str, Setter); 5] = [
        ("role-name", |r, v| r.role_name = Some(v)),
        ("iam-path", |r, v| r.iam_path = Some(v)),
        ("namespace", |r, v| r.namespace = Some(v)),
        ("service-account", |r, v| r.service_account = Some(v)),
        ("policy-name", |r, v| r.policy_name = Some(v)),
    ];
    let mut accepted = 0;
    for (field, set) in fields {
        for (i, value) in corpus::values().iter().enumerate() {
            let mut raw = base.clone();
            set(&mut raw, value.clone());
            let dir = sandbox.bin().with_file_name(format!("h-{field}-{i}"));
            if write_bundle(&raw, &dir).is_none() {
                continue;
            }
            accepted += 1;
            let what = format!("{field}={value:?}");
            let policy: Value = serde_json::from_str(
                &fs::read_to_string(dir.join("iam/bucket-policy.json")).expect("policy"),
            )
            .expect("json");
            let role = policy["Statement"][0]["Principal"]["AWS"]
                .as_str()
                .expect("role");
            let o = sandbox.run(&dir, "bucket-owner", &["apply", "--dry-run"], &[]);
            assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
            assert!(
                stdout(&o).contains(&format!("role {role}, account {OWNER}")),
                "{what}: {}",
                stdout(&o)
            );
            let o = sandbox.run(&dir, "apply", &["--dry-run"], &[]);
            assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
            let trust: Value = serde_json::from_str(
                &fs::read_to_string(dir.join("iam/target-trust-policy.json")).expect("trust"),
            )
            .expect("json");
            let id = trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"]
                .as_str()
                .expect("one externalId");
            assert!(
                stdout(&o).contains(&format!("the association's externalId is {id}, ")),
                "{what}: {}",
                stdout(&o)
            );
            fs::remove_dir_all(&dir).expect("clean");
        }
    }
    assert!(accepted >= 10, "only {accepted} hostile values accepted");
}
