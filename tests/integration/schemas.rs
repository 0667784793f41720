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

/// Asserts the pristine documents pass and each mutation fails.
fn assert_mutations_fail(fixture: &str, name: &str, mutations: &[Mutation]) {
    let (artifact, docs) = documents(fixture, name);
    let schema = artifact.schema.expect("a data artifact has a schema");
    for doc in &docs {
        assert!(
            podiam::formats::schemas::check(schema, doc).is_empty(),
            "{name} must pass as generated"
        );
    }
    for (what, mutate) in mutations {
        let mut doc = docs.last().cloned().expect("a document");
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
                "relative mount path",
                |d| {
                    d["file_mounts"] =
                        json!({"s3/data": {"source": "s3://my-bucket/", "mode": "COPY"}})
                },
            ),
            ("no run", |d| {
                d.as_object_mut().map(|o| o.remove("run"));
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
