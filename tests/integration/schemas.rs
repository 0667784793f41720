//! Every schema must reject a mutated artifact: a schema that accepts
//! anything is a defect.

use podiam::artifacts::artifact::{self, Artifact};
use podiam::artifacts::check;
use serde_json::{Value, json};

use crate::fixtures;

/// A described change to a parsed artifact.
type Mutation = (&'static str, fn(&mut Value));

/// Renders the named artifact for the named fixture as JSON documents.
fn documents(fixture: &str, artifact: &str) -> (&'static Artifact, Vec<Value>) {
    let (_, raw) = fixtures::all()
        .into_iter()
        .find(|(n, _)| *n == fixture)
        .expect("fixture");
    let rendered = fixtures::render(&raw)
        .into_iter()
        .find(|r| r.artifact.name == artifact)
        .expect("artifact");
    let docs = check::documents(rendered.artifact.format, &rendered.text).expect("parses");
    (rendered.artifact, docs)
}

/// Asserts the pristine documents pass and each mutation of the last one fails.
fn assert_mutations_fail(fixture: &str, name: &str, mutations: &[Mutation]) {
    assert_kind_mutations_fail(fixture, name, None, mutations);
}

/// Asserts the pristine documents pass and each mutation of the last one
/// (of kind `kind`, when given) fails.
fn assert_kind_mutations_fail(
    fixture: &str,
    name: &str,
    kind: Option<&str>,
    mutations: &[Mutation],
) {
    let (artifact, docs) = documents(fixture, name);
    let schema = artifact.schema.expect("a data artifact has a schema");
    for doc in &docs {
        assert!(
            podiam::formats::schemas::check(schema, doc).is_empty(),
            "{name} must pass as generated"
        );
    }
    for (what, mutate) in mutations {
        let mut doc = docs
            .iter()
            .rev()
            .find(|d| kind.is_none_or(|k| d["kind"] == k))
            .cloned()
            .expect("a document");
        mutate(&mut doc);
        let problems = podiam::formats::schemas::check(schema, &doc);
        assert!(
            !problems.is_empty(),
            "{name}: schema {} accepted a mutation: {what}",
            schema.name()
        );
    }
}

#[test]
fn iam_policy_schema_rejects_mutations() {
    assert_mutations_fail(
        "docs-pod-identity",
        "s3-access-policy",
        &[
            ("wrong version", |d| d["Version"] = json!("2008-10-17")),
            ("no statements", |d| d["Statement"] = json!([])),
            ("a Principal in an identity policy", |d| {
                d["Statement"][0]["Principal"] = json!("*")
            }),
            ("bad effect", |d| {
                d["Statement"][0]["Effect"] = json!("allow")
            }),
            ("action without service", |d| {
                d["Statement"][0]["Action"] = json!(["GetObject"])
            }),
            ("resource that is no ARN", |d| {
                d["Statement"][0]["Resource"] = json!(["my-bucket"])
            }),
            ("statement without resource", |d| {
                d["Statement"][1]
                    .as_object_mut()
                    .map(|o| o.remove("Resource"));
            }),
            ("Sid with a space", |d| {
                d["Statement"][0]["Sid"] = json!("List bucket")
            }),
            ("unknown key", |d| {
                d["Statement"][0]["Actions"] = json!(["s3:GetObject"])
            }),
            ("condition operator typo", |d| {
                d["Statement"][0]["Condition"] = json!({"StringEqual": {"s3:prefix": "a/"}})
            }),
        ],
    );
}

#[test]
fn trust_policy_schema_rejects_mutations() {
    let common: [Mutation; 5] = [
        ("no principal", |d| {
            d["Statement"][0]
                .as_object_mut()
                .map(|o| o.remove("Principal"));
        }),
        ("a Resource in a trust policy", |d| {
            d["Statement"][0]["Resource"] = json!("*")
        }),
        ("a non-STS action", |d| {
            d["Statement"][0]["Action"] = json!("s3:GetObject")
        }),
        ("empty principal", |d| {
            d["Statement"][0]["Principal"] = json!({})
        }),
        ("wrong version", |d| d["Version"] = json!("2012-10-18")),
    ];
    assert_mutations_fail("docs-pod-identity", "trust-policy", &common);
    assert_mutations_fail("docs-irsa", "trust-policy", &common);
    assert_mutations_fail(
        "docs-irsa",
        "trust-policy",
        &[("federated principal that is no OIDC provider ARN", |d| {
            d["Statement"][0]["Principal"]["Federated"] = json!("accounts.google.com/x")
        })],
    );
}

#[test]
fn skypilot_config_schema_rejects_mutations() {
    assert_mutations_fail(
        "custom-namespace-sa-context",
        "skypilot-config",
        &[
            ("lowercase no_upload", |d| {
                d["aws"]["remote_identity"] = json!("no_upload")
            }),
            ("role mapping instead of NO_UPLOAD", |d| {
                d["aws"]["remote_identity"] = json!([{"*": "role"}])
            }),
            ("missing aws section", |d| {
                d.as_object_mut().map(|o| o.remove("aws"));
            }),
            ("namespace that is no label", |d| {
                d["kubernetes"]["namespace"] = json!("Team_A")
            }),
            ("allowed_contexts as a string", |d| {
                d["kubernetes"]["allowed_contexts"] = json!("ctx")
            }),
            ("unknown key", |d| d["kubernetes"]["namepsace"] = json!("a")),
            (
                "a workspace that uploads AWS credentials",
                |d| {
                    d["workspaces"] =
                        json!({"team": {"aws": {"remote_identity": "LOCAL_CREDENTIALS"}}})
                },
            ),
            ("the default account's keyword as service account", |d| {
                d["kubernetes"]["remote_identity"] = json!("SERVICE_ACCOUNT")
            }),
            ("a context that uploads local credentials", |d| {
                d["kubernetes"]["context_configs"] =
                    json!({"ctx": {"remote_identity": "LOCAL_CREDENTIALS"}})
            }),
            ("a context namespace that is no label", |d| {
                d["kubernetes"]["context_configs"] = json!({"ctx": {"namespace": "Team_A"}})
            }),
            ("empty allowed_contexts", |d| {
                d["kubernetes"]["allowed_contexts"] = json!([])
            }),
            ("custom_metadata that names the pod", |d| {
                d["kubernetes"]["custom_metadata"] = json!({"name": "x"})
            }),
        ],
    );
}

#[test]
fn skypilot_task_schema_rejects_mutations() {
    assert_mutations_fail(
        "docs-pod-identity",
        "skypilot-task",
        &[
            ("eks infra", |d| d["resources"]["infra"] = json!("eks")),
            ("unknown mount mode", |d| {
                d["file_mounts"]["/s3/data"]["mode"] = json!("MOUNTED")
            }),
            ("gs source", |d| {
                d["file_mounts"]["/s3/data"]["source"] = json!("gs://my-bucket/")
            }),
            (
                "mount path that is a cloud URL",
                |d| {
                    d["file_mounts"] = json!({"s3://elsewhere/data": {"source": "s3://my-bucket/"}})
                },
            ),
            ("no run", |d| {
                d.as_object_mut().map(|o| o.remove("run"));
            }),
            ("misspelled cpus", |d| d["resources"]["cpu"] = json!(2)),
            ("cpus that is no number", |d| {
                d["resources"]["cpus"] = json!("two")
            }),
            ("memory that is no size", |d| {
                d["resources"]["memory"] = json!("lots")
            }),
            ("no nodes", |d| d["num_nodes"] = json!(0)),
            ("an environment variable without a value", |d| {
                d["envs"] = json!({"DATA": null})
            }),
            ("an alternative on another cloud", |d| {
                d["resources"]["any_of"] = json!([{"infra": "aws"}])
            }),
            ("an internal field that deletes the bucket", |d| {
                d["file_mounts"]["/s3/data"]["_force_delete"] = json!(true)
            }),
            ("a task config that uploads local credentials", |d| {
                d["config"] = json!({"kubernetes": {"remote_identity": "LOCAL_CREDENTIALS"}})
            }),
            ("a prefix mounted", |d| {
                d["file_mounts"]["/s3/data"]["source"] = json!("s3://my-bucket/team-a/")
            }),
            ("config.mount with mode MOUNT_CACHED", |d| {
                d["file_mounts"]["/s3/data"]["config"] = json!({"mount": {"read_only": true}})
            }),
            ("service and pool", |d| {
                d["service"] = json!({});
                d["pool"] = json!({});
            }),
        ],
    );
}

#[test]
fn kubernetes_schema_rejects_mutations() {
    assert_mutations_fail(
        "docs-irsa",
        "serviceaccount",
        &[
            ("wrong kind", |d| d["kind"] = json!("Serviceaccount")),
            ("wrong apiVersion", |d| d["apiVersion"] = json!("v2")),
            ("missing namespace", |d| {
                d["metadata"].as_object_mut().map(|o| o.remove("namespace"));
            }),
            ("role ARN that is no role", |d| {
                d["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] =
                    json!("arn:aws:iam::123456789012:user/x")
            }),
            ("uppercase name", |d| d["metadata"]["name"] = json!("S3")),
        ],
    );
    assert_mutations_fail(
        "custom-namespace-sa-context",
        "serviceaccount",
        &[("namespace name with dots", |d| {
            d["metadata"]["namespace"] = json!("a.b")
        })],
    );
    assert_kind_mutations_fail(
        "custom-namespace-sa-context",
        "rbac",
        Some("Role"),
        &[
            ("no podiam labels", |d| {
                d["metadata"].as_object_mut().map(|o| o.remove("labels"));
            }),
            ("the component of another kind", |d| {
                d["metadata"]["labels"]["app.kubernetes.io/component"] = json!("rolebinding")
            }),
            ("a label value that is no string", |d| {
                d["metadata"]["labels"]["team"] = json!(true)
            }),
            ("a label key with a space", |d| {
                d["metadata"]["labels"]["my team"] = json!("a")
            }),
            ("the escalate verb", |d| {
                d["rules"][0]["verbs"] = json!(["escalate"])
            }),
            ("verbs as a string", |d| {
                d["rules"][0]["verbs"] = json!("get")
            }),
            ("a generated name", |d| {
                d["metadata"]["generateName"] = json!("podiam-")
            }),
            ("a name the scripts do not look for", |d| {
                d["metadata"]["name"] = json!("my-role")
            }),
            ("an unknown field", |d| d["spec"] = json!({})),
        ],
    );
    assert_kind_mutations_fail(
        "custom-namespace-sa-context",
        "rbac",
        Some("ClusterRoleBinding"),
        &[
            ("a second subject", |d| {
                let first = d["subjects"][0].clone();
                d["subjects"] = json!([first.clone(), first]);
            }),
            ("a group subject", |d| {
                d["subjects"][0] = json!({"kind": "Group", "name": "system:authenticated"})
            }),
            ("a ClusterRoleBinding to a Role", |d| {
                d["roleRef"]["kind"] = json!("Role")
            }),
        ],
    );
}

#[test]
fn manifest_schema_rejects_mutations() {
    assert_mutations_fail(
        "docs-irsa",
        "manifest",
        &[
            ("no artifacts", |d| {
                d.as_object_mut().map(|o| o.remove("artifacts"));
            }),
            ("empty artifact list", |d| d["artifacts"] = json!([])),
            ("sha256 that is no digest", |d| {
                d["artifacts"][0]["sha256"] = json!("not-a-digest")
            }),
            ("a path that climbs out", |d| {
                d["artifacts"][0]["path"] = json!("../etc/passwd")
            }),
            ("an absolute path", |d| {
                d["artifacts"][0]["path"] = json!("/etc/passwd")
            }),
            ("unknown partition", |d| {
                d["parameters"]["partition"] = json!("aws-moon")
            }),
            ("unknown method", |d| {
                d["parameters"]["method"] = json!("keys")
            }),
            ("no role name", |d| {
                d["parameters"]
                    .as_object_mut()
                    .map(|o| o.remove("role_name"));
            }),
            ("unknown top-level key", |d| d["signed"] = json!(true)),
            ("no podiam version", |d| d["podiam"] = json!({})),
        ],
    );
}

#[test]
fn every_artifact_has_a_compiling_schema_and_a_template() {
    for a in artifact::ARTIFACTS {
        assert!(
            podiam::render::templates::TEMPLATES
                .iter()
                .any(|(n, _)| *n == a.template),
            "{}",
            a.template
        );
        if let Some(schema) = a.schema {
            assert!(podiam::formats::schemas::Schema::by_name(schema.name()).is_some());
        }
    }
}

#[test]
fn yaml_parse_back_rejects_duplicate_keys() {
    let text = "aws:\n  remote_identity: NO_UPLOAD\naws:\n  remote_identity: NO_UPLOAD\n";
    let config = artifact::by_name("skypilot-config").expect("artifact");
    assert!(!check::check(config, text).is_empty());
}

/// Keywords that draft-07 does not know and would silently ignore.
const NEWER_KEYWORDS: [&str; 15] = [
    "$defs",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
    "$recursiveAnchor",
    "$vocabulary",
    "contentSchema",
    "prefixItems",
    "unevaluatedItems",
    "unevaluatedProperties",
    "dependentRequired",
    "dependentSchemas",
    "minContains",
    "maxContains",
];

/// Keywords beside a `$ref` that draft-07 may ignore without changing meaning.
const ANNOTATIONS: [&str; 4] = ["$ref", "description", "title", "$comment"];

/// The problems of a draft-07 (sub)schema: a newer keyword, which draft-07
/// ignores; an assertion beside a `$ref`, which draft-07 ignores too; an
/// `items` list, which means a tuple in draft-07 and is refused by 2020-12.
fn draft_07_problems(schema: &Value, path: &str, problems: &mut Vec<String>) {
    let Value::Object(map) = schema else {
        if let Value::Array(items) = schema {
            for (i, item) in items.iter().enumerate() {
                draft_07_problems(item, &format!("{path}/{i}"), problems);
            }
        }
        return;
    };
    if map.contains_key("$ref") {
        for key in map.keys().filter(|k| !ANNOTATIONS.contains(&k.as_str())) {
            problems.push(format!("{path}: {key:?} beside $ref"));
        }
    }
    if map.get("items").is_some_and(Value::is_array) {
        problems.push(format!("{path}: \"items\" as a list"));
    }
    for (key, value) in map {
        if NEWER_KEYWORDS.contains(&key.as_str()) {
            problems.push(format!("{path}: {key:?}"));
        }
        let named = ["properties", "patternProperties", "definitions"].contains(&key.as_str());
        match value {
            Value::Object(children) if named => {
                for (name, child) in children {
                    draft_07_problems(child, &format!("{path}/{key}/{name}"), problems);
                }
            }
            Value::Object(_) | Value::Array(_)
                if !["enum", "const", "examples"].contains(&key.as_str()) =>
            {
                draft_07_problems(value, &format!("{path}/{key}"), problems);
            }
            _ => {}
        }
    }
}

/// The policy schemas are draft-07 (its meta-schema validator is a third of
/// draft 2020-12's to build, which `render` of one policy pays); the others
/// are draft 2020-12. A draft-07 schema must not rely on what draft-07
/// ignores.
#[test]
fn every_schema_declares_its_dialect_and_the_draft_07_ones_use_only_draft_07() {
    let draft_07 = "http://json-schema.org/draft-07/schema#";
    let draft_2020 = "https://json-schema.org/draft/2020-12/schema";
    let mut seven = Vec::new();
    for name in podiam::formats::schemas::Schema::names() {
        let schema = podiam::formats::schemas::Schema::by_name(name).expect("schema");
        let value: Value = serde_json::from_str(schema.text()).expect("JSON");
        let dialect = value["$schema"].as_str().unwrap_or_default();
        assert!(
            [draft_07, draft_2020].contains(&dialect),
            "{name}: {dialect:?}"
        );
        if dialect == draft_07 {
            seven.push(name);
            let mut problems = Vec::new();
            draft_07_problems(&value, "", &mut problems);
            assert!(problems.is_empty(), "{name}: {problems:?}");
        }
    }
    assert_eq!(seven, ["iam-policy", "trust-policy", "resource-policy"]);
}

#[test]
fn the_draft_07_check_finds_what_draft_07_ignores() {
    let schema = json!({
        "properties": {
            "unevaluatedProperties": {"type": "string"},
            "a": {"$ref": "#/definitions/a", "minLength": 1, "description": "ok"}
        },
        "definitions": {
            "a": {"prefixItems": [{"enum": [{"$defs": 1}]}]},
            "b": {"items": [{"type": "string"}]}
        },
        "unevaluatedProperties": false
    });
    let mut problems = Vec::new();
    draft_07_problems(&schema, "", &mut problems);
    assert_eq!(
        problems,
        [
            "/properties/a: \"minLength\" beside $ref",
            "/definitions/a: \"prefixItems\"",
            "/definitions/b: \"items\" as a list",
            ": \"unevaluatedProperties\"",
        ]
    );
}
