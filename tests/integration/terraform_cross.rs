//! The cross-account Terraform (issue 12), parsed with hcl-rs: the Pod
//! Identity target role in the main module and the single file, and the
//! bucket owner's module; their documents, evaluated, equal the JSON files.

use hcl::eval::{Context, Evaluate};
use hcl::{Block, Body, Expression};
use podiam::artifacts::artifact::Rendered;
use podiam::input::model::Model;
use podiam::input::params::{RawBinding, RawParams};
use serde_json::{Value, json};

use crate::terraform::attr;

fn raw(extra: RawParams) -> RawParams {
    RawParams {
        cluster: Some("c1".into()),
        region: Some("us-west-2".into()),
        bucket: extra.bucket.clone().or(Some(vec!["lake-data".into()])),
        account_id: Some("111111111111".into()),
        ..extra
    }
}

fn target(bind: bool) -> RawParams {
    raw(RawParams {
        target_account: Some("333333333333".into()),
        bindings: bind.then(|| {
            vec![RawBinding {
                namespace: Some("team-b".into()),
                service_account: Some("reader".into()),
                ..RawBinding::default()
            }]
        }),
        ..RawParams::default()
    })
}

fn owner() -> RawParams {
    raw(RawParams {
        bucket: Some(vec!["lake-data".into(), "other.lake".into()]),
        prefix: Some(vec!["team-a".into()]),
        bucket_account: Some("222222222222".into()),
        kms_key: Some(vec![
            "arn:aws:kms:us-west-2:222222222222:key/1234abcd".into(),
        ]),
        ..RawParams::default()
    })
}

/// The named artifacts of `raw`'s model, by name.
fn render(raw: &RawParams, names: &[&str]) -> (Model, Vec<Rendered>) {
    let model = Model::from_raw(raw).expect("valid");
    let artifacts: Vec<_> = names
        .iter()
        .map(|n| podiam::artifacts::artifact::by_name(n).expect("artifact"))
        .collect();
    let rendered = podiam::artifacts::bundle::render(&model, &artifacts).expect("renders");
    (model, rendered)
}

fn text<'a>(rendered: &'a [Rendered], name: &str) -> &'a str {
    rendered
        .iter()
        .find(|r| r.artifact.name == name)
        .map(|r| r.text.as_str())
        .unwrap_or_else(|| panic!("{name} rendered"))
}

fn parse(text: &str) -> Body {
    hcl::parse(text).unwrap_or_else(|e| panic!("hcl-rs parses: {e}\n{text}"))
}

fn json_of(rendered: &[Rendered], name: &str) -> Value {
    serde_json::from_str(text(rendered, name)).expect("json")
}

fn block<'a>(body: &'a Body, kind: &str, labels: &[&str]) -> &'a Block {
    body.blocks()
        .find(|b| {
            b.identifier.as_str() == kind
                && b.labels.iter().map(|l| l.as_str()).collect::<Vec<_>>() == labels
        })
        .unwrap_or_else(|| panic!("{kind} {labels:?}"))
}

fn blocks_of<'a>(body: &'a Body, kind: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks().filter(move |b| b.identifier.as_str() == kind)
}

fn expr_text(expr: &Expression) -> String {
    hcl::format::to_string(expr).expect("formats")
}

/// The argument of the single `jsonencode(...)` call `expr` is.
fn jsonencoded(expr: &Expression) -> &Expression {
    match expr {
        Expression::FuncCall(call) if call.name.name.as_str() == "jsonencode" => &call.args[0],
        other => panic!("not jsonencode(...): {}", expr_text(other)),
    }
}

fn evaluate(expr: &Expression, ctx: &Context) -> Value {
    let value = expr
        .evaluate(ctx)
        .unwrap_or_else(|e| panic!("{}: {e}", expr_text(expr)));
    serde_json::to_value(value).expect("json")
}

/// Variable defaults, for the evaluation context.
fn defaults(body: &Body) -> Value {
    let mut map = serde_json::Map::new();
    for b in blocks_of(body, "variable") {
        let value = evaluate(attr(b, "default"), &Context::new());
        map.insert(b.labels[0].as_str().to_owned(), value);
    }
    Value::Object(map)
}

