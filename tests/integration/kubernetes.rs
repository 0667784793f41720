//! The Kubernetes manifests: the namespace, the service account and the RBAC
//! that SkyPilot documents for a custom service account, every object
//! labelled so that teardown.sh removes only what apply.sh created.

use serde_json::{Value, json};

use crate::cli::{DOCS, podiam, stderr, stdout};

/// `podiam render ARTIFACT` for the docs values plus `extra`, as YAML documents.
fn documents(artifact: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["render", artifact];
    args.extend(DOCS);
    args.extend(extra);
    let out = podiam(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_yaml::Deserializer::from_str(&stdout(&out))
        .map(|doc| {
            let yaml = <serde_yaml::Value as serde::Deserialize>::deserialize(doc).expect("yaml");
            serde_json::to_value(yaml).expect("json")
        })
        .collect()
}

fn kinds(docs: &[Value]) -> Vec<(String, String, Option<String>)> {
    docs.iter()
        .map(|d| {
            let meta = &d["metadata"];
            (
                d["kind"].as_str().expect("kind").to_owned(),
                meta["name"].as_str().expect("name").to_owned(),
                meta["namespace"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

const CUSTOM: [&str; 4] = ["--namespace", "ml-team", "--service-account", "s3-reader"];

#[test]
fn custom_service_account_gets_the_rbac_skypilot_documents() {
    let docs = documents("rbac", &CUSTOM);
    let name = "podiam:ml-team.s3-reader";
    let system = "podiam:ml-team.s3-reader:skypilot-system";
    let s = |v: &str| v.to_owned();
    assert_eq!(
        kinds(&docs),
        [
            (s("Role"), s(name), Some(s("ml-team"))),
            (s("RoleBinding"), s(name), Some(s("ml-team"))),
            (s("ClusterRole"), s(name), None),
            (s("ClusterRoleBinding"), s(name), None),
            (s("Namespace"), s("skypilot-system"), None),
            (s("Role"), s(system), Some(s("skypilot-system"))),
            (s("RoleBinding"), s(system), Some(s("skypilot-system"))),
        ]
    );
    // docs/source/cloud-setup/cloud-permissions/kubernetes.rst, custom service account.
    let all = json!(["*"]);
    let read = json!(["get", "list", "watch"]);
    assert_eq!(
        docs[0]["rules"],
        json!([
            {"apiGroups": [""], "resources": ["pods", "pods/status", "pods/exec", "pods/portforward"], "verbs": all},
            {"apiGroups": [""], "resources": ["services"], "verbs": all},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": all},
            {"apiGroups": [""], "resources": ["events"], "verbs": read},
        ])
    );
    assert_eq!(
        docs[2]["rules"],
        json!([
            {"apiGroups": [""], "resources": ["nodes"], "verbs": read},
            {"apiGroups": ["node.k8s.io"], "resources": ["runtimeclasses"], "verbs": read},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": read},
        ])
    );
    assert_eq!(
        docs[5]["rules"],
        json!([{"apiGroups": ["apps"], "resources": ["daemonsets"], "verbs": all}])
    );
    let subject = json!([{"kind": "ServiceAccount", "name": "s3-reader", "namespace": "ml-team"}]);
    for (binding, role, kind) in [
        (1, name, "Role"),
        (3, name, "ClusterRole"),
        (6, system, "Role"),
    ] {
        assert_eq!(docs[binding]["subjects"], subject, "{binding}");
        assert_eq!(
            docs[binding]["roleRef"],
            json!({"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role})
        );
    }
    for doc in &docs {
        assert_eq!(
            doc["metadata"]["labels"]["app.kubernetes.io/managed-by"], "podiam",
            "{doc}"
        );
        assert_eq!(
            doc["metadata"]["labels"]["app.kubernetes.io/instance"], "ml-team.s3-reader",
            "{doc}"
        );
    }
}

#[test]
fn copy_mode_needs_no_fuse_namespace() {
    let mut args = CUSTOM.to_vec();
    args.extend(["--mount-mode", "COPY"]);
    let docs = documents("rbac", &args);
    assert_eq!(docs.len(), 4, "{docs:?}");
    assert!(
        docs.iter()
            .all(|d| d["metadata"]["namespace"] != "skypilot-system")
    );
}

#[test]
fn cluster_scoped_names_do_not_collide_across_namespaces_and_accounts() {
    let cluster_names = |ns: &str, sa: &str| -> Vec<String> {
        documents("rbac", &["--namespace", ns, "--service-account", sa])
            .iter()
            .filter(|d| d["metadata"]["namespace"].is_null() && d["kind"] != "Namespace")
            .map(|d| d["metadata"]["name"].as_str().expect("name").to_owned())
            .collect()
    };
    let a = cluster_names("a-b", "c");
    let b = cluster_names("a", "b-c");
    assert_eq!(a.len(), 2);
    assert!(a.iter().all(|n| !b.contains(n)), "{a:?} {b:?}");
    // A long service account still gives a label value of at most 63 characters.
    let long = format!(
        "sa.{}.{}.{}",
        "x".repeat(60),
        "y".repeat(60),
        "z".repeat(60)
    );
    let docs = documents(
        "rbac",
        &["--namespace", "ml-team", "--service-account", &long],
    );
    let instance = docs[0]["metadata"]["labels"]["app.kubernetes.io/instance"]
        .as_str()
        .expect("instance");
    assert!(instance.len() <= 63, "{instance}");
    assert!(instance.starts_with("ml-team.sa."), "{instance}");
}

#[test]
fn namespace_and_service_account_carry_the_labels() {
    let docs = documents("serviceaccount", &CUSTOM);
    assert_eq!(
        kinds(&docs),
        [
            ("Namespace".to_owned(), "ml-team".to_owned(), None),
            (
                "ServiceAccount".to_owned(),
                "s3-reader".to_owned(),
                Some("ml-team".to_owned())
            ),
        ]
    );
    for (doc, component) in docs.iter().zip(["namespace", "serviceaccount"]) {
        let labels = &doc["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "podiam");
        assert_eq!(labels["app.kubernetes.io/instance"], "ml-team.s3-reader");
        assert_eq!(labels["app.kubernetes.io/component"], component);
    }
}

#[test]
fn every_script_knows_the_objects_apply_creates() {
    let mut args = vec!["render", "apply-script"];
    args.extend(DOCS);
    args.extend(CUSTOM);
    let out = podiam(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let apply = stdout(&out);
    for object in [
        "namespace ml-team",
        "serviceaccount s3-reader ml-team",
        "role podiam:ml-team.s3-reader ml-team",
        "clusterrolebinding podiam:ml-team.s3-reader ''",
        "namespace skypilot-system",
    ] {
        assert!(
            apply.contains(&format!("kube_object {object}")),
            "apply.sh lacks {object}"
        );
    }
}
