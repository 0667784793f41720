//! The Terraform artifacts, parsed with hcl-rs: resource types and
//! attributes, policies equal to the JSON artifacts once the Terraform
//! references are evaluated, and single files that do not collide.

use std::collections::BTreeMap;

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Block, Body, Expression};
use podiam::artifacts::artifact::Rendered;
use podiam::input::access::Level;
use podiam::input::model::{Method, Model};
use podiam::input::params::{RawBinding, RawParams};
use serde_json::{Value, json};

use crate::fixtures;

/// The module directory's files, joined, and the single file, for one fixture.
struct Forms {
    model: Model,
    json: BTreeMap<&'static str, Value>,
    directory: Body,
    single: Body,
}

fn parse(text: &str) -> Body {
    hcl::parse(text).unwrap_or_else(|e| panic!("hcl-rs parses the file: {e}\n{text}"))
}

fn forms(raw: &RawParams) -> Forms {
    let model = Model::from_raw(raw).expect("valid");
    // The Terraform artifacts and the JSON documents they must match (the
    // whole bundle is the snapshot tests' business).
    let artifacts: Vec<_> = [
        "terraform-versions",
        "terraform-variables",
        "terraform-main",
        "terraform-outputs",
        "terraform",
        "s3-access-policy",
        "trust-policy",
    ]
    .iter()
    .map(|n| podiam::artifacts::artifact::by_name(n).expect("artifact"))
    .collect();
    let rendered: Vec<Rendered> =
        podiam::artifacts::bundle::render(&model, &artifacts).expect("renders");
    let text = |name: &str| {
        rendered
            .iter()
            .find(|r| r.artifact.name == name)
            .map(|r| r.text.clone())
            .expect(name)
    };
    let directory: String = ["versions", "variables", "main", "outputs"]
        .iter()
        .map(|f| {
            let t = text(&format!("terraform-{f}"));
            parse(&t); // each file parses on its own
            t
        })
        .collect();
    let json = ["s3-access-policy", "trust-policy"]
        .into_iter()
        .map(|n| (n, serde_json::from_str(&text(n)).expect("json")))
        .collect();
    Forms {
        json,
        directory: parse(&directory),
        single: parse(&text("terraform")),
        model,
    }
}

fn blocks<'a>(body: &'a Body, kind: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks().filter(move |b| b.identifier.as_str() == kind)
}

fn labels(block: &Block) -> Vec<&str> {
    block.labels.iter().map(|l| l.as_str()).collect()
}

fn one<'a>(body: &'a Body, kind: &'a str, label: &str) -> &'a Block {
    let found: Vec<&Block> = blocks(body, kind)
        .filter(|b| b.labels.first().map(|l| l.as_str()) == Some(label))
        .collect();
    assert_eq!(found.len(), 1, "one {kind} {label}");
    found[0]
}

/// The expression of attribute `key` of `block`; panics when it has none.
pub fn attr<'a>(block: &'a Block, key: &str) -> &'a Expression {
    block
        .body
        .attributes()
        .find(|a| a.key.as_str() == key)
        .map(|a| &a.expr)
        .unwrap_or_else(|| panic!("{} has {key}", labels(block).join(".")))
}

fn text(expr: &Expression) -> String {
    hcl::format::to_string(expr).expect("formats")
}

/// Variable defaults, by variable name.
fn defaults(body: &Body) -> BTreeMap<String, Value> {
    blocks(body, "variable")
        .map(|b| {
            let default = attr(b, "default");
            let value = default.evaluate(&Context::new()).expect("literal default");
            (
                labels(b)[0].to_owned(),
                serde_json::to_value(value).expect("json"),
            )
        })
        .collect()
}

/// The form's resource name and its variable prefix, from `data.aws_partition`.
fn names(body: &Body) -> (String, String) {
    let res = blocks(body, "data")
        .find(|b| labels(b)[0] == "aws_partition")
        .map(|b| labels(b)[1].to_owned())
        .expect("data aws_partition");
    let prefix = if res == "this" {
        String::new()
    } else {
        format!("{res}_")
    };
    (res, prefix)
}

/// Terraform's `flatten`, for hcl-rs.
fn flatten(args: FuncArgs) -> Result<hcl::Value, String> {
    fn push(v: hcl::Value, out: &mut Vec<hcl::Value>) {
        match v {
            hcl::Value::Array(items) => items.into_iter().for_each(|i| push(i, out)),
            other => out.push(other),
        }
    }
    let mut out = Vec::new();
    args.into_values()
        .into_iter()
        .for_each(|v| push(v, &mut out));
    Ok(hcl::Value::Array(out))
}

/// Terraform's `join`, for hcl-rs.
fn join(args: FuncArgs) -> Result<hcl::Value, String> {
    let values = args.into_values();
    let (Some(hcl::Value::String(sep)), Some(hcl::Value::Array(items))) =
        (values.first(), values.get(1))
    else {
        return Err("join(separator, list)".into());
    };
    let items: Option<Vec<&str>> = items.iter().map(|i| i.as_str()).collect();
    Ok(hcl::Value::String(
        items.ok_or("a list of strings")?.join(sep),
    ))
}

