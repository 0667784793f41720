//! Bindings (issue 11): one role for several workloads, wildcards under
//! IRSA only, the trust policy quota, batch targets merged by role, and
//! `--method both`; every bundle regenerates from its own `params.yaml`.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::batch::generate as generate_from;
use crate::cli::{podiam, stderr};
use crate::review_loop::files;

const ISSUER: &str = "https://oidc.eks.us-west-2.amazonaws.com/id/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const OTHER: &str = "https://oidc.eks.us-west-2.amazonaws.com/id/BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
const BASE: [&str; 8] = [
    "--cluster",
    "c1",
    "--region",
    "us-west-2",
    "--bucket",
    "shared-bucket",
    "--account-id",
    "123456789012",
];

fn generate(out: &Path, extra: &[&str]) -> Output {
    let out = out.to_str().expect("utf8");
    let mut args = vec!["generate", "--out", out];
    args.extend(BASE);
    args.extend(extra);
    podiam(&args)
}

fn trust(dir: &Path) -> Value {
    let text = fs::read_to_string(dir.join("iam/trust-policy.json")).expect("trust policy");
    serde_json::from_str(&text).expect("json")
}

fn write_params(dir: &Path, text: &str) -> String {
    let path = dir.join("in.yaml");
    fs::write(&path, text).expect("write params");
    path.to_str().expect("utf8").to_owned()
}

#[test]
fn bad_bindings_are_refused_naming_the_binding_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let irsa = ["--method", "irsa", "--oidc-issuer", ISSUER];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--bind", "team-*:reader"],
            "bindings[0] \"team-*:reader\": holds '*' or '?': a Pod Identity association names one namespace",
        ),
        (
            vec![
                "--method",
                "both",
                "--oidc-issuer",
                ISSUER,
                "--bind",
                "ns:job-?",
            ],
            "bindings[0] \"ns:job-?\": holds '*' or '?'",
        ),
        (
            [irsa.as_slice(), &["--bind", "*:*"]].concat(),
            "bindings[0] \"*:*\": would admit every service account of cluster c1",
        ),
        (
            vec!["--bind", "default:skypilot-service-account"],
            "is bound on cluster c1 already",
        ),
        (
            vec!["--bind", "a:b", "--bind", "a:b"],
            "bindings[1] \"a:b\": is bound on cluster c1 already",
        ),
        (
            vec!["--bind", "Team:x"],
            "bindings[0].namespace \"Team\": Kubernetes namespaces are RFC 1123 labels",
        ),
        (
            vec![
                "--bind=-team*:x",
                "--method",
                "irsa",
                "--oidc-issuer",
                ISSUER,
            ],
            "bindings[0].namespace \"-team*\"",
        ),
        (
            vec!["--bind", "team-a"],
            "a binding is NAMESPACE:SERVICE_ACCOUNT",
        ),
        (
            vec!["--trust-policy-quota", "9000"],
            "trust-policy-quota \"9000\": the trust policy length quota is a whole number of characters from 2048",
        ),
    ];
    for (i, (extra, needle)) in cases.into_iter().enumerate() {
        let out = dir.path().join(format!("o{i}"));
        let o = generate(&out, &extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{extra:?}: {}", stderr(&o));
        assert!(!out.exists(), "{extra:?}: something was written");
    }
}

#[test]
fn each_cluster_needs_its_own_issuer_under_irsa() {
    let dir = tempfile::tempdir().expect("tempdir");
    let head = format!(
        "cluster: c1\nregion: us-west-2\nbucket: shared-bucket\naccount_id: \"123456789012\"\nmethod: irsa\noidc_issuer: {ISSUER}\n"
    );
    let cases = [
        (
            "bindings:\n  - cluster: c2\n    namespace: ml\n",
            "bindings[0].oidc_issuer: is required for cluster c2: IRSA trusts each cluster's own OIDC provider",
        ),
        (
            &*format!("bindings:\n  - namespace: ml\n    oidc_issuer: {OTHER}\n"),
            "cluster c1 has one OIDC issuer, but the bindings give it two",
        ),
        (
            &*format!("bindings:\n  - cluster: c2\n    namespace: ml\n    oidc_issuer: {ISSUER}\n"),
            "clusters c1 and c2 cannot share the issuer",
        ),
    ];
    for (tail, needle) in cases {
        let file = write_params(dir.path(), &format!("{head}{tail}"));
        let out = dir.path().join("o");
        let o = generate_from(&file, &out, &[]);
        assert_eq!(o.status.code(), Some(2), "{tail}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{tail}: {}", stderr(&o));
        assert!(!out.exists());
    }
}

