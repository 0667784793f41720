//! The Terraform and the scripts do the same thing: the Pod Identity agent
//! add-on (`--pod-identity-agent`), the association's session tags, and the
//! IRSA service account that must exist before it is annotated.

use hcl::eval::{Context, Evaluate};
use hcl::{Block, Body, Expression};

use crate::cli::{DOCS, podiam, stderr, stdout};
use crate::terraform::attr;

/// `podiam render ARTIFACT` for the docs values plus `extra`.
fn render(artifact: &str, extra: &[&str]) -> String {
    let mut args = vec!["render", artifact];
    args.extend(DOCS);
    args.extend(extra);
    let out = podiam(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

fn body(artifact: &str, extra: &[&str]) -> Body {
    hcl::parse(&render(artifact, extra)).expect("hcl")
}

fn find<'a>(body: &'a Body, kind: &str, label: &str) -> Option<&'a Block> {
    body.blocks().find(|b| {
        b.identifier.as_str() == kind && b.labels.first().map(|l| l.as_str()) == Some(label)
    })
}

fn block<'a>(body: &'a Body, kind: &str, label: &str) -> &'a Block {
    find(body, kind, label).unwrap_or_else(|| panic!("{kind} {label}"))
}

fn text(expr: &Expression) -> String {
    hcl::format::to_string(expr).expect("formats")
}

fn default(body: &Body, variable: &str) -> serde_json::Value {
    let value = attr(block(body, "variable", variable), "default")
        .evaluate(&Context::new())
        .expect("literal");
    serde_json::to_value(value).expect("json")
}

#[test]
fn association_keeps_session_tags_with_a_provider_that_has_the_argument() {
    let main = body("terraform-main", &[]);
    let association = block(&main, "resource", "aws_eks_pod_identity_association");
    assert_eq!(
        attr(association, "disable_session_tags"),
        &Expression::Bool(false)
    );
    // hashicorp/aws CHANGELOG, 6.2.0: disable_session_tags and target_role_arn added.
    let versions = render("terraform-versions", &[]);
    assert!(versions.contains("version = \">= 6.2.0\""), "{versions}");
    let single = render("terraform", &[]);
    assert!(single.contains("hashicorp/aws >= 6.2.0"), "{single}");
}

#[test]
fn the_agent_add_on_is_created_by_default_as_the_scripts_do() {
    let vars = body("terraform-variables", &[]);
    assert_eq!(default(&vars, "pod_identity_agent"), "create");
    let main = body("terraform-main", &[]);
    let addon = block(&main, "resource", "aws_eks_addon");
    assert_eq!(
        text(attr(addon, "count")),
        "var.pod_identity_agent == \"create\" ? 1 : 0"
    );
    let lookup = block(&main, "data", "aws_eks_addon");
    assert_eq!(
        text(attr(lookup, "count")),
        "var.pod_identity_agent == \"existing\" ? 1 : 0"
    );
    assert!(find(&vars, "variable", "manage_pod_identity_agent").is_none());
    let apply = render("apply-script", &[]);
    assert!(apply.contains("\nPOD_IDENTITY_AGENT=create\n"), "{apply}");
}

#[test]
fn an_existing_agent_is_only_looked_up() {
    let vars = body("terraform-variables", &["--pod-identity-agent", "existing"]);
    assert_eq!(default(&vars, "pod_identity_agent"), "existing");
    let apply = render("apply-script", &["--pod-identity-agent", "existing"]);
    assert!(apply.contains("\nPOD_IDENTITY_AGENT=existing\n"));
    let teardown = render("teardown-script", &["--pod-identity-agent", "existing"]);
    assert!(
        !teardown.contains("--delete-addon"),
        "teardown must not offer to delete an add-on apply.sh never creates"
    );
}

#[test]
fn a_bad_agent_value_exits_2_naming_flag_value_and_rule() {
    let mut args = vec!["render", "terraform"];
    args.extend(DOCS);
    args.extend(["--pod-identity-agent", "maybe"]);
    let out = podiam(&args);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--pod-identity-agent") && err.contains("maybe"),
        "{err}"
    );
    assert!(err.contains("create") && err.contains("existing"), "{err}");
}

#[test]
fn irsa_creates_the_service_account_before_it_is_annotated() {
    let irsa = [
        "--method",
        "irsa",
        "--namespace",
        "ml-team",
        "--service-account",
        "s3-reader",
    ];
    let vars = body("terraform-variables", &irsa);
    assert_eq!(default(&vars, "create_service_account"), true);
    assert_eq!(default(&vars, "create_namespace"), true);
    let main = body("terraform-main", &irsa);
    let sa = block(&main, "resource", "kubernetes_service_account_v1");
    let squash = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
    let rendered = squash(&hcl::format::to_string(&sa.body).expect("formats"));
    for needle in [
        "\"app.kubernetes.io/managed-by\" = \"podiam\"",
        "\"app.kubernetes.io/instance\" = \"ml-team.s3-reader\"",
        "namespace = var.create_namespace ? kubernetes_namespace_v1.this[0].metadata[0].name : var.namespace",
    ] {
        assert!(rendered.contains(&squash(needle)), "{needle}\n{rendered}");
    }
    let ns = block(&main, "resource", "kubernetes_namespace_v1");
    assert_eq!(text(attr(ns, "count")), "var.create_namespace ? 1 : 0");
    // In the default namespace there is nothing to create.
    let vars = body("terraform-variables", &["--method", "irsa"]);
    assert_eq!(default(&vars, "create_namespace"), false);
}