/// An evaluation context that stands in for the providers: variables at their
/// defaults; the partition, DNS suffix, region, account and OIDC provider the
/// model knows; `flatten` and `join`.
fn context(body: &Body, model: &Model) -> Context<'static> {
    let (res, prefix) = names(body);
    let mut ctx = Context::new();
    ctx.declare_var("var", hcl::to_value(defaults(body)).expect("value"));
    let partition = model.region.partition();
    let account = model.account_id.as_ref().map(|a| a.as_str());
    ctx.declare_var(
        "data",
        hcl::to_value(json!({
            "aws_partition": { res.clone(): { "partition": partition.id(), "dns_suffix": partition.dns_suffix() } },
            "aws_region": { res.clone(): { "id": model.region.as_str() } },
            "aws_caller_identity": { res.clone(): { "account_id": account } },
        }))
        .expect("value"),
    );
    let variadic = || FuncDef::builder().variadic_param(ParamType::Any);
    ctx.declare_func("flatten", variadic().build(flatten));
    ctx.declare_func("join", variadic().build(join));
    let provider = model.oidc.as_ref().map(|o| o.provider());
    let provider_arn = podiam::iam::policy::oidc_provider_arn(model);
    let mut locals = json!({
        format!("{prefix}oidc_provider"): provider,
        format!("{prefix}oidc_provider_arn"): provider_arn,
    });
    // The per-bucket lists, evaluated from their for expressions.
    for name in ["bucket_arns", "object_arns"] {
        let key = format!("{prefix}{name}");
        let expr = blocks(body, "locals")
            .flat_map(|b| b.body.attributes())
            .find(|a| a.key.as_str() == key)
            .map(|a| &a.expr)
            .unwrap_or_else(|| panic!("local {key}"));
        let value = expr.evaluate(&ctx).unwrap_or_else(|e| panic!("{key}: {e}"));
        locals[key] = serde_json::to_value(value).expect("json");
    }
    ctx.declare_var("local", hcl::to_value(locals).expect("value"));
    ctx
}

/// The object inside `jsonencode(...)`, evaluated.
fn policy(body: &Body, ctx: &Context, kind: &str, key: &str) -> Value {
    let block = blocks(body, "resource")
        .find(|b| labels(b)[0] == kind)
        .expect(kind);
    let Expression::FuncCall(call) = attr(block, key) else {
        panic!("{kind}.{key} is a function call");
    };
    assert_eq!(call.name.to_string(), "jsonencode");
    assert_eq!(call.args.len(), 1);
    assert!(
        matches!(call.args[0], Expression::Object(_)),
        "an HCL object"
    );
    let value = call.args[0].evaluate(ctx).expect("evaluates");
    serde_json::to_value(value).expect("json")
}

fn resource_types(body: &Body) -> Vec<&str> {
    blocks(body, "resource").map(|b| labels(b)[0]).collect()
}

fn check_form(body: &Body, forms: &Forms, form: &str) {
    let model = &forms.model;
    let ctx = context(body, model);
    let permission = policy(body, &ctx, "aws_iam_policy", "policy");
    assert_eq!(
        permission, forms.json["s3-access-policy"],
        "{form}: permission policy"
    );
    let trust = policy(body, &ctx, "aws_iam_role", "assume_role_policy");
    assert_eq!(trust, forms.json["trust-policy"], "{form}: trust policy");
    let defaults = defaults(body);
    let prefix = names(body).1;
    let default = |name: &str| defaults[&format!("{prefix}{name}")].clone();
    assert_eq!(default("cluster_name"), json!(model.cluster.as_str()));
    let buckets: Vec<&str> = model.buckets.iter().map(|b| b.as_str()).collect();
    assert_eq!(default("bucket_names"), json!(buckets));
    assert_eq!(default("namespace"), json!(model.namespace.as_str()));
    assert_eq!(
        default("service_account"),
        json!(model.service_account.as_str())
    );
    assert_eq!(default("role_name"), json!(model.role_name.as_str()));
    assert_eq!(default("policy_name"), json!(model.policy_name.as_str()));
    let mut types = resource_types(body);
    types.sort_unstable();
    let expected: &[&str] = match model.method {
        Method::PodIdentity => &[
            "aws_eks_addon",
            "aws_eks_pod_identity_association",
            "aws_iam_policy",
            "aws_iam_role",
            "aws_iam_role_policy_attachment",
        ],
        Method::Irsa => &[
            "aws_iam_openid_connect_provider",
            "aws_iam_policy",
            "aws_iam_role",
            "aws_iam_role_policy_attachment",
            "kubernetes_annotations",
            "kubernetes_namespace_v1",
            "kubernetes_service_account_v1",
        ],
        Method::Both => &[
            "aws_eks_addon",
            "aws_eks_pod_identity_association",
            "aws_iam_openid_connect_provider",
            "aws_iam_policy",
            "aws_iam_role",
            "aws_iam_role_policy_attachment",
            "kubernetes_annotations",
            "kubernetes_namespace_v1",
            "kubernetes_service_account_v1",
        ],
    };
    // Role chaining: the target role next to the source role, and the source
    // role's inline policy (terraform_cross.rs checks them).
    let chained: &[&str] = &[
        "aws_eks_addon",
        "aws_eks_pod_identity_association",
        "aws_iam_policy",
        "aws_iam_role",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
    ];
    let expected = match model.accounts.target_account {
        Some(_) => chained,
        None => expected,
    };
    assert_eq!(types, expected, "{form}");
    check_role_options(body, &ctx, forms, form);
    for block in blocks(body, "resource") {
        let kind = labels(block)[0];
        let untagged = ["aws_iam_role_policy_attachment", "aws_iam_role_policy"];
        if kind.starts_with("aws_") && !untagged.contains(&kind) {
            assert!(text(attr(block, "tags")).contains("tags"), "{form}: {kind}");
        }
    }
}