#[test]
fn target_role_bundles_name_the_target_role_on_every_association() {
    for bind in [false, true] {
        let (_, rendered) = render(
            &target(bind),
            &[
                "terraform-versions",
                "terraform-main",
                "terraform-variables",
                "terraform-outputs",
                "terraform",
            ],
        );
        let versions = text(&rendered, "terraform-versions");
        assert!(versions.contains("version = \">= 6.2.0\""), "{versions}");
        assert!(
            versions.contains("configuration_aliases = [aws.target]"),
            "{versions}"
        );
        for (name, res, prefix) in [
            ("terraform-main", "this", ""),
            ("terraform", "s3_lake_data", "s3_lake_data_"),
        ] {
            let body = parse(text(&rendered, name));
            let associations: Vec<&Block> = blocks_of(&body, "resource")
                .filter(|b| b.labels[0].as_str() == "aws_eks_pod_identity_association")
                .collect();
            assert_eq!(associations.len(), if bind { 2 } else { 1 }, "{name}");
            for a in associations {
                assert_eq!(
                    expr_text(attr(a, "target_role_arn")),
                    format!("local.{prefix}target_role_arn"),
                    "{name}"
                );
            }
            let role = block(
                &body,
                "resource",
                &["aws_iam_role", &format!("{res}_target")],
            );
            let trust = expr_text(attr(role, "assume_role_policy"));
            let ids = if bind {
                format!("local.{prefix}target_external_ids")
            } else {
                format!("aws_eks_pod_identity_association.{res}.external_id")
            };
            assert!(
                trust.contains(&format!("\"sts:ExternalId\" = {ids}")),
                "{trust}"
            );
            assert_eq!(
                expr_text(attr(role, "provider")),
                if prefix.is_empty() {
                    "aws.target".to_owned()
                } else {
                    format!("aws.{prefix}target")
                }
            );
            // The S3 policy is attached in the target account only.
            let attachments: Vec<String> = blocks_of(&body, "resource")
                .filter(|b| b.labels[0].as_str() == "aws_iam_role_policy_attachment")
                .map(|b| b.labels[1].as_str().to_owned())
                .collect();
            assert_eq!(attachments, [format!("{res}_target")], "{name}");
            if bind {
                let ids = blocks_of(&body, "locals")
                    .flat_map(|b| b.body.attributes())
                    .find(|a| a.key.as_str() == format!("{prefix}target_external_ids"))
                    .map(|a| expr_text(&a.expr))
                    .expect("external ids local");
                assert!(
                    ids.contains(&format!(
                        "aws_eks_pod_identity_association.{res}.external_id"
                    )) && ids.contains(&format!("aws_eks_pod_identity_association.{res}_bindings"))
                        && ids.contains("a.external_id"),
                    "{ids}"
                );
            }
        }
        let single = text(&rendered, "terraform");
        assert!(
            single.contains("alias               = \"s3_lake_data_target\""),
            "{single}"
        );
    }
}

#[test]
fn the_target_documents_evaluate_to_the_json_files() {
    let (model, rendered) = render(
        &target(false),
        &[
            "terraform-main",
            "terraform-variables",
            "target-trust-policy",
            "source-role-policy",
            "s3-access-policy",
        ],
    );
    let main = parse(text(&rendered, "terraform-main"));
    let variables = parse(text(&rendered, "terraform-variables"));
    let external_id = podiam::iam::cross::external_id(&model, &model.bindings[0]).expect("id");
    let mut ctx = Context::new();
    ctx.declare_var("var", hcl::to_value(defaults(&variables)).expect("value"));
    ctx.declare_var(
        "data",
        hcl::to_value(json!({
            "aws_partition": {"this": {"partition": "aws", "dns_suffix": "amazonaws.com"}},
            "aws_region": {"this": {"id": "us-west-2"}},
            "aws_caller_identity": {"this": {"account_id": "111111111111"}},
        }))
        .expect("value"),
    );
    ctx.declare_var(
        "aws_iam_role",
        hcl::to_value(json!({"this": {"arn": podiam::iam::policy::role_arn(&model)}}))
            .expect("value"),
    );
    ctx.declare_var(
        "aws_eks_pod_identity_association",
        hcl::to_value(json!({"this": {"external_id": external_id}})).expect("value"),
    );
    let target_arn = blocks_of(&main, "locals")
        .flat_map(|b| b.body.attributes())
        .find(|a| a.key.as_str() == "target_role_arn")
        .map(|a| evaluate(&a.expr, &ctx))
        .expect("target_role_arn local");
    assert_eq!(
        target_arn,
        json!("arn:aws:iam::333333333333:role/SkyPilotS3Role-lake-data")
    );
    let mut locals = serde_json::Map::new();
    locals.insert("target_role_arn".into(), target_arn);
    for name in ["bucket_arns", "object_arns"] {
        let value = blocks_of(&main, "locals")
            .flat_map(|b| b.body.attributes())
            .find(|a| a.key.as_str() == name)
            .map(|a| evaluate(&a.expr, &ctx))
            .expect("local");
        locals.insert(name.into(), value);
    }
    ctx.declare_var(
        "local",
        hcl::to_value(Value::Object(locals)).expect("value"),
    );
    for (kind, label, key, json) in [
        (
            "aws_iam_role",
            "this_target",
            "assume_role_policy",
            "target-trust-policy",
        ),
        (
            "aws_iam_role_policy",
            "this",
            "policy",
            "source-role-policy",
        ),
        (
            "aws_iam_policy",
            "this_target",
            "policy",
            "s3-access-policy",
        ),
    ] {
        let resource = block(&main, "resource", &[kind, label]);
        let got = evaluate(jsonencoded(attr(resource, key)), &ctx);
        assert_eq!(got, json_of(&rendered, json), "{kind}.{label}");
    }
}

