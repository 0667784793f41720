//! The review loop: every bundle carries `params.yaml`, which reproduces it
//! byte for byte; `check DIR` reads it; headers stay quiet, so a parameter
//! changes only the files that depend on it.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Output;

use crate::batch::{self, BATCH};
use crate::cli::{DOCS, podiam, podiam_env, stderr, stdout};
use crate::fixtures;
use podiam::input::params::RawParams;

/// Every file below `dir`: relative path → (bytes, executable).
pub fn files(dir: &Path) -> BTreeMap<String, (Vec<u8>, bool)> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).expect("below").display().to_string();
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            found.insert(
                relative,
                (fs::read(&path).expect("read"), mode & 0o111 != 0),
            );
        }
    }
    found
}

/// Asserts two trees hold the same files, byte for byte and mode for mode.
fn assert_same_tree(a: &Path, b: &Path, what: &str) {
    let (left, right) = (files(a), files(b));
    let names = |t: &BTreeMap<String, (Vec<u8>, bool)>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&left), names(&right), "{what}: the file lists differ");
    for (path, content) in &left {
        assert!(right[path] == *content, "{what}: {path} differs");
    }
}

fn generate(args: &[&str], out: &Path) -> Output {
    let o = podiam(
        &[
            &["generate"][..],
            args,
            &["--out", out.to_str().expect("utf8")],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    o
}

fn check(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    podiam_env(
        &[&["check", dir.to_str().expect("utf8")][..], extra].concat(),
        env,
        None,
    )
}

/// Inputs whose notes once depended on how a value was given.
fn given_forms() -> Vec<(&'static str, RawParams)> {
    let irsa = RawParams {
        method: Some("irsa".into()),
        account_id: Some("123456789012".into()),
        oidc_issuer: Some(format!(
            "oidc.eks.us-west-2.amazonaws.com/id/{}",
            fixtures::OIDC_ID
        )),
        ..fixtures::docs()
    };
    let agent = |a: &str| RawParams {
        pod_identity_agent: Some(a.into()),
        ..irsa.clone()
    };
    let bucket = "a".repeat(63);
    let shortened = RawParams {
        bucket: Some(vec![bucket.clone()]),
        role_name: Some(format!("SkyPilotS3Role-{}-27e78ef5", "a".repeat(40))),
        ..fixtures::docs()
    };
    vec![
        ("irsa-agent-existing", agent("existing")),
        ("irsa-agent-create", agent("create")),
        ("shortened-name-given", shortened),
    ]
}

#[test]
fn every_fixture_round_trips_through_its_params_yaml_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, raw) in fixtures::all().into_iter().chain(given_forms()) {
        let file = dir.path().join(format!("{name}.json"));
        fs::write(&file, serde_json::to_string(&raw).expect("json")).expect("write");
        let (first, again) = (
            dir.path().join(name),
            dir.path().join(format!("{name}-again")),
        );
        generate(&["--params", file.to_str().expect("utf8")], &first);
        let own = first.join("params.yaml");
        generate(&["--params", own.to_str().expect("utf8")], &again);
        assert_same_tree(&first, &again, name);
        let o = check(&first, &[], &[]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: {}{}",
            stdout(&o),
            stderr(&o)
        );
    }
}