/// Evaluates attribute `key` of the one resource of type `kind`.
fn evaluated(body: &Body, ctx: &Context, kind: &str, key: &str) -> Value {
    let block = blocks(body, "resource")
        .find(|b| labels(b)[0] == kind)
        .expect(kind);
    let value = attr(block, key)
        .evaluate(ctx)
        .unwrap_or_else(|e| panic!("{kind}.{key}: {e}"));
    serde_json::to_value(value).expect("json")
}

/// Path, boundary, session duration and tags on the role and policy, as
/// the model has them; descriptions that follow the access profile; data
/// sources declared exactly when the documents use them.
fn check_role_options(body: &Body, ctx: &Context, forms: &Forms, form: &str) {
    let model = &forms.model;
    let tags: serde_json::Map<String, Value> = model
        .tags
        .iter()
        .map(|t| (t.key.clone(), json!(t.value)))
        .collect();
    for kind in ["aws_iam_role", "aws_iam_policy"] {
        let path = evaluated(body, ctx, kind, "path");
        assert_eq!(path, json!(model.iam_path), "{form}: {kind} path");
        let got = evaluated(body, ctx, kind, "tags");
        assert_eq!(got, Value::Object(tags.clone()), "{form}: {kind} tags");
    }
    let role = |key: &str| evaluated(body, ctx, "aws_iam_role", key);
    assert_eq!(
        role("permissions_boundary"),
        json!(model.permissions_boundary),
        "{form}"
    );
    assert_eq!(
        role("max_session_duration"),
        json!(model.max_session_duration),
        "{form}"
    );
    let description = evaluated(body, ctx, "aws_iam_policy", "description");
    let description = description.as_str().expect("a string");
    let buckets: Vec<&str> = model.buckets.iter().map(|b| b.as_str()).collect();
    assert!(
        description.ends_with(&format!(": {}.", buckets.join(", "))),
        "{form}: {description}"
    );
    let writes = description.contains("write");
    assert_eq!(
        writes,
        model.access == Level::ReadWrite,
        "{form}: {description}"
    );
    let role_description = role("description");
    let who = format!(
        "{}/{} on EKS cluster {}",
        model.namespace.as_str(),
        model.service_account.as_str(),
        model.cluster.as_str()
    );
    assert!(
        role_description.as_str().expect("a string").contains(&who),
        "{form}"
    );
    let data: Vec<&str> = blocks(body, "data").map(|b| labels(b)[0]).collect();
    // The cluster's region appears in the trust policy's cluster ARN pin (and
    // association ARN); the KMS statements name each key's own region instead.
    let trust = forms.json["trust-policy"].to_string();
    let region_used = trust.contains(&format!(":eks:{}:", model.region.as_str()));
    let pinned = model.method.pod_identity() && !model.trust.minimal;
    assert_eq!(region_used, pinned, "{form}: fixture premise");
    assert_eq!(
        data.contains(&"aws_region"),
        region_used,
        "{form}: {data:?}"
    );
    // IRSA names the OIDC provider by ARN; a pinned Pod Identity trust names
    // the cluster's ARN, with the account when it is known.
    let account_used = model.method.irsa()
        || (pinned && model.account_id.is_some())
        || model.trust.source_account
        || model.trust.source_arn;
    assert_eq!(
        data.contains(&"aws_caller_identity"),
        account_used,
        "{form}: {data:?}"
    );
}

