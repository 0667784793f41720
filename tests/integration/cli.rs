//! The binary as users run it: exit codes, messages, files written or not.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::fixtures::OIDC_ID;

pub const DOCS: [&str; 6] = [
    "--cluster",
    "my-eks-cluster",
    "--region",
    "us-west-2",
    "--bucket",
    "my-bucket",
];

/// Runs podiam with a clean environment plus `env`.
pub fn podiam_env(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_podiam"));
    cmd.env_clear().args(args).envs(env.iter().copied());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("podiam runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write stdin");
    }
    child.wait_with_output().expect("podiam finishes")
}

pub fn podiam(args: &[&str]) -> Output {
    podiam_env(args, &[], None)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts that podiam's error output names `path`.
pub fn assert_names(o: &Output, path: &Path) {
    let err = stderr(o);
    assert!(err.contains(path.to_str().expect("utf8")), "{err}");
}

fn files_below(dir: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_below(&path));
        } else {
            found.insert(path.display().to_string());
        }
    }
    found
}

/// Generates the docs page's bundle into `dir/B`, which it returns.
pub fn docs_bundle(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let out = dir.path().join("B");
    let o = podiam(
        &[
            &["generate"][..],
            &DOCS,
            &["--out", out.to_str().expect("utf8")],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).expect("read")).expect("json")
}

#[test]
fn generate_writes_the_pod_identity_bundle_with_the_docs_permissions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = docs_bundle(&dir);
    assert_eq!(
        files_below(&out).len(),
        podiam::artifacts::bundle::in_bundle()
            .iter()
            .filter(|a| a.only.is_none())
            .count()
    );
    assert!(
        podiam::artifacts::bundle::in_bundle()
            .iter()
            .filter(|a| a.only.is_none())
            .count()
            < podiam::artifacts::artifact::ARTIFACTS.len(),
        "the single Terraform file is render-only"
    );
    let policy = json(&out.join("iam/s3-access-policy.json"));
    let mut grants = BTreeSet::new();
    let statements = policy["Statement"].as_array().expect("statements");
    // Besides the grants, only the Denies on sharing ACLs set by an upload.
    for deny in statements.iter().filter(|s| s["Effect"] == "Deny") {
        assert_eq!(deny["Action"], serde_json::json!(["s3:PutObject"]));
        assert!(
            deny["Condition"].to_string().contains("s3:x-amz-"),
            "{deny}"
        );
    }
    for statement in statements.iter().filter(|s| s["Effect"] == "Allow") {
        for action in statement["Action"].as_array().expect("actions") {
            for resource in statement["Resource"].as_array().expect("resources") {
                grants.insert((
                    action.as_str().expect("s").to_owned(),
                    resource.as_str().expect("s").to_owned(),
                ));
            }
        }
    }
    let actions: BTreeSet<_> = grants.iter().map(|(a, _)| a.as_str()).collect();
    let docs_actions = [
        "s3:GetObject",
        "s3:PutObject",
        "s3:DeleteObject",
        "s3:ListBucket",
        "s3:GetBucketLocation",
    ];
    assert_eq!(actions, docs_actions.into_iter().collect());
    let resources: BTreeSet<_> = grants.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        resources,
        ["arn:aws:s3:::my-bucket", "arn:aws:s3:::my-bucket/*"]
            .into_iter()
            .collect()
    );
    // Each action is granted where it takes effect: bucket actions on the bucket, object actions on objects.
    for (action, resource) in &grants {
        let object_action = action.ends_with("Object");
        assert_eq!(
            object_action,
            resource.ends_with("/*"),
            "{action} on {resource}"
        );
    }
    let trust = json(&out.join("iam/trust-policy.json"));
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "pods.eks.amazonaws.com"
    );
}