#[test]
fn the_trust_policy_is_held_to_the_quota_and_a_raised_quota_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binds: Vec<String> = (0..12).map(|i| format!("team-{i:02}:runner")).collect();
    let mut extra: Vec<&str> = Vec::new();
    for b in &binds {
        extra.extend(["--bind", b.as_str()]);
    }
    let out = dir.path().join("o");
    let o = generate(&out, &extra);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("the trust policy would be ")
            && err.contains("IAM's default quota for a role trust policy is 2048"),
        "{err}"
    );
    assert!(err.contains("give --trust-policy-quota N"), "{err}");
    assert!(!out.exists());
    extra.extend(["--trust-policy-quota", "8192"]);
    let o = generate(&out, &extra);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(trust(&out)["Statement"].as_array().map(Vec::len), Some(13));
    let params = fs::read_to_string(out.join("params.yaml")).expect("params");
    assert!(params.contains("\ntrust_policy_quota: 8192\n"), "{params}");
    let o = podiam(&["check", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Runs the RUNBOOK's in-place command inside `dir`, as a reader would.
fn regenerate_in_place(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podiam"))
        .env_clear()
        .current_dir(dir)
        .args([
            "generate",
            "--params",
            "params.yaml",
            "--out",
            ".",
            "--force",
        ])
        .output()
        .expect("run podiam")
}

#[test]
fn multi_binding_bundles_check_clean_and_regenerate_in_place_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let several = format!(
        "cluster: c1\nregion: us-west-2\nbucket: shared-bucket\naccount_id: \"123456789012\"\nmethod: irsa\noidc_issuer: {ISSUER}\nnamespace: ml\nservice_account: runner\nbindings:\n  - namespace: \"team-*\"\n    service_account: reader\n  - cluster: c2\n    namespace: ml\n    oidc_issuer: {OTHER}\n"
    );
    let file = write_params(dir.path(), &several);
    let pod_identity_elsewhere = format!(
        "cluster: c1\nregion: us-west-2\nbucket: shared-bucket\nbindings:\n  - cluster: c2\n    namespace: ml\n    oidc_issuer: {OTHER}\n"
    );
    let elsewhere = dir.path().join("elsewhere.yaml");
    fs::write(&elsewhere, pod_identity_elsewhere).expect("write");
    let elsewhere = elsewhere.to_str().expect("utf8").to_owned();
    let shapes: Vec<(Vec<&str>, usize)> = vec![
        (
            vec![
                "--namespace",
                "team-a",
                "--service-account",
                "runner",
                "--bind",
                "team-b:reader",
                "--bind",
                "team-a:writer",
            ],
            2,
        ),
        (vec!["--params", &file], 2),
        (vec!["--params", &elsewhere], 2),
        (
            vec![
                "--method",
                "both",
                "--oidc-issuer",
                ISSUER,
                "--bind",
                "team-b:reader",
            ],
            3,
        ),
    ];
    for (i, (extra, statements)) in shapes.into_iter().enumerate() {
        let out = dir.path().join(format!("b{i}"));
        let o = if extra[0] == "--params" {
            generate_from(extra[1], &out, &[])
        } else {
            generate(&out, &extra)
        };
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", stderr(&o));
        assert_eq!(
            trust(&out)["Statement"].as_array().map(Vec::len),
            Some(statements),
            "{extra:?}"
        );
        let o = podiam(&["check", out.to_str().expect("utf8")]);
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", stderr(&o));
        let before = files(&out);
        let o = regenerate_in_place(&out);
        assert_eq!(o.status.code(), Some(0), "{extra:?}: {}", stderr(&o));
        assert_eq!(
            files(&out),
            before,
            "{extra:?}: regenerating in place changed the bundle"
        );
    }
}

#[test]
fn review_names_every_binding_and_what_each_wildcard_admits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o");
    let o = generate(
        &out,
        &[
            "--method",
            "irsa",
            "--oidc-issuer",
            ISSUER,
            "--bind",
            "team-*:reader",
            "--bind",
            "ml:job-?",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let review = fs::read_to_string(out.join("REVIEW.md")).expect("review");
    for needle in [
        "- **Bindings:** the role admits these 3 workloads and no other pairing of their names:",
        "  - cluster `c1`, namespace `team-*`, service account `reader`",
        "- **Wildcard binding `team-*:reader`:** the token subject `system:serviceaccount:team-*:reader` is compared with `StringLike`, so it admits the service account reader in every namespace whose name matches team-\\*",
        "- **Wildcard binding `ml:job-?`:** the token subject `system:serviceaccount:ml:job-?` is compared with `StringLike`, so it admits every service account whose name matches job-\\? in the namespace ml",
    ] {
        assert!(review.contains(needle), "{needle}\n{review}");
    }
}

const MERGING: &str = "\
defaults:
  cluster: c1
  region: us-west-2
  bucket: shared-bucket
  account_id: \"123456789012\"
targets:
  - name: a
    namespace: team-a
    service_account: runner
  - name: b
    namespace: team-b
    service_account: reader
  - name: other
    bucket: other-bucket
";

#[test]
fn batch_targets_naming_one_role_become_one_bundle_with_several_bindings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_params(dir.path(), MERGING);
    let out = dir.path().join("o");
    let o = generate_from(&file, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("targets \"a\" and \"b\" name the same role and agree on everything else: one role with 2 bindings, written to folder \"a\""),
        "{}",
        stderr(&o)
    );
    assert!(out.join("a").is_dir() && out.join("other").is_dir() && !out.join("b").exists());
    let statements = trust(&out.join("a"))["Statement"].clone();
    let namespaces: Vec<&str> = statements
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            s["Condition"]["StringEquals"]["aws:RequestTag/kubernetes-namespace"].as_str()
        })
        .collect();
    assert_eq!(namespaces, ["team-a", "team-b"]);
    let o = podiam(&["check", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = podiam(&[
        "generate",
        "--params",
        &file,
        "--out",
        dir.path().join("t").to_str().expect("utf8"),
        "--target",
        "b",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("target \"b\": names the same role as target \"a\", so the batch merges it into \"a\"'s bundle; give --target a"), "{}", stderr(&o));
    let disagreeing = MERGING.replace(
        "    service_account: reader\n",
        "    service_account: reader\n    access: read-only\n",
    );
    let file = write_params(dir.path(), &disagreeing);
    let out = dir.path().join("refused");
    let o = generate_from(&file, &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("targets \"a\" and \"b\" name the same role \"SkyPilotS3Role-shared-bucket\" but differ in access: unset and \"read-only\""), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn merging_compares_effective_values_and_lists_shared_bindings_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = MERGING
        .replace(
            "  account_id: \"123456789012\"\n",
            "  account_id: \"123456789012\"\n  bindings:\n    - namespace: monitoring\n      service_account: exporter\n",
        )
        .replace(
            "    service_account: reader\n",
            "    service_account: reader\n    method: pod-identity\n    iam_path: /\n",
        );
    let file = write_params(dir.path(), &text);
    let out = dir.path().join("o");
    let o = generate_from(&file, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let params = fs::read_to_string(out.join("a/params.yaml")).expect("params");
    assert_eq!(
        params.matches("namespace: monitoring").count(),
        1,
        "{params}"
    );
    assert!(params.contains("namespace: team-b"), "{params}");
    let index = out.join("params.yaml");
    let more = fs::read_to_string(&index).expect("index")
        + "  - name: z\n    cluster: c1\n    region: us-west-2\n    bucket: [shared-bucket]\n    account_id: \"123456789012\"\n    namespace: team-z\n";
    fs::write(&index, more).expect("append");
    let o = regenerate_in_place(&out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let params = fs::read_to_string(out.join("a/params.yaml")).expect("params");
    assert!(params.contains("namespace: team-z"), "{params}");
}

#[test]
fn target_sees_only_its_own_role_s_merge_and_its_partners_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disagreeing = MERGING.replace(
        "    service_account: reader\n",
        "    service_account: reader\n    access: read-only\n",
    );
    let file = write_params(dir.path(), &disagreeing);
    let out = dir.path().join("other");
    let o = generate_from(&file, &out, &["--target", "other"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let broken = MERGING.replace("    namespace: team-b\n", "    namespace: Team-b\n");
    let file = write_params(dir.path(), &broken);
    let out = dir.path().join("a");
    let o = generate_from(&file, &out, &["--target", "a"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("target \"b\": namespace \"Team-b\""),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn the_quota_holds_for_the_terraform_form_too() {
    // 2048 characters as JSON, which IAM's default quota allows; the
    // Terraform writes each single service account as a one-element list,
    // 12 characters more, which IAM would refuse at apply time.
    let dir = tempfile::tempdir().expect("tempdir");
    let binds: Vec<String> = (1..=5)
        .map(|i| format!("ns{i}{}:saaaaaa", "a".repeat(14)))
        .collect();
    let mut extra = vec!["--namespace", "team-a", "--service-account", "runner"];
    for b in &binds {
        extra.extend(["--bind", b.as_str()]);
    }
    let out = dir.path().join("o");
    let o = generate(&out, &extra);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the trust policy would be 2048 characters without white space, 2060 as the Terraform writes it"),
        "{}",
        stderr(&o)
    );
    extra.extend(["--trust-policy-quota", "2060"]);
    let o = generate(&out, &extra);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
