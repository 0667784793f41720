//! The docs page's environment variables: their precedence in a plain run,
//! where they fill only what a params file leaves unset and one that differs
//! from the file is refused, and in a batch, where the same holds for flags.

use std::fs;
use std::process::Output;

use crate::batch::BATCH;
use crate::cli::{podiam_env, stderr, stdout};

/// One parameter with an environment variable: its params-file key, the
/// variable, the flag, and three distinct valid values (file, env, flag).
struct Param {
    key: &'static str,
    var: &'static str,
    flag: &'static str,
    values: [&'static str; 3],
}

const PARAMS: [Param; 10] = [
    Param {
        key: "cluster",
        var: "EKS_CLUSTER_NAME",
        flag: "--cluster",
        values: ["file-cluster", "env-cluster", "flag-cluster"],
    },
    Param {
        key: "region",
        var: "AWS_REGION",
        flag: "--region",
        values: ["us-west-2", "eu-west-1", "ap-south-1"],
    },
    Param {
        key: "bucket",
        var: "S3_BUCKET",
        flag: "--bucket",
        values: ["file-bucket", "env-bucket", "flag-bucket"],
    },
    Param {
        key: "namespace",
        var: "K8S_NAMESPACE",
        flag: "--namespace",
        values: ["file-ns", "env-ns", "flag-ns"],
    },
    Param {
        key: "service_account",
        var: "K8S_SERVICE_ACCOUNT",
        flag: "--service-account",
        values: ["file-sa", "env-sa", "flag-sa"],
    },
    Param {
        key: "kube_context",
        var: "KUBE_CONTEXT",
        flag: "--kube-context",
        values: ["file-ctx", "env-ctx", "flag-ctx"],
    },
    Param {
        key: "account_id",
        var: "AWS_ACCOUNT_ID",
        flag: "--account-id",
        values: ["111111111111", "222222222222", "333333333333"],
    },
    Param {
        key: "policy_name",
        var: "IAM_POLICY_NAME",
        flag: "--policy-name",
        values: ["FilePolicy", "EnvPolicy", "FlagPolicy"],
    },
    Param {
        key: "role_name",
        var: "IAM_ROLE_NAME",
        flag: "--role-name",
        values: ["FileRole", "EnvRole", "FlagRole"],
    },
    Param {
        key: "tf_name",
        var: "PODIAM_TF_NAME",
        flag: "--tf-name",
        values: ["file_tf", "env_tf", "flag_tf"],
    },
];

const BASE: [(&str, &str); 3] = [
    ("cluster", "base-cluster"),
    ("region", "us-east-1"),
    ("bucket", "base-bucket"),
];

/// A params file with the base values, `key` set to `value` when given.
fn params_file(dir: &tempfile::TempDir, key: &str, value: Option<&str>) -> String {
    let mut map = serde_json::Map::new();
    for (k, v) in BASE {
        map.insert(k.into(), v.into());
    }
    match value {
        Some(v) => map.insert(key.into(), v.into()),
        None => map.remove(key),
    };
    let path = dir.path().join(format!("{key}.json"));
    fs::write(&path, serde_json::Value::Object(map).to_string()).expect("write params");
    path.to_str().expect("utf8").to_owned()
}

/// The value podiam settled on for `key`: from the manifest's normalised
/// parameters, or for `tf_name` from the single Terraform file's header.
fn settled(o: &Output, key: &str) -> String {
    assert_eq!(o.status.code(), Some(0), "{key}: {}", stderr(o));
    let text = stdout(o);
    if key == "tf_name" {
        let line = text
            .lines()
            .find_map(|l| {
                l.strip_prefix("# Every address, variable, local and output is named after ")
            })
            .expect("tf_name line");
        return line.trim().to_owned();
    }
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest json");
    manifest["parameters"][key]
        .as_str()
        .unwrap_or_else(|| panic!("{key}: {}", manifest["parameters"]))
        .to_owned()
}

fn render(p: &Param, file: &str, env: &[(&str, &str)], flag: Option<&str>) -> Output {
    let artifact = if p.key == "tf_name" {
        "terraform"
    } else {
        "manifest"
    };
    let mut args = vec!["render", artifact, "--params", file];
    if let Some(value) = flag {
        args.extend([p.flag, value]);
    }
    podiam_env(&args, env, None)
}

#[test]
fn in_a_plain_run_every_variable_only_fills_what_the_params_file_leaves_unset() {
    let dir = tempfile::tempdir().expect("tempdir");
    for p in &PARAMS {
        let [file_value, env_value, flag_value] = p.values;
        let file = params_file(&dir, p.key, Some(file_value));
        let env = [(p.var, env_value)];
        assert_eq!(
            settled(&render(p, &file, &[], None), p.key),
            file_value,
            "{}: file",
            p.var
        );
        let o = render(p, &file, &env, None);
        assert_eq!(o.status.code(), Some(2), "{}: env against file", p.var);
        let refusal = format!("environment \"{}\": \"{env_value}\" differs", p.var);
        assert!(stderr(&o).contains(&refusal), "{}: {}", p.var, stderr(&o));
        let same = [(p.var, file_value)];
        assert_eq!(
            settled(&render(p, &file, &same, None), p.key),
            file_value,
            "{}: env equal to the file",
            p.var
        );
        let o = render(p, &file, &env, Some(flag_value));
        assert_eq!(
            settled(&o, p.key),
            flag_value,
            "{}: flag over file and env",
            p.var
        );
        let unset = params_file(&dir, p.key, None);
        let o = render(p, &unset, &env, None);
        assert_eq!(settled(&o, p.key), env_value, "{}: env fills a gap", p.var);
        assert!(
            stderr(&o).contains(&format!("{}={env_value:?}", p.var)),
            "{}: the note names the variable used: {}",
            p.var,
            stderr(&o)
        );
    }
}

/// The batch tests' file, and the output directory beside it.
fn batch(dir: &tempfile::TempDir) -> (String, std::path::PathBuf) {
    (crate::batch::write(dir, BATCH), dir.path().join("out"))
}

fn generate(file: &str, out: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let out = out.to_str().expect("utf8");
    podiam_env(
        &[&["generate", "--params", file, "--out", out][..], extra].concat(),
        env,
        None,
    )
}

#[test]
fn in_a_batch_a_variable_never_replaces_a_value_the_file_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (file, out) = batch(&dir);
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str], &'a [&'a str]);
    let cases: [Case; 4] = [
        (
            &[("K8S_NAMESPACE", "prod")],
            &[],
            &["target \"team-a\"", "namespace", "K8S_NAMESPACE"],
        ),
        (
            &[("S3_BUCKET", "stolen-bucket")],
            &[],
            &[
                "target \"team-a\": bucket \"team-a-data\" (set in the target) conflicts with S3_BUCKET \"stolen-bucket\"",
                "target \"team-b\": bucket \"team-b-data\"",
                "unset S3_BUCKET",
            ],
        ),
        (
            &[("AWS_REGION", "eu-west-1")],
            &[],
            &[
                "target \"team-b\": region \"us-west-2\" (set in defaults:) conflicts with AWS_REGION \"eu-west-1\"",
            ],
        ),
        (
            &[],
            &["--namespace", "prod"],
            &[
                "target \"team-a\": namespace \"team-a\" (set in the target) conflicts with --namespace \"prod\"",
                "drop --namespace",
            ],
        ),
    ];
    for (env, flags, needles) in cases {
        let o = generate(&file, &out, flags, env);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{env:?} {flags:?}: {err}");
        for needle in needles {
            assert!(
                err.contains(needle),
                "{env:?} {flags:?}: no {needle:?} in {err}"
            );
        }
        assert!(!out.exists(), "{env:?} {flags:?}: something was written");
    }
}

#[test]
fn in_a_batch_a_variable_fills_only_what_the_file_leaves_unset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (file, out) = batch(&dir);
    let env = [
        ("K8S_SERVICE_ACCOUNT", "env-sa"),
        ("AWS_REGION", "us-west-2"),
    ];
    let o = generate(&file, &out, &[], &env);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("K8S_SERVICE_ACCOUNT=\"env-sa\""), "{err}");
    assert!(err.contains("AWS_REGION=\"us-west-2\""), "{err}");
    for (target, namespace) in [
        ("team-a", "team-a"),
        ("team-b", "default"),
        ("team-c", "default"),
    ] {
        let sa = fs::read_to_string(out.join(target).join("kubernetes/serviceaccount.yaml"))
            .expect(target);
        assert!(sa.contains("name: env-sa"), "{target}: {sa}");
        assert!(
            sa.contains(&format!("namespace: {namespace}")),
            "{target}: {sa}"
        );
        let policy =
            fs::read_to_string(out.join(target).join("iam/s3-access-policy.json")).expect(target);
        assert!(policy.contains(&format!("{target}-data")), "{target}");
    }
}