#[test]
fn irsa_trust_pins_subject_and_audience() {
    let issuer = format!("https://oidc.eks.us-west-2.amazonaws.com/id/{OIDC_ID}");
    let o = podiam(
        &[
            &["render", "trust-policy"][..],
            &DOCS,
            &[
                "--method",
                "irsa",
                "--account-id",
                "123456789012",
                "--oidc-issuer",
                &issuer,
            ],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let trust: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let provider = format!("oidc.eks.us-west-2.amazonaws.com/id/{OIDC_ID}");
    let statement = &trust["Statement"][0];
    assert_eq!(
        statement["Principal"]["Federated"],
        format!("arn:aws:iam::123456789012:oidc-provider/{provider}")
    );
    assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
    let equals = &statement["Condition"]["StringEquals"];
    assert_eq!(
        equals[format!("{provider}:sub")],
        "system:serviceaccount:default:skypilot-service-account"
    );
    assert_eq!(equals[format!("{provider}:aud")], "sts.amazonaws.com");
}

#[test]
fn china_region_uses_the_aws_cn_partition_and_keeps_the_sts_audience() {
    let issuer = format!("oidc.eks.cn-north-1.amazonaws.com.cn/id/{OIDC_ID}");
    let args = [
        "render",
        "trust-policy",
        "--cluster",
        "c",
        "--region",
        "cn-north-1",
        "--bucket",
        "my-bucket",
        "--method",
        "irsa",
        "--account-id",
        "123456789012",
        "--oidc-issuer",
        &issuer,
    ];
    let o = podiam(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains(
            "\"arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/"
        ),
        "{text}"
    );
    assert!(text.contains(":aud\": \"sts.amazonaws.com\""), "{text}");
    let policy = podiam(&[
        "render",
        "s3-access-policy",
        "--cluster",
        "c",
        "--region",
        "cn-north-1",
        "--bucket",
        "my-bucket",
    ]);
    assert!(stdout(&policy).contains("\"arn:aws-cn:s3:::my-bucket\""));
    assert!(!stdout(&policy).contains("arn:aws:"));
}

#[test]
fn an_issuer_for_another_region_is_refused() {
    let issuer = format!("https://oidc.eks.us-east-1.amazonaws.com/id/{OIDC_ID}");
    let o = podiam(
        &[
            &["render", "trust-policy"][..],
            &DOCS,
            &[
                "--method",
                "irsa",
                "--account-id",
                "123456789012",
                "--oidc-issuer",
                &issuer,
            ],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("oidc-issuer \"https://oidc.eks.us-east-1"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("oidc.eks.us-west-2.amazonaws.com"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_input_exits_2_names_every_field_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    let o = podiam(&[
        "generate",
        "--cluster=-bad",
        "--region",
        "mars-1",
        "--bucket",
        "My_Bucket",
        "--namespace",
        "Team",
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains(
            "bucket \"My_Bucket\": S3 bucket names use lowercase letters, digits, '.' and '-'"
        ),
        "{err}"
    );
    assert!(
        err.starts_with("podiam: error: invalid parameters:\n"),
        "a plain run is no batch: {err}"
    );
    assert!(err.contains("cluster \"-bad\": EKS cluster names"), "{err}");
    assert!(
        err.contains("region \"mars-1\": AWS regions look like"),
        "{err}"
    );
    assert!(
        err.contains("namespace \"Team\": Kubernetes namespaces are RFC 1123 labels"),
        "{err}"
    );
    assert!(!out.exists(), "nothing may be written on bad input");
    assert!(stdout(&o).is_empty());
}

#[test]
fn missing_required_parameters_name_their_flag_and_variable() {
    let o = podiam(&["render", "s3-access-policy"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for needle in [
        "cluster: is required; give --cluster or set EKS_CLUSTER_NAME",
        "region: is required",
        "bucket: is required; give --bucket (repeat it for more buckets) or set S3_BUCKET",
    ] {
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn irsa_generate_without_account_id_names_the_artifacts_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    let o = podiam(
        &[
            &["generate"][..],
            &DOCS,
            &["--method", "irsa", "--out", out.to_str().expect("utf8")],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("cannot render trust-policy, serviceaccount"),
        "{err}"
    );
    assert!(
        err.contains("give --account-id or set AWS_ACCOUNT_ID"),
        "{err}"
    );
    assert!(err.contains("give --oidc-issuer"), "{err}");
    assert!(!err.contains("batch"), "a plain run is no batch: {err}");
    assert!(!out.exists());
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(podiam(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        podiam(
            &[
                &["render", "trust-policy"][..],
                &DOCS,
                &["--method", "both"]
            ]
            .concat()
        )
        .status
        .code(),
        Some(2)
    );
    let unknown = podiam(&[&["render", "no-such-artifact"][..], &DOCS].concat());
    assert_eq!(unknown.status.code(), Some(2));
    let said = stderr(&unknown);
    assert!(said.contains("invalid value 'no-such-artifact'"), "{said}");
    assert!(said.contains("s3-access-policy, trust-policy"), "{said}");
    assert_eq!(podiam(&["schema", "nope"]).status.code(), Some(2));
    assert_eq!(podiam(&["--version"]).status.code(), Some(0));
}

#[test]
fn environment_variables_alone_are_enough() {
    let env = [
        ("EKS_CLUSTER_NAME", "c"),
        ("AWS_REGION", "us-west-2"),
        ("S3_BUCKET", "b1x"),
    ];
    let o = podiam_env(&["render", "trust-policy"], &env, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("pods.eks.amazonaws.com"));
    let policy = podiam_env(&["render", "s3-access-policy"], &env, None);
    assert!(stdout(&policy).contains("arn:aws:s3:::b1x/*"));
}

#[test]
fn flags_beat_the_params_file_and_the_environment_only_fills_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("params.yaml");
    fs::write(
        &file,
        "cluster: from-file\nregion: eu-west-1\nbucket: file-bucket\nnamespace: file-ns\n",
    )
    .expect("write");
    let path = file.to_str().expect("utf8");
    let env = [
        ("S3_BUCKET", "file-bucket"),
        ("K8S_SERVICE_ACCOUNT", "env-sa"),
    ];
    let args = [
        "render",
        "params",
        "--params",
        path,
        "--namespace",
        "flag-ns",
    ];
    let o = podiam_env(&args, &env, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("\nnamespace: flag-ns\n"), "{text}");
    assert!(text.contains("\nservice_account: env-sa\n"), "{text}");
    assert!(text.contains("\nbucket:\n  - file-bucket\n"), "{text}");
    assert!(
        text.contains("\ncluster: from-file\nregion: eu-west-1\n"),
        "{text}"
    );
    let o = podiam_env(&args, &[("AWS_REGION", "us-west-2")], None);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("environment \"AWS_REGION\": \"us-west-2\" differs from region \"eu-west-1\" in the params file"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn params_file_from_stdin_as_json_and_unknown_keys_refused() {
    let json = r#"{"cluster": "c", "region": "us-west-2", "bucket": "json-bucket"}"#;
    let o = podiam_env(
        &["render", "s3-access-policy", "--params", "-"],
        &[],
        Some(json),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("arn:aws:s3:::json-bucket"));
    let typo = "cluster: c\nregion: us-west-2\nbuckt: b\n";
    let o = podiam_env(
        &["render", "s3-access-policy", "--params", "-"],
        &[],
        Some(typo),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("params.schema.json"), "{}", stderr(&o));
    assert!(stderr(&o).contains("buckt"), "{}", stderr(&o));
    let number = "cluster: c\nregion: us-west-2\nbucket: b12\naccount_id: 123456789012\n";
    let o = podiam_env(
        &["render", "s3-access-policy", "--params", "-"],
        &[],
        Some(number),
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "a bare-number account id must be refused"
    );
    assert!(
        stderr(&o).contains("quote the account id"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn refuses_to_overwrite_a_changed_file_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    let args = [
        &["generate"][..],
        &DOCS,
        &["--out", out.to_str().expect("utf8")],
    ]
    .concat();
    assert_eq!(podiam(&args).status.code(), Some(0));
    let again = podiam(&args);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).lines().all(|l| l.starts_with("unchanged")),
        "{}",
        stdout(&again)
    );
    let policy = out.join("iam/s3-access-policy.json");
    fs::write(&policy, "{\"edited\": true}\n").expect("edit");
    let refused = podiam(&args);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("refusing to overwrite"),
        "{}",
        stderr(&refused)
    );
    assert!(stderr(&refused).contains("s3-access-policy.json"));
    assert_eq!(
        fs::read_to_string(&policy).expect("read"),
        "{\"edited\": true}\n"
    );
    let forced = podiam(&[&args[..], &["--force"]].concat());
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert!(stdout(&forced).contains("replaced"));
    assert!(
        fs::read_to_string(&policy)
            .expect("read")
            .contains("s3:ListBucket")
    );
}

#[test]
fn two_runs_give_byte_identical_bundles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let issuer = format!("https://oidc.eks.us-west-2.amazonaws.com/id/{OIDC_ID}");
    let mut contents = Vec::new();
    for name in ["one", "two"] {
        let out = dir.path().join(name);
        let args = [
            &["generate"][..],
            &DOCS,
            &[
                "--method",
                "irsa",
                "--account-id",
                "123456789012",
                "--oidc-issuer",
                &issuer,
                "--namespace",
                "ns1",
                "--out",
                out.to_str().expect("utf8"),
            ],
        ]
        .concat();
        assert_eq!(podiam(&args).status.code(), Some(0));
        let files: Vec<(String, Vec<u8>)> = files_below(&out)
            .into_iter()
            .map(|f| {
                (
                    f.replace(out.to_str().expect("utf8"), ""),
                    fs::read(&f).expect("read"),
                )
            })
            .collect();
        contents.push(files);
    }
    assert_eq!(contents[0], contents[1]);
}

#[test]
fn validate_accepts_generated_files_and_reports_paths_of_broken_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("trust.json");
    fs::write(
        &file,
        stdout(&podiam(&[&["render", "trust-policy"][..], &DOCS].concat())),
    )
    .expect("write");
    let ok = podiam(&["validate", "trust-policy", file.to_str().expect("utf8")]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    let broken = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}"#;
    fs::write(&file, broken).expect("write");
    let bad = podiam(&["validate", "trust-policy", file.to_str().expect("utf8")]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("at /Statement/0"), "{}", stderr(&bad));
    let missing = podiam(&["validate", "trust-policy", "/nonexistent/file.json"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn list_and_schema_come_from_the_tables() {
    let list = stdout(&podiam(&["list"]));
    for a in podiam::artifacts::artifact::ARTIFACTS {
        assert!(list.contains(a.name) && list.contains(a.path), "{list}");
    }
    for name in podiam::formats::schemas::Schema::names() {
        let o = podiam(&["schema", name]);
        assert_eq!(o.status.code(), Some(0));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).expect("schema is JSON");
    }
}

#[test]
fn readme_artifact_table_matches_the_artifact_table() {
    let readme =
        fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let start = readme
        .find("<!-- artifact-table:start -->\n")
        .expect("start marker")
        + "<!-- artifact-table:start -->\n".len();
    let end = readme
        .find("<!-- artifact-table:end -->")
        .expect("end marker");
    assert_eq!(
        &readme[start..end],
        podiam::cli::commands::list_markdown(),
        "run `podiam list --markdown` and paste it into README.md"
    );
}

#[test]
fn check_matches_a_fresh_bundle_and_reports_a_one_byte_edit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    let out_str = out.to_str().expect("utf8");
    assert_eq!(
        podiam(&[&["generate"][..], &DOCS, &["--out", out_str]].concat())
            .status
            .code(),
        Some(0)
    );
    let clean = podiam(&[&["check", out_str][..], &DOCS].concat());
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}{}",
        stdout(&clean),
        stderr(&clean)
    );
    assert!(stdout(&clean).contains("matches the parameters"));
    let policy = out.join("iam/s3-access-policy.json");
    let text =
        fs::read_to_string(&policy)
            .expect("read")
            .replacen("s3:PutObject", "s3:PutObjecT", 1);
    fs::write(&policy, text).expect("edit one byte");
    fs::write(out.join("notes.txt"), "mine\n").expect("extra file");
    let drift = podiam(&[&["check", out_str][..], &DOCS].concat());
    assert_eq!(drift.status.code(), Some(1));
    let report = stdout(&drift);
    assert!(
        report.contains("changed: iam/s3-access-policy.json"),
        "{report}"
    );
    assert!(
        report.contains("-        \"s3:PutObjecT\",\n+        \"s3:PutObject\","),
        "{report}"
    );
    assert!(report.contains("extra:   notes.txt"), "{report}");
    let json = podiam(&[&["check", out_str, "--format", "json"][..], &DOCS].concat());
    assert_eq!(json.status.code(), Some(1));
    let parsed: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json report");
    assert_eq!(parsed["matches"], false);
    assert_eq!(parsed["changed"][0]["path"], "iam/s3-access-policy.json");
    assert_eq!(parsed["extra"][0], "notes.txt");
    let other_params = podiam(&[
        "check",
        out_str,
        "--cluster",
        "my-eks-cluster",
        "--region",
        "us-west-2",
        "--bucket",
        "other-bucket",
    ]);
    assert_eq!(other_params.status.code(), Some(1));
}

#[test]
fn manifest_hashes_match_the_written_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    assert_eq!(
        podiam(
            &[
                &["generate"][..],
                &DOCS,
                &["--out", out.to_str().expect("utf8")]
            ]
            .concat()
        )
        .status
        .code(),
        Some(0)
    );
    let manifest = json(&out.join("manifest.json"));
    let entries = manifest["artifacts"].as_array().expect("artifacts");
    assert_eq!(
        entries.len(),
        podiam::artifacts::bundle::in_bundle()
            .iter()
            .filter(|a| a.only.is_none())
            .count()
            - 1,
        "every bundle artifact but the manifest itself"
    );
    for entry in entries {
        let bytes = fs::read(out.join(entry["path"].as_str().expect("path"))).expect("file");
        assert_eq!(
            entry["sha256"],
            podiam::artifacts::manifest::sha256_hex(&bytes),
            "{entry}"
        );
    }
    assert_eq!(manifest["parameters"]["bucket"], "my-bucket");
    assert_eq!(
        manifest["parameters"]["role_name"],
        "SkyPilotS3Role-my-bucket"
    );
}