#[test]
fn a_batch_round_trips_whole_and_target_by_target_and_check_sees_a_deleted_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = batch::write(&dir, BATCH);
    let (first, whole, apart) = (
        dir.path().join("out"),
        dir.path().join("whole"),
        dir.path().join("apart"),
    );
    generate(&["--params", &file], &first);
    let index = first.join("params.yaml");
    generate(&["--params", index.to_str().expect("utf8")], &whole);
    assert_same_tree(&first, &whole, "the batch from its params.yaml");
    for target in ["team-a", "team-b", "team-c"] {
        let own = first.join(target).join("params.yaml");
        generate(
            &["--params", own.to_str().expect("utf8")],
            &apart.join(target),
        );
    }
    fs::copy(&index, apart.join("params.yaml")).expect("copy the index");
    assert_same_tree(&first, &apart, "each target from its own params.yaml");
    let o = check(&first, &[], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    fs::write(first.join("team-b/iam/trust-policy.json"), "{}\n").expect("edit");
    let o = check(&first, &[], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("changed: team-b/iam/trust-policy.json"),
        "{}",
        stdout(&o)
    );
    fs::remove_dir_all(first.join("team-c")).expect("delete a target");
    let o = check(&first, &[], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("missing: team-c/manifest.json"),
        "{}",
        stdout(&o)
    );
    let o = check(&first, &["--target", "team-a"], &[]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "one target: {}{}",
        stdout(&o),
        stderr(&o)
    );
}

#[test]
fn a_batch_without_its_params_yaml_is_checked_from_its_target_folders() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = batch::write(&dir, BATCH);
    let out = dir.path().join("out");
    generate(&["--params", &file], &out);
    fs::remove_file(out.join("params.yaml")).expect("an older batch");
    let o = check(&out, &[], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("a deleted one cannot be seen"),
        "{}",
        stderr(&o)
    );
    let o = check(&out, &["--params", &file], &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "with the batch file given: {}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("missing: params.yaml"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_params_yaml_podiam_wrote_is_regenerated_without_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, again) = (dir.path().join("b"), dir.path().join("again"));
    generate(&DOCS, &first);
    let own = first.join("params.yaml");
    let env = [
        ("KUBE_CONTEXT", "prod"),
        ("IAM_ROLE_NAME", "Other"),
        ("AWS_REGION", "eu-west-1"),
    ];
    let args = ["generate", "--params", own.to_str().expect("utf8"), "--out"];
    let o = podiam_env(
        &[&args[..], &[again.to_str().expect("utf8")]].concat(),
        &env,
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("ignored from the environment"),
        "{}",
        stderr(&o)
    );
    assert_same_tree(&first, &again, "regenerated with variables set");
}

