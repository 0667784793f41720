//! The schemas describe the upstream formats: what Kubernetes and SkyPilot
//! accept passes, podiam's own rules still hold and are named when broken,
//! and every schema error says where and what in plain words.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use crate::cli::{DOCS, podiam, stderr};
use podiam::formats::schemas::{Schema, check};

/// The jargon jsonschema uses for a failed `oneOf`/`anyOf`.
const JARGON: [&str; 4] = ["oneOf", "anyOf", "is not valid under any", "schemas listed"];

fn assert_plain(err: &str) {
    for word in JARGON {
        assert!(!err.contains(word), "{word:?} in:\n{err}");
    }
}

/// The YAML documents of `path` as JSON.
fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).expect("read");
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| {
            let yaml = <serde_yaml::Value as serde::Deserialize>::deserialize(doc).expect("yaml");
            serde_json::to_value(yaml).expect("json")
        })
        .collect()
}

/// A change to a template's text.
type Edit<'a> = &'a dyn Fn(String) -> String;

/// Exports the built-in templates to `dir/t` and applies each edit to its template.
fn edited_templates(dir: &Path, edits: &[(&str, Edit)]) -> String {
    let templates = dir.join("t");
    let t = templates.to_str().expect("utf8").to_owned();
    let export = podiam(&["templates", "export", &t]);
    assert_eq!(export.status.code(), Some(0), "{}", stderr(&export));
    for (name, edit) in edits {
        let file = templates.join(format!("{name}.tera"));
        let text = fs::read_to_string(&file).expect("exported template");
        let edited = edit(text.clone());
        assert_ne!(edited, text, "the edit of {name} changed nothing");
        fs::write(&file, edited).expect("edit");
    }
    t
}

fn generate(templates: &str, out: &Path) -> std::process::Output {
    let out = out.to_str().expect("utf8");
    podiam(
        &[
            &["generate", "--templates", templates, "--out", out][..],
            &DOCS,
        ]
        .concat(),
    )
}

#[test]
fn an_override_with_upstream_fields_passes_and_keeps_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let add_metadata = |text: String| {
        text.replace(
            "{% set component = \"serviceaccount\" -%}\n{% include \"partials/kube-labels\" %}",
            "{% set component = \"serviceaccount\" -%}\n{% include \"partials/kube-labels\" %}\n    team: ml-platform\n    example.com/cost-centre: \"4711\"\n  annotations:\n    example.com/owner: \"ML team <ml@example.com>\"",
        ) + "\nautomountServiceAccountToken: false\nimagePullSecrets:\n  - name: regcred\n"
    };
    let add_task_fields = |text: String| {
        text.replace(
            "resources:\n",
            "num_nodes: 1\nworkdir: .\nsetup: pip list\nenvs:\n  DATA_DIR: /s3/data\n  RETRIES: 3\nresources:\n  cpus: 2+\n  memory: 8+\n  labels:\n    team: ml\n",
        )
        .replace(
            "\n\nrun: |",
            "\n  /opt/code: ./code\n  /opt/cache:\n    source: s3://my-bucket\n    mode: MOUNT\n    config:\n      mount:\n        read_only: true\n\nrun: |",
        )
    };
    let templates = edited_templates(
        dir.path(),
        &[
            ("kubernetes/serviceaccount.yaml", &add_metadata),
            ("skypilot/task.yaml", &add_task_fields),
        ],
    );
    let out = dir.path().join("out");
    let o = generate(&templates, &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let account = yaml_documents(&out.join("kubernetes/serviceaccount.yaml"));
    let account = account.last().expect("a document");
    assert_eq!(account["kind"], "ServiceAccount");
    let labels = &account["metadata"]["labels"];
    assert_eq!(labels["team"], "ml-platform");
    assert_eq!(labels["example.com/cost-centre"], "4711");
    assert_eq!(labels["app.kubernetes.io/managed-by"], "podiam");
    assert_eq!(
        account["metadata"]["annotations"]["example.com/owner"],
        "ML team <ml@example.com>"
    );
    assert_eq!(account["automountServiceAccountToken"], false);
    assert_eq!(account["imagePullSecrets"], json!([{"name": "regcred"}]));
    let task = &yaml_documents(&out.join("skypilot/task.yaml"))[0];
    assert_eq!(task["resources"]["cpus"], "2+");
    assert_eq!(task["resources"]["memory"], "8+");
    assert_eq!(task["envs"], json!({"DATA_DIR": "/s3/data", "RETRIES": 3}));
    assert_eq!(task["num_nodes"], 1);
    assert_eq!(task["setup"], "pip list");
    assert_eq!(task["file_mounts"]["/opt/code"], "./code");
    assert_eq!(task["file_mounts"]["/opt/cache"]["mode"], "MOUNT");
}

#[test]
fn an_override_that_drops_no_upload_is_refused_naming_the_rule() {
    let cases: [(&str, Edit, &str); 3] = [
        (
            "skypilot/config.yaml",
            &|t: String| {
                t.replace(
                    "remote_identity: NO_UPLOAD",
                    "remote_identity: LOCAL_CREDENTIALS",
                )
            },
            "at /aws/remote_identity: must be \"NO_UPLOAD\", found \"LOCAL_CREDENTIALS\" (podiam rule no-upload: ",
        ),
        (
            "skypilot/config.yaml",
            &|t: String| t.replace("  remote_identity: NO_UPLOAD\n", "  use_ssm: true\n"),
            "at /aws: missing required key \"remote_identity\" (podiam rule no-upload: ",
        ),
        (
            "partials/kube-labels",
            &|t: String| t.replace("managed_by | yaml", "managed_by | upper | yaml"),
            "must be \"podiam\", found \"PODIAM\" (podiam rule labels: ",
        ),
    ];
    for (name, edit, message) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let templates = edited_templates(dir.path(), &[(name, edit)]);
        let out = dir.path().join("out");
        let o = generate(&templates, &out);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(message), "{name}: want {message:?} in:\n{err}");
        assert!(
            err.contains("rendered by the override of template"),
            "{err}"
        );
        assert!(!out.exists(), "{name}: something was written");
    }
}

