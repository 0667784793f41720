//! Template overrides, completions, the man page, and quiet output.

use std::fs;

use crate::cli::{DOCS, podiam, stderr, stdout};

fn override_dir(name: &str, text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(format!("{name}.tera"));
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs::write(&path, text).expect("write override");
    dir
}

#[test]
fn export_then_override_changes_the_output() {
    let dir = tempfile::tempdir().expect("tempdir");
    let templates = dir.path().join("t");
    let t = templates.to_str().expect("utf8");
    let export = podiam(&["templates", "export", t]);
    assert_eq!(export.status.code(), Some(0), "{}", stderr(&export));
    let task = templates.join("skypilot/task.yaml.tera");
    let text = fs::read_to_string(&task)
        .expect("exported")
        .replace("run: |", "run: |\n  du -sh /s3/data");
    fs::write(&task, text).expect("edit");
    let o = podiam(&[&["render", "skypilot-task", "--templates", t][..], &DOCS].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("du -sh /s3/data"));
}

#[test]
fn an_override_with_an_undefined_variable_names_template_and_line() {
    let dir = override_dir(
        "iam/s3-access-policy.json",
        "{{ permission_polcy | json }}\n",
    );
    let o = podiam(
        &[
            &[
                "render",
                "s3-access-policy",
                "--templates",
                dir.path().to_str().expect("utf8"),
            ][..],
            &DOCS,
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    let file = dir.path().join("iam/s3-access-policy.json.tera");
    assert!(
        err.contains(&format!("template override {}:1:", file.display())),
        "{err}"
    );
    let plain = override_dir("skypilot/task.yaml", "run: {{ bucket_nmae }}\n");
    let o = podiam(
        &[
            &[
                "render",
                "skypilot-task",
                "--templates",
                plain.path().to_str().expect("utf8"),
            ][..],
            &DOCS,
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("Variable `bucket_nmae` is not defined"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_override_whose_output_breaks_the_schema_is_refused_and_nothing_written() {
    let wide_open = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}"#;
    let dir = override_dir("iam/s3-access-policy.json", wide_open);
    let out = dir.path().join("out");
    let o = podiam(
        &[
            &[
                "generate",
                "--templates",
                dir.path().to_str().expect("utf8"),
                "--out",
                out.to_str().expect("utf8"),
            ][..],
            &DOCS,
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("rendered by the override of template iam/s3-access-policy.json"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("at /Statement/0/Principal: unexpected key \"Principal\""),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

/// Generates the docs page's bundle with `--templates DIR` below `out`.
fn generate_with(templates: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    let (t, o) = (
        templates.to_str().expect("utf8"),
        out.to_str().expect("utf8"),
    );
    podiam(&[&["generate", "--templates", t, "--out", o][..], &DOCS].concat())
}

#[test]
fn an_error_in_an_overridden_partial_exits_2_and_names_the_override_file_and_line() {
    let header = include_str!("../../templates/partials/header.tera");
    let cases = [
        (
            format!("{header}{{{{ nope_var }}}}\n"),
            "Variable `nope_var` is not defined",
        ),
        (
            "first line\n{{ broken \n".to_owned(),
            "Unexpected end of input",
        ),
    ];
    for (text, message) in cases {
        let dir = override_dir("partials/header", &text);
        let out = dir.path().join("out");
        let o = generate_with(dir.path(), &out);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{message}: {err}");
        let line = text.lines().count();
        let file = dir.path().join("partials/header.tera");
        assert!(
            err.contains(&format!("template override {}:{line}:", file.display())),
            "{message}: the override file and line {line} are named: {err}"
        );
        assert!(err.contains(message), "{err}");
        assert!(!out.exists(), "{message}: something was written");
    }
}

#[test]
fn a_templates_directory_that_does_not_exist_exits_2_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-templates");
    let out = dir.path().join("out");
    let o = generate_with(&missing, &out);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("--templates {:?}", missing.display().to_string())),
        "{err}"
    );
    assert!(err.contains("does not exist"), "{err}");
    assert!(!out.exists());
}

#[test]
fn an_override_file_that_matches_no_template_is_refused() {
    let dir = override_dir("iam/s3-acces-policy.json", "{}");
    let o = podiam(
        &[
            &[
                "render",
                "s3-access-policy",
                "--templates",
                dir.path().to_str().expect("utf8"),
            ][..],
            &DOCS,
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no built-in template is named \"iam/s3-acces-policy.json\""),
        "{}",
        stderr(&o)
    );
}

#[test]
fn completions_and_man_page_come_from_the_clap_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let o = podiam(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0));
        assert!(
            stdout(&o).contains("generate") && stdout(&o).contains("oidc-issuer"),
            "{shell}"
        );
    }
    let man = podiam(&["man"]);
    assert_eq!(man.status.code(), Some(0));
    assert!(stdout(&man).starts_with(".ie") && stdout(&man).contains(".TH podiam 1"));
}

#[test]
fn quiet_prints_nothing_on_success_and_errors_stay_uncoloured_off_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    let long_bucket = "b".repeat(60);
    let args = [
        "generate",
        "-q",
        "--cluster",
        "c",
        "--region",
        "us-west-2",
        "--bucket",
        &long_bucket,
        "--out",
        out.to_str().expect("utf8"),
    ];
    let o = podiam(&args);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).is_empty() && stderr(&o).is_empty(),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    let loud = podiam(&[
        "render",
        "s3-access-policy",
        "--cluster",
        "c",
        "--region",
        "us-west-2",
        "--bucket",
        &long_bucket,
    ]);
    assert!(
        stderr(&loud).contains("podiam: note: the default name"),
        "{}",
        stderr(&loud)
    );
    let bad = podiam(&[
        "render",
        "s3-access-policy",
        "--cluster",
        "c",
        "--region",
        "us-west-2",
        "--bucket",
        "B",
    ]);
    assert!(
        stderr(&bad).starts_with("podiam: error: "),
        "no escape codes when stderr is not a terminal"
    );
}