#[test]
fn a_batch_and_a_bundle_never_share_an_output_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = batch::write(&dir, BATCH);
    let (batch_out, single) = (dir.path().join("batch"), dir.path().join("single"));
    generate(&["--params", &file], &batch_out);
    generate(&DOCS, &single);
    let into = ["--force", "--out", batch_out.to_str().expect("utf8")];
    let o = podiam(&[&["generate"][..], &DOCS, &into].concat());
    assert_eq!(
        o.status.code(),
        Some(2),
        "a bundle into a batch: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("holds a batch"), "{}", stderr(&o));
    let o = batch::generate(&file, &single, &["--force"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a batch into a bundle: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("holds one bundle"), "{}", stderr(&o));
    let o = check(&single, &[], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn check_reads_params_yaml_ignores_the_environment_and_takes_flags_over_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b");
    generate(&DOCS, &out);
    let env = [("AWS_REGION", "eu-west-1"), ("K8S_NAMESPACE", "elsewhere")];
    let o = check(&out, &[], &env);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("AWS_REGION"), "{}", stderr(&o));
    let o = check(&out, &["--namespace", "elsewhere"], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("changed: params.yaml"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn check_without_params_yaml_or_parameters_exits_2_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = check(dir.path(), &[], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("params.yaml"), "{}", stderr(&o));
    let manifest = dir.path().join("manifest.json");
    fs::write(
        &manifest,
        r#"{"podiam": {}, "parameters": {}, "artifacts": []}"#,
    )
    .expect("w");
    let o = check(
        dir.path(),
        &["--params", manifest.to_str().expect("utf8")],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("give the bundle's params.yaml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn overrides_are_recorded_and_check_asks_for_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = dir.path().join("t");
    let o = podiam(&["templates", "export", templates.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plain = dir.path().join("plain");
    let t = templates.to_str().expect("utf8");
    generate(&[&DOCS[..], &["--templates", t]].concat(), &plain);
    let manifest = fs::read_to_string(plain.join("manifest.json")).expect("manifest");
    assert!(
        !manifest.contains("\"templates\""),
        "unchanged overrides: {manifest}"
    );
    let task = templates.join("skypilot/task.yaml.tera");
    let text = fs::read_to_string(&task).expect("task");
    fs::write(&task, format!("{text}# reviewed by the data team\n")).expect("edit");
    let custom = dir.path().join("custom");
    generate(&[&DOCS[..], &["--templates", t]].concat(), &custom);
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(custom.join("manifest.json")).expect("m"))
            .expect("json");
    assert_eq!(
        manifest["templates"]["templates"],
        serde_json::json!(["skypilot/task.yaml"])
    );
    let o = check(&custom, &[], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--templates"), "{}", stderr(&o));
    let o = check(&custom, &["--templates", t], &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = check(&plain, &["--templates", t], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains("templates: manifest.json: rendered from the built-in templates"));
    let before = fs::read(custom.join("skypilot/task.yaml")).expect("task");
    let own = custom.join("params.yaml");
    let args = ["--params", own.to_str().expect("utf8"), "--force"];
    let o = podiam(
        &[
            &["generate"][..],
            &args,
            &["--out", custom.to_str().expect("utf8")],
        ]
        .concat(),
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "regenerated without the overrides: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("--templates"), "{}", stderr(&o));
    assert_eq!(
        fs::read(custom.join("skypilot/task.yaml")).expect("task"),
        before
    );
    fs::write(&task, format!("{text}# reviewed again\n")).expect("edit the override");
    let out = ["--out", custom.to_str().expect("utf8"), "--templates", t];
    let o = podiam(&[&["generate"][..], &args, &out].concat());
    assert_eq!(
        o.status.code(),
        Some(0),
        "edited overrides with --force: {}",
        stderr(&o)
    );
    let task_now = fs::read_to_string(custom.join("skypilot/task.yaml")).expect("task");
    assert!(task_now.contains("# reviewed again"), "{task_now}");
}

#[test]
fn a_tag_changes_only_the_files_that_depend_on_tags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (before, after) = (dir.path().join("before"), dir.path().join("after"));
    generate(&DOCS, &before);
    generate(&[&DOCS[..], &["--tag", "team=ml"]].concat(), &after);
    let (old, new) = (files(&before), files(&after));
    let changed: Vec<&str> = old
        .keys()
        .filter(|p| old[*p] != new[*p])
        .map(String::as_str)
        .collect();
    for path in [
        "iam/s3-access-policy.json",
        "iam/trust-policy.json",
        "skypilot/config.yaml",
        "skypilot/task.yaml",
        "terraform/versions.tf",
        "kubernetes/serviceaccount.yaml",
        "kubernetes/rbac.yaml",
    ] {
        assert!(!changed.contains(&path), "{path} changed: {changed:?}");
    }
    for path in [
        "params.yaml",
        "manifest.json",
        "scripts/apply.sh",
        "terraform/variables.tf",
    ] {
        assert!(
            changed.contains(&path),
            "{path} did not change: {changed:?}"
        );
    }
}

/// A line that holds one value: `key = value`, `"key": value`, `- value`
/// or a lone value, where the value is one quoted string or one token.
fn single_value(line: &str) -> bool {
    let line = line
        .trim()
        .trim_start_matches('#')
        .trim()
        .trim_end_matches(',');
    let line = line.strip_prefix("- ").unwrap_or(line);
    let rest = match line.strip_prefix('"') {
        Some(quoted) => match quoted.find("\":").or_else(|| quoted.find("\" =")) {
            Some(end) => quoted[end + 1..].trim_start_matches([':', '=', ' ']),
            None => return line.ends_with('"'),
        },
        None => match line.split_once([':', '=']) {
            Some((key, value)) if !key.trim().contains(' ') => value.trim_start_matches([' ', '=']),
            _ => line,
        },
    };
    (rest.starts_with('"') && rest.ends_with('"')) || !rest.contains(' ')
}

/// Inputs with the longest values podiam accepts and several of each list.
fn long_inputs() -> Vec<(&'static str, RawParams)> {
    let sa = ["a", "b", "c"].map(|c| c.repeat(63)).join(".");
    let key = |n: &str| {
        format!("arn:aws:kms:us-west-2:123456789012:key/{n}234abcd-12ab-34cd-56ef-1234567890ab")
    };
    let long = RawParams {
        bucket: Some(vec![
            "acme-ml-training-datasets-us-west-2".into(),
            "acme-ml-model-checkpoints-us-west-2".into(),
            "acme-ml-eval-results-us-west-2".into(),
        ]),
        namespace: Some("n".repeat(63)),
        service_account: Some(sa),
        account_id: Some("123456789012".into()),
        kube_context: Some(format!(
            "arn:aws:eks:us-west-2:123456789012:cluster/{}",
            "k".repeat(90)
        )),
        prefix: Some(
            ["datasets/imagenet/", "datasets/coco/", "models/", "logs/"]
                .map(String::from)
                .to_vec(),
        ),
        kms_key: Some(vec![key("1"), key("2")]),
        access: Some("read-write".into()),
        tag: Some(vec![format!("team={}", "v".repeat(256))]),
        permissions_boundary: Some(format!(
            "arn:aws:iam::123456789012:policy/{}",
            "p".repeat(120)
        )),
        iam_path: Some(format!("/{}/", "q".repeat(100))),
        ..fixtures::docs()
    };
    let irsa = RawParams {
        method: Some("irsa".into()),
        oidc_issuer: Some(format!(
            "oidc.eks.us-west-2.amazonaws.com/id/{}",
            fixtures::OIDC_ID
        )),
        prefix: None,
        access: None,
        mount_mode: Some("MOUNT".into()),
        ..long.clone()
    };
    vec![("long-pod-identity", long), ("long-irsa", irsa)]
}

#[test]
fn no_yaml_json_or_hcl_line_is_over_120_characters_unless_it_holds_one_long_value() {
    let mut long = Vec::new();
    for (name, raw) in fixtures::all().into_iter().chain(long_inputs()) {
        for r in fixtures::render(&raw)
            .iter()
            .filter(|r| r.artifact.in_bundle())
        {
            if ["markdown", "shell"].contains(&r.artifact.format.name()) {
                continue;
            }
            for line in r.text.lines().filter(|l| l.chars().count() > 120) {
                if !single_value(line) {
                    long.push(format!("{name}: {}: {line}", r.artifact.path));
                }
            }
        }
    }
    assert!(long.is_empty(), "{}", long.join("\n"));
    assert!(single_value(
        r#"  "Federated": "arn:aws:iam::1:oidc-provider/x","#
    ));
    assert!(single_value(
        r#"  description = "Lets pods: ${join(", ", var.b)}.""#
    ));
    assert!(!single_value(r#"  x = var.a ? b.c[0].arn : d.e[0].arn"#));
    assert!(!single_value(r#"    condition = can(regex("^a$", var.x))"#));
}

#[test]
fn a_lone_rendered_artifact_does_not_point_at_a_params_yaml() {
    let o = podiam(&[&["render", "skypilot-task"][..], &DOCS].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let head: String = stdout(&o).lines().take(2).collect::<Vec<_>>().join("\n");
    assert!(
        head.starts_with("# Generated by podiam render: do not edit."),
        "{head}"
    );
    assert!(!head.contains("from params.yaml"), "{head}");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("b");
    generate(&DOCS, &out);
    let task = fs::read_to_string(out.join("skypilot/task.yaml")).expect("task");
    assert!(
        task.starts_with("# Generated by podiam from params.yaml"),
        "{task}"
    );
}