#[test]
fn validate_names_the_path_and_the_rule_in_plain_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let task = dir.path().join("task.yaml");
    fs::write(
        &task,
        "resources:\n  infra: kubernetes\n  cpu: 2\nfile_mounts:\n  /s3/data:\n    source: s3://my-bucket/\n    mdoe: COPY\nworkdir:\n  url: https://example.com/repo.git\n  ref: 5\nrun: ls /s3/data\n",
    )
    .expect("write");
    let o = podiam(&["validate", "skypilot-task", task.to_str().expect("utf8")]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    for want in [
        "at /resources/cpu: unexpected key \"cpu\" (did you mean \"cpus\"?) (SkyPilot 0.14.1 task format)",
        "at /file_mounts/~1s3~1data/mdoe: unexpected key \"mdoe\" (did you mean \"mode\"?)",
        "at /workdir/ref: must be a string, found 5",
    ] {
        assert!(err.contains(want), "want {want:?} in:\n{err}");
    }
    assert_plain(&err);

    let rbac = dir.path().join("rbac.yaml");
    let labels = "  labels:\n    app.kubernetes.io/managed-by: podiam\n    app.kubernetes.io/instance: default.runner\n    app.kubernetes.io/component: role\n";
    fs::write(
        &rbac,
        format!("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: \"podiam:default.runner\"\n  namespace: default\n{labels}rules:\n  - apiGroups: [\"\"]\n    resources: [\"pods\"]\n    verbs: get\n"),
    )
    .expect("write");
    let o = podiam(&["validate", "rbac", rbac.to_str().expect("utf8")]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let want = "at /rules/0/verbs: must be a list, found \"get\" (Kubernetes rbac.authorization.k8s.io/v1 Role)";
    assert!(err.contains(want), "want {want:?} in:\n{err}");
    assert_plain(&err);
}

#[test]
fn what_kubernetes_and_skypilot_accept_passes() {
    let labels = json!({
        "app.kubernetes.io/managed-by": "podiam",
        "app.kubernetes.io/instance": "team-a.runner",
        "app.kubernetes.io/component": "role",
        "example.com/team": "ml", "tier": "", "v": "1.2_x-Y"
    });
    let role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "podiam:team-a.runner", "namespace": "team-a", "labels": labels,
                     "annotations": {"kubernetes.io/description": "any text: at all", "a": ""},
                     "finalizers": ["example.com/keep"]},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cfg"],
                   "verbs": ["get"]}]
    });
    let config = json!({
        "aws": {"remote_identity": "NO_UPLOAD", "labels": {"team": "ml"}, "use_internal_ips": true},
        "kubernetes": {"allowed_contexts": "all", "provision_timeout": 900,
                       "pod_config": {"spec": {"nodeSelector": {"pool": "gpu"}}},
                       "context_configs": {"ctx": {"namespace": "team-b", "remote_identity": "runner"}},
                       "remote_identity": {"ctx": "runner"}},
        "workspaces": {"team": {"aws": {"remote_identity": "NO_UPLOAD", "profile": "p"}}},
        "allowed_clouds": ["AWS", "kubernetes"],
        "jobs": {"controller": {"resources": {"cpus": "4+"}}}
    });
    let task = json!({
        "name": "smoke", "num_nodes": 2, "workdir": {"url": "https://example.com/r.git", "ref": "main"},
        "resources": {"infra": "k8s/my-ctx", "cpus": 2, "memory": "16+", "accelerators": {"A100": 1},
                      "disk_size": "100GB", "ports": [8080, "9000-9010"], "autostop": "30m",
                      "any_of": [{"infra": "kubernetes/other", "cpus": "4+"}]},
        "envs": {"A": "x", "B": 3, "C_": true},
        "secrets": ["secrets:HF_TOKEN"],
        "file_mounts": {"/data": {"source": "s3://my-bucket/team/", "mode": "copy"},
                        "~/cache": {"name": "scratch", "store": "s3", "persistent": true},
                        "/code": "./src",
                        "/m": {"source": "s3://my-bucket", "mode": "MOUNT_CACHED", "type": "DATASET_RO",
                               "config": {"mount_cached": {"transfers": 8, "read_only": false,
                                                           "vfs_cache_max_age": "1h30m"}}}},
        "config": {"kubernetes": {"pod_config": {"metadata": {"labels": {"a": "b"}}},
                                  "remote_identity": "runner"},
                   "hooks": [{"run": "echo bye", "events": ["down"]}]},
        "setup": "pip install x", "run": "ls /data"
    });
    for (schema, doc) in [
        (Schema::KubernetesManifest, role),
        (Schema::SkypilotConfig, config),
        (Schema::SkypilotTask, task),
    ] {
        let problems = check(schema, &doc);
        assert!(problems.is_empty(), "{}: {problems:#?}", schema.name());
    }
}