/// Variants beyond the snapshot fixtures: every option that shapes a document.
fn variants() -> Vec<(&'static str, RawParams)> {
    let kms = |partition: &str, region: &str| {
        format!(
            "arn:{partition}:kms:{region}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        )
    };
    vec![
        (
            "source-arn",
            RawParams {
                account_id: Some("123456789012".into()),
                trust_source_arn: Some(true),
                trust_source_account: Some(true),
                ..fixtures::docs()
            },
        ),
        (
            "minimal-three-buckets-two-prefixes",
            RawParams {
                bucket: Some(vec!["b-one".into(), "b.two".into(), "bkt3".into()]),
                prefix: Some(vec!["a/b/".into(), "c".into()]),
                multipart_cleanup: Some(true),
                access: Some("read-write".into()),
                kms_key: Some(vec![kms("aws", "us-west-2"), kms("aws", "eu-west-1")]),
                trust_minimal: Some(true),
                tag: Some(vec!["Name=x y".into(), "k:1/2=+@-".into()]),
                ..fixtures::docs()
            },
        ),
        (
            "both-single-binding",
            RawParams {
                method: Some("both".into()),
                account_id: Some("123456789012".into()),
                oidc_issuer: Some(issuer(fixtures::OIDC_ID)),
                ..fixtures::docs()
            },
        ),
        (
            "china-kms-irsa",
            RawParams {
                method: Some("irsa".into()),
                region: Some("cn-north-1".into()),
                account_id: Some("123456789012".into()),
                oidc_issuer: Some(format!(
                    "https://oidc.eks.cn-north-1.amazonaws.com.cn/id/{}",
                    fixtures::OIDC_ID
                )),
                kms_key: Some(vec![kms("aws-cn", "cn-northwest-1")]),
                access: Some("read-only".into()),
                permissions_boundary: Some("arn:aws-cn:iam::aws:policy/x/y/B".into()),
                ..fixtures::docs()
            },
        ),
    ]
}

#[test]
fn every_fixture_in_both_forms_parses_and_holds_the_signed_policies() {
    for (name, raw) in fixtures::all().into_iter().chain(variants()) {
        let forms = forms(&raw);
        check_form(&forms.directory, &forms, &format!("{name} directory"));
        check_form(&forms.single, &forms, &format!("{name} single file"));
    }
}

#[test]
fn pod_identity_association_and_optional_agent() {
    let forms = forms(&fixtures::docs());
    let body = &forms.single;
    let association = one(body, "resource", "aws_eks_pod_identity_association");
    assert_eq!(
        text(attr(association, "namespace")),
        "var.s3_my_bucket_namespace"
    );
    assert_eq!(
        text(attr(association, "role_arn")),
        "aws_iam_role.s3_my_bucket.arn"
    );
    let defaults = defaults(body);
    assert_eq!(defaults["s3_my_bucket_namespace"], json!("default"));
    assert_eq!(
        defaults["s3_my_bucket_service_account"],
        json!("skypilot-service-account")
    );
    assert_eq!(defaults["s3_my_bucket_pod_identity_agent"], json!("create"));
    let addon = one(body, "resource", "aws_eks_addon");
    assert_eq!(
        text(attr(addon, "count")),
        "var.s3_my_bucket_pod_identity_agent == \"create\" ? 1 : 0"
    );
    assert_eq!(
        attr(addon, "addon_name"),
        &Expression::String("eks-pod-identity-agent".into())
    );
    let outputs: Vec<&str> = blocks(body, "output").map(|b| labels(b)[0]).collect();
    assert_eq!(
        outputs,
        [
            "s3_my_bucket_role_arn",
            "s3_my_bucket_policy_arn",
            "s3_my_bucket_pod_identity_association_id"
        ]
    );
    let versions = blocks(&forms.directory, "terraform")
        .next()
        .expect("terraform");
    let providers = versions.body.blocks().next().expect("required_providers");
    let keys: Vec<&str> = providers
        .body
        .attributes()
        .map(|a| a.key.as_str())
        .collect();
    assert_eq!(keys, ["aws"], "Pod Identity needs no kubernetes provider");
}

#[test]
fn irsa_looks_up_or_creates_the_oidc_provider_and_annotates_the_account() {
    let raw = RawParams {
        method: Some("irsa".into()),
        ..fixtures::docs()
    };
    let model = Model::from_raw(&raw).expect("valid");
    let artifacts: Vec<_> = ["versions", "variables", "main", "outputs"]
        .iter()
        .map(|f| podiam::artifacts::artifact::by_name(&format!("terraform-{f}")).expect("artifact"))
        .collect();
    let rendered =
        podiam::artifacts::bundle::render(&model, &artifacts).expect("no account id needed");
    let all: String = rendered.iter().map(|r| r.text.as_str()).collect();
    let body = &parse(&all);
    let cluster = one(body, "data", "aws_eks_cluster");
    assert_eq!(text(attr(cluster, "name")), "var.cluster_name");
    let created = one(body, "resource", "aws_iam_openid_connect_provider");
    assert_eq!(
        text(attr(created, "count")),
        "var.create_oidc_provider ? 1 : 0"
    );
    assert!(
        !created
            .body
            .attributes()
            .any(|a| a.key.as_str() == "thumbprint_list")
    );
    let audience = attr(created, "client_id_list")
        .evaluate(&Context::new())
        .expect("literal");
    assert_eq!(
        serde_json::to_value(audience).expect("json"),
        json!(["sts.amazonaws.com"])
    );
    let looked_up = one(body, "data", "aws_iam_openid_connect_provider");
    assert_eq!(
        text(attr(looked_up, "count")),
        "var.create_oidc_provider ? 0 : 1"
    );
    let annotations = one(body, "resource", "kubernetes_annotations");
    assert_eq!(
        text(attr(annotations, "count")),
        "var.create_service_account ? 0 : 1"
    );
    let created_sa = one(body, "resource", "kubernetes_service_account_v1");
    assert_eq!(
        text(attr(created_sa, "count")),
        "var.create_service_account ? 1 : 0"
    );
    assert_eq!(defaults(body)["create_oidc_provider"], json!(false));
    let outputs: Vec<&str> = blocks(body, "output").map(|b| labels(b)[0]).collect();
    assert_eq!(outputs, ["role_arn", "policy_arn", "oidc_provider_arn"]);
    assert!(
        !all.contains("oidc.eks."),
        "the issuer comes from the cluster"
    );
}

/// Every name a file declares at the top level: addresses, variables,
/// locals and outputs.
fn declared(body: &Body) -> Vec<String> {
    let mut names = Vec::new();
    for block in body.blocks() {
        let kind = block.identifier.as_str();
        match kind {
            "locals" => names.extend(block.body.attributes().map(|a| format!("local.{}", a.key))),
            _ => names.push(format!("{kind}.{}", labels(block).join("."))),
        }
    }
    names
}

#[test]
fn two_single_files_share_no_address_variable_or_output() {
    for method in ["pod-identity", "irsa"] {
        let render = |bucket: &str, namespace: &str| {
            let raw = RawParams {
                bucket: Some(vec![bucket.into()]),
                namespace: Some(namespace.into()),
                method: Some(method.into()),
                ..fixtures::docs()
            };
            let model = Model::from_raw(&raw).expect("valid");
            let artifact = podiam::artifacts::artifact::by_name("terraform").expect("artifact");
            podiam::artifacts::bundle::render(&model, &[artifact]).expect("renders")[0]
                .text
                .clone()
        };
        let files = [
            render("my-bucket", "default"),
            render("other.bucket", "default"),
            render("my-bucket", "ml-team"),
        ];
        let joined = parse(&files.concat());
        let names = declared(&joined);
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{method}: {names:?}");
        let singles: usize = files.iter().map(|f| declared(&parse(f)).len()).sum();
        assert_eq!(names.len(), singles);
        assert!(names.contains(&"variable.s3_other_bucket_bucket_names".to_owned()));
        assert!(names.contains(&"output.s3_my_bucket_ml_team_role_arn".to_owned()));
    }
}

#[test]
fn tf_name_sets_every_name_and_is_validated() {
    let raw = RawParams {
        tf_name: Some("data_bucket".into()),
        ..fixtures::docs()
    };
    let forms = forms(&raw);
    for name in declared(&forms.single) {
        let last = name.rsplit('.').next().expect("name");
        assert!(last.starts_with("data_bucket"), "{name}");
    }
    for bad in ["Data", "9a", "a-b", "a${b}", ""] {
        let raw = RawParams {
            tf_name: Some(bad.into()),
            ..fixtures::docs()
        };
        let err = Model::from_raw(&raw).expect_err(bad).to_string();
        assert!(err.contains("tf-name"), "{err}");
    }
}

#[test]
fn terraform_schema_rejects_mutations() {
    let artifact = podiam::artifacts::artifact::by_name("terraform").expect("artifact");
    let rendered = fixtures::render(&fixtures::docs());
    let text = &rendered
        .iter()
        .find(|r| r.artifact.name == "terraform")
        .expect("rendered")
        .text;
    assert!(podiam::artifacts::check::check(artifact, text).is_empty());
    let mutations: [(&str, String); 7] = [
        (
            "unknown resource type",
            text.replace("\"aws_eks_addon\"", "\"aws_s3_bucket\""),
        ),
        (
            "policy that is no jsonencode object",
            text.replace("policy = jsonencode(", "policy = tostring("),
        ),
        (
            "a variable without type",
            text.replace("  type        = number\n", ""),
        ),
        (
            "a provider block",
            format!("{text}\nprovider \"aws\" {{}}\n"),
        ),
        ("not HCL", text.replace("default     = {}", "default = {")),
        (
            "association with session tags off",
            text.replace(
                "disable_session_tags = false",
                "disable_session_tags = true",
            ),
        ),
        (
            "association without tags",
            text.replace("  tags            = var.s3_my_bucket_tags\n", ""),
        ),
    ];
    for (what, mutated) in mutations {
        assert_ne!(&mutated, text, "{what}: mutation applies");
        assert!(
            !podiam::artifacts::check::check(artifact, &mutated).is_empty(),
            "accepted: {what}"
        );
    }
}

use crate::cli::{DOCS, podiam as run};

#[test]
fn render_terraform_prints_the_single_file_for_both_methods() {
    let o = run(&[&["render", "terraform"][..], &DOCS].concat());
    assert_eq!(o.status.code(), Some(0), "{:?}", o);
    let body = parse(&String::from_utf8_lossy(&o.stdout));
    one(&body, "resource", "aws_eks_pod_identity_association");
    let o = run(&[&["render", "terraform"][..], &DOCS, &["--method", "irsa"]].concat());
    assert_eq!(
        o.status.code(),
        Some(0),
        "IRSA needs no account id: {:?}",
        o
    );
    let body = parse(&String::from_utf8_lossy(&o.stdout));
    one(&body, "data", "aws_iam_openid_connect_provider");
    let list = String::from_utf8_lossy(&run(&["list"]).stdout).into_owned();
    assert!(
        list.contains("terraform ") && list.contains("render only"),
        "{list}"
    );
}

#[test]
fn a_bad_tf_name_exits_2_naming_field_value_and_rule() {
    let o = run(&[
        &["render", "terraform"][..],
        &DOCS,
        &["--tf-name", "S3-${x}"],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("tf-name \"S3-${x}\": Terraform names are 1 to 63 lowercase letters"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
}

#[test]
fn values_with_interpolation_syntax_stay_literal_in_every_terraform_file() {
    // Input rules refuse these; the templates must hold on their own.
    let hostile = [
        ("cluster", "${cluster}"),
        ("bucket", "%{ if true }b%{ endif }"),
        ("namespace", "ns\"${x}\\"),
        ("service_account", "sa\n$${y}"),
        ("role_name", "r$"),
        ("policy_name", "p%"),
    ];
    let model = Model::from_raw(&fixtures::docs()).expect("valid");
    let mut context =
        serde_json::to_value(podiam::render::context::Context::new(&model)).expect("json");
    for (field, value) in hostile {
        context[field] = json!(value);
    }
    context["terraform"]["buckets"] = json!([hostile[1].1]);
    let role_hostile = [
        ("iam_path", json!("/${path}/\\")),
        (
            "permissions_boundary",
            json!("%{ for x in y }${x}%{ endfor }"),
        ),
        (
            "tags",
            json!({"k${x}": "v%{y}", "true": "\"", "a b": "$$${z}"}),
        ),
    ];
    context["terraform"]["role"]["has_tags"] = json!(true);
    context["terraform"]["role"]["path"] = role_hostile[0].1.clone();
    context["terraform"]["role"]["permissions_boundary"] = role_hostile[1].1.clone();
    context["terraform"]["role"]["tags"] = role_hostile[2].1.clone();
    let engine = podiam::render::templates::Engine::builtin().expect("templates");
    let ctx = tera::Context::from_serialize(&context).expect("context");
    for template in ["terraform/single.tf", "terraform/variables.tf"] {
        let text = engine.render(template, &ctx).expect("renders");
        let body = parse(&text);
        let defaults = defaults(&body);
        let prefix = if template == "terraform/single.tf" {
            "s3_my_bucket_"
        } else {
            ""
        };
        for (field, value) in hostile {
            let (variable, expected) = match field {
                "cluster" => ("cluster_name".to_owned(), json!(value)),
                "bucket" => ("bucket_names".to_owned(), json!([value])),
                other => (other.to_owned(), json!(value)),
            };
            assert_eq!(
                defaults[&format!("{prefix}{variable}")],
                expected,
                "{template}: {field}"
            );
        }
        for (variable, expected) in &role_hostile {
            assert_eq!(
                &defaults[&format!("{prefix}{variable}")],
                expected,
                "{template}: {variable}"
            );
        }
    }
}

/// The us-west-2 issuer URL of OIDC provider `id`.
fn issuer(id: &str) -> String {
    format!("https://oidc.eks.us-west-2.amazonaws.com/id/{id}")
}

/// One more binding on the first cluster.
fn bind(namespace: &str, service_account: &str) -> RawBinding {
    RawBinding {
        namespace: Some(namespace.into()),
        service_account: Some(service_account.into()),
        ..RawBinding::default()
    }
}

/// Multi-binding bundles: a name, the parameters, and the default of the
/// bindings variable (every binding after the first).
fn binding_variants() -> Vec<(&'static str, RawParams, Vec<&'static str>)> {
    let pod_identity = RawParams {
        namespace: Some("team-a".into()),
        bindings: Some(vec![bind("team-a", "writer"), bind("team-b", "reader")]),
        account_id: Some("123456789012".into()),
        ..fixtures::docs()
    };
    let irsa = |bindings| RawParams {
        method: Some("irsa".into()),
        account_id: Some("123456789012".into()),
        oidc_issuer: Some(issuer(fixtures::OIDC_ID)),
        bindings: Some(bindings),
        ..fixtures::docs()
    };
    let other_cluster = RawBinding {
        cluster: Some("other-cluster".into()),
        oidc_issuer: Some(issuer("0123456789ABCDEF0123456789ABCDEF")),
        ..bind("ml", "trainer")
    };
    vec![
        (
            "pod-identity-three-bindings-two-namespaces",
            pod_identity.clone(),
            vec![
                "my-eks-cluster/team-a/writer",
                "my-eks-cluster/team-b/reader",
            ],
        ),
        (
            "irsa-wildcard",
            irsa(vec![bind("team-b", "*")]),
            vec!["my-eks-cluster/team-b/*"],
        ),
        (
            "irsa-second-cluster",
            irsa(vec![other_cluster, bind("team-b", "reader")]),
            vec!["other-cluster/ml/trainer", "my-eks-cluster/team-b/reader"],
        ),
        (
            "both",
            RawParams {
                method: Some("both".into()),
                oidc_issuer: Some(issuer(fixtures::OIDC_ID)),
                ..pod_identity
            },
            vec![
                "my-eks-cluster/team-a/writer",
                "my-eks-cluster/team-b/reader",
            ],
        ),
    ]
}

/// The block of type `kind` labelled `first` and `second`.
fn labelled<'a>(body: &'a Body, kind: &'a str, first: &str, second: &str) -> &'a Block {
    blocks(body, kind)
        .find(|b| labels(b) == [first, second])
        .unwrap_or_else(|| panic!("{kind} {first} {second}"))
}

#[test]
fn bindings_get_a_variable_associations_for_each_and_trust_statements_from_for_expressions() {
    for (name, raw, extra) in binding_variants() {
        let forms = forms(&raw);
        let model = &forms.model;
        assert_eq!(model.bindings.len(), extra.len() + 1, "{name}");
        for (form, body) in [("directory", &forms.directory), ("single", &forms.single)] {
            let (res, p) = names(body);
            let at = format!("{name} {form}");
            let defaults = defaults(body);
            assert_eq!(defaults[&format!("{p}bindings")], json!(extra), "{at}");
            assert_eq!(
                defaults[&format!("{p}namespace")],
                json!(model.namespace.as_str()),
                "{at}"
            );
            let variable = one(body, "variable", &format!("{p}bindings"));
            assert_eq!(text(attr(variable, "type")), "list(string)", "{at}");
            let validations: Vec<String> = variable
                .body
                .blocks()
                .map(|v| text(attr(v, "condition")))
                .collect();
            assert!(validations.len() >= 6, "{at}: {validations:?}");
            let patterns = validations
                .iter()
                .any(|v| v.contains("replace(b, \"/[*?]/\", \"a\")"));
            assert_eq!(
                patterns,
                !model.method.pod_identity(),
                "{at}: wildcards only for IRSA"
            );
            let role = labelled(body, "resource", "aws_iam_role", &res);
            let trust = text(attr(role, "assume_role_policy"));
            assert!(
                trust.contains(&format!("local.{p}trust_statements")),
                "{at}: {trust}"
            );
            let locals: String = blocks(body, "locals")
                .flat_map(|b| b.body.attributes())
                .filter(|a| a.key.as_str() == format!("{p}trust_statements"))
                .map(|a| text(&a.expr))
                .collect();
            assert!(locals.starts_with("concat("), "{at}: {locals}");
            let irsa = model.method.irsa();
            let pod_identity = model.method.pod_identity();
            assert_eq!(
                locals.contains(&format!("local.{p}irsa_names")),
                irsa,
                "{at}"
            );
            assert_eq!(
                locals.contains(&format!("local.{p}irsa_patterns")),
                irsa,
                "{at}"
            );
            assert_eq!(
                locals.contains(&format!("local.{p}pod_identity")),
                pod_identity,
                "{at}"
            );
            assert_eq!(locals.contains("StringLike"), irsa, "{at}");
            // The first binding keeps its association's address; each other
            // binding has one, keyed CLUSTER/NAMESPACE/SERVICE_ACCOUNT.
            let associations: Vec<&Block> = blocks(body, "resource")
                .filter(|b| labels(b)[0] == "aws_eks_pod_identity_association")
                .collect();
            if pod_identity {
                assert_eq!(associations.len(), 2, "{at}");
                let first = labelled(body, "resource", "aws_eks_pod_identity_association", &res);
                assert_eq!(
                    text(attr(first, "namespace")),
                    format!("var.{p}namespace"),
                    "{at}"
                );
                let more = labelled(
                    body,
                    "resource",
                    "aws_eks_pod_identity_association",
                    &format!("{res}_bindings"),
                );
                assert_eq!(
                    text(attr(more, "for_each")),
                    format!("local.{p}extra_bindings"),
                    "{at}"
                );
                assert_eq!(
                    text(attr(more, "namespace")),
                    "each.value.namespace",
                    "{at}"
                );
                assert_eq!(
                    text(attr(more, "role_arn")),
                    format!("aws_iam_role.{res}.arn"),
                    "{at}"
                );
                assert_eq!(attr(more, "disable_session_tags"), &Expression::Bool(false));
                one(body, "output", &format!("{p}pod_identity_association_ids"));
                let agents = labelled(
                    body,
                    "resource",
                    "aws_eks_addon",
                    &format!("{res}_bindings"),
                );
                assert!(
                    text(attr(agents, "for_each")).contains("agent_clusters"),
                    "{at}"
                );
            } else {
                assert!(associations.is_empty(), "{at}");
            }
            let mut types = resource_types(body);
            types.sort_unstable();
            types.dedup();
            let kubernetes = types
                .iter()
                .filter(|t| t.starts_with("kubernetes_"))
                .count();
            assert_eq!(kubernetes, if irsa { 3 } else { 0 }, "{at}: {types:?}");
            assert_eq!(types.contains(&"aws_eks_addon"), pod_identity, "{at}");
            // Other clusters' OIDC providers are looked up, never created.
            let data: Vec<Vec<&str>> = blocks(body, "data").map(labels).collect();
            let lookup = |kind: &str| {
                data.iter()
                    .any(|l| l == &[kind, &format!("{res}_bindings")])
            };
            assert_eq!(lookup("aws_eks_cluster"), irsa, "{at}");
            assert_eq!(lookup("aws_iam_openid_connect_provider"), irsa, "{at}");
            assert_eq!(
                blocks(body, "resource")
                    .filter(|b| labels(b)[0] == "aws_iam_openid_connect_provider")
                    .count(),
                usize::from(irsa),
                "{at}"
            );
            let all = hcl::to_string(body).expect("formats");
            assert!(
                !all.contains("oidc.eks."),
                "{at}: issuers come from the clusters"
            );
        }
        let artifact = podiam::artifacts::artifact::by_name("terraform").expect("artifact");
        let model = Model::from_raw(&raw).expect("valid");
        let single = podiam::artifacts::bundle::render(&model, &[artifact]).expect("renders");
        let problems = podiam::artifacts::check::check(artifact, &single[0].text);
        assert!(problems.is_empty(), "{name}: {problems:?}");
        // A line over 120 characters that the bindings add holds one string value.
        let without = RawParams {
            bindings: None,
            ..raw.clone()
        };
        let model = Model::from_raw(&without).expect("valid");
        let before = podiam::artifacts::bundle::render(&model, &[artifact]).expect("renders");
        let long = |l: &&str| l.chars().count() > 120 && !before[0].text.contains(*l);
        for line in single[0].text.lines().filter(long) {
            let value = line.split_once(" = ").map(|(_, v)| v.trim_end_matches(','));
            let one = value.is_some_and(|v| v.starts_with('"') && v.ends_with('"'));
            assert!(one, "{name}: {line}");
        }
    }
}

#[test]
fn single_bindings_render_no_bindings_variable() {
    for (name, raw) in fixtures::all().into_iter().chain(variants()) {
        let forms = forms(&raw);
        let all = hcl::to_string(&forms.directory).expect("formats");
        assert!(
            !all.contains("bindings"),
            "{name}: single binding, single-binding Terraform"
        );
    }
}

#[test]
fn bindings_single_files_share_no_name_and_keep_hostile_defaults_literal() {
    let (_, raw, _) = binding_variants().remove(3);
    let render = |bucket: &str| {
        let raw = RawParams {
            bucket: Some(vec![bucket.into()]),
            ..raw.clone()
        };
        let model = Model::from_raw(&raw).expect("valid");
        let artifact = podiam::artifacts::artifact::by_name("terraform").expect("artifact");
        podiam::artifacts::bundle::render(&model, &[artifact]).expect("renders")[0]
            .text
            .clone()
    };
    let files = [render("my-bucket"), render("other.bucket")];
    let names = declared(&parse(&files.concat()));
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    // Input rules refuse these; the bindings default must hold on its own.
    let model = Model::from_raw(&raw).expect("valid");
    let mut context =
        serde_json::to_value(podiam::render::context::Context::new(&model)).expect("json");
    let hostile = json!(["c/${x}/%{y}", "c/\"/\\", "c/a$/b%"]);
    context["terraform"]["bindings"]["extra"] = hostile.clone();
    let engine = podiam::render::templates::Engine::builtin().expect("templates");
    let ctx = tera::Context::from_serialize(&context).expect("context");
    let text = engine
        .render("terraform/variables.tf", &ctx)
        .expect("renders");
    assert_eq!(defaults(&parse(&text))["bindings"], hostile);
}