#[test]
fn single_account_bundles_have_no_target_role_and_no_bucket_owner_module() {
    let (model, rendered) = render(
        &raw(RawParams::default()),
        &["terraform-versions", "terraform-main", "terraform"],
    );
    for name in ["terraform-versions", "terraform-main", "terraform"] {
        let t = text(&rendered, name);
        assert!(
            !t.contains("aws.target") && !t.contains("_target") && !t.contains("target_role_arn"),
            "{name}"
        );
    }
    let owner = podiam::artifacts::artifact::by_name("terraform-bucket-owner").expect("artifact");
    assert!(owner.only.is_some_and(|o| !o.applies(&model)));
}

#[test]
fn the_bucket_owner_module_has_its_own_provider_and_the_json_statements() {
    let (_, rendered) = render(
        &owner(),
        &["terraform-bucket-owner", "bucket-policy", "kms-key-policy"],
    );
    let body = parse(text(&rendered, "terraform-bucket-owner"));
    // Its own provider requirement, and no provider configuration (no credentials).
    assert_eq!(blocks_of(&body, "provider").count(), 0);
    let terraform = block(&body, "terraform", &[]);
    let providers = terraform
        .body
        .blocks()
        .find(|b| b.identifier.as_str() == "required_providers")
        .expect("required_providers");
    let aws = expr_text(attr(providers, "aws"));
    assert!(
        aws.contains("\"hashicorp/aws\"") && aws.contains("\">= 6.2.0\""),
        "{aws}"
    );
    // The policies are required: no default drops another statement.
    for v in blocks_of(&body, "variable") {
        assert!(v.body.attributes().all(|a| a.key.as_str() != "default"));
    }
    for (kind, label) in [
        ("aws_s3_bucket_policy", "this"),
        ("aws_kms_key_policy", "this"),
    ] {
        let resource = block(&body, "resource", &[kind, label]);
        let lifecycle = resource
            .body
            .blocks()
            .find(|b| b.identifier.as_str() == "lifecycle")
            .expect("lifecycle");
        assert_eq!(expr_text(attr(lifecycle, "prevent_destroy")), "true");
    }
    let ctx = Context::new();
    let local = |name: &str| {
        blocks_of(&body, "locals")
            .flat_map(|b| b.body.attributes())
            .find(|a| a.key.as_str() == name)
            .map(|a| evaluate(&a.expr, &ctx))
            .unwrap_or_else(|| panic!("local {name}"))
    };
    let buckets = local("podiam_bucket_statements");
    let map = buckets.as_object().expect("object");
    assert_eq!(map.keys().collect::<Vec<_>>(), ["lake-data", "other.lake"]);
    let joined: Vec<Value> = map
        .values()
        .flat_map(|v| v.as_array().cloned().unwrap_or_default())
        .collect();
    assert_eq!(
        Value::Array(joined),
        json_of(&rendered, "bucket-policy")["Statement"]
    );
    let keys = local("podiam_key_statements");
    assert_eq!(
        keys["arn:aws:kms:us-west-2:222222222222:key/1234abcd"],
        json_of(&rendered, "kms-key-policy")["Statement"]
    );
    assert_eq!(
        local("key_ids"),
        json!({"arn:aws:kms:us-west-2:222222222222:key/1234abcd": "1234abcd"})
    );
    let t = text(&rendered, "terraform-bucket-owner");
    assert!(
        t.contains("providers = { aws = aws.bucket_owner }"),
        "the caller snippet"
    );
}
