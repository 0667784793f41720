//! Help for people: man pages for every subcommand, completions with the
//! artifact names, `-v` on every command, and errors that say what to do.

use std::fs;

use crate::cli::{DOCS, podiam, stderr, stdout};

/// The pages a man page names as `podiam-<page>(1)`.
fn named_pages(roff: &str) -> Vec<String> {
    roff.lines()
        .filter_map(|l| l.strip_prefix("podiam\\-")?.strip_suffix("(1)"))
        .map(|p| p.replace("\\-", "-"))
        .collect()
}

#[test]
fn every_page_podiam_man_names_exists_and_documents_every_flag() {
    let top = stdout(&podiam(&["man"]));
    let mut pages = named_pages(&top);
    assert!(pages.contains(&"generate".to_owned()), "{top}");
    let mut seen = 0;
    while let Some(page) = pages.pop() {
        let o = podiam(&["man", &page]);
        assert_eq!(o.status.code(), Some(0), "{page}: {}", stderr(&o));
        let roff = stdout(&o);
        assert!(
            roff.contains(&format!(".TH podiam-{page} 1")),
            "{page}: {roff}"
        );
        pages.extend(
            named_pages(&roff)
                .into_iter()
                .filter(|p| p.starts_with(&page)),
        );
        let help = stdout(&podiam(
            &[&page.split('-').collect::<Vec<_>>()[..], &["--help"]].concat(),
        ));
        for flag in help.split_whitespace().filter(|w| w.starts_with("--")) {
            let flag = flag.trim_end_matches([',', '.', ')', '>', ']']);
            let flag = flag.split(['=', '[', '<']).next().unwrap_or(flag);
            let escaped = flag.replace('-', "\\-");
            assert!(roff.contains(&escaped), "podiam-{page}(1) lacks {flag}");
        }
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} pages");
    let o = podiam(&["man", "no-such-page"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn completions_offer_artifact_and_schema_names() {
    // clap_complete 4 writes positional values only for bash and zsh.
    for shell in ["bash", "zsh"] {
        let script = stdout(&podiam(&["completions", shell]));
        for name in [
            "s3-access-policy",
            "terraform-main",
            "params",
            "skypilot-task",
        ] {
            assert!(script.contains(name), "{shell}: no {name}");
        }
        assert!(
            script.contains("kubernetes-manifest"),
            "{shell}: no schema names"
        );
    }
}

#[test]
fn verbose_says_more_on_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("p.json");
    let o = podiam(&[&["render", "s3-access-policy"][..], &DOCS].concat());
    fs::write(&policy, stdout(&o)).expect("write");
    let out = dir.path().join("out");
    let t = dir.path().join("t");
    let commands: Vec<Vec<&str>> = vec![
        [
            &["generate", "--out", out.to_str().expect("utf8")][..],
            &DOCS,
        ]
        .concat(),
        vec!["check", out.to_str().expect("utf8")],
        [&["explain"][..], &DOCS].concat(),
        [&["render", "trust-policy"][..], &DOCS].concat(),
        vec!["list"],
        vec!["schema", "params"],
        vec![
            "validate",
            "s3-access-policy",
            policy.to_str().expect("utf8"),
        ],
        vec!["templates", "export", t.to_str().expect("utf8")],
        vec!["completions", "bash"],
        vec!["man"],
    ];
    for args in commands {
        let quiet = podiam(&args);
        let verbose = podiam(&[&["-v"][..], &args].concat());
        assert_eq!(
            verbose.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&verbose)
        );
        assert!(
            stderr(&verbose).len() > stderr(&quiet).len(),
            "{args:?}: -v added nothing to stderr"
        );
    }
}

#[test]
fn an_http_issuer_says_https_is_required() {
    let o = podiam(
        &[
            &["render", "trust-policy", "--method", "irsa"][..],
            &DOCS,
            &[
                "--account-id",
                "123456789012",
                "--oidc-issuer",
                "http://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
            ],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("must use https"), "{}", stderr(&o));
}

#[test]
fn an_uppercase_scheme_or_host_in_the_issuer_is_read_in_lowercase() {
    let issuer = "HTTPS://OIDC.EKS.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
    let args = [
        "render",
        "trust-policy",
        "--method",
        "irsa",
        "--account-id",
        "123456789012",
    ];
    let o = podiam(&[&args[..], &DOCS, &["--oidc-issuer", issuer]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lower = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub";
    assert!(stdout(&o).contains(lower), "{}", stdout(&o));
}

#[test]
fn a_prefix_given_twice_and_a_tag_key_with_an_equals_sign_are_refused() {
    let o = podiam(
        &[
            &["render", "s3-access-policy"][..],
            &DOCS,
            &["--prefix", "data", "--prefix", "data/"],
        ]
        .concat(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("prefix \"data\": is given twice"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("p.yaml");
    fs::write(
        &file,
        "cluster: c\nregion: us-west-2\nbucket: b-b-b\ntag: {\"a=b\": c}\n",
    )
    .expect("w");
    let o = podiam(&["render", "params", "--params", file.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("tag key \"a=b\""), "{}", stderr(&o));
}

#[test]
fn an_unquoted_account_id_says_to_quote_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (text, at) in [
        (
            "account_id: 123456789012\n",
            "account_id: YAML read a number (123456789012)",
        ),
        (
            "defaults:\n  account_id: 123456789012\ntargets:\n  - name: a\n",
            "defaults.account_id",
        ),
        (
            "targets:\n  - name: a\n    account_id: 12\n",
            "targets[0].account_id",
        ),
    ] {
        let file = dir.path().join("p.yaml");
        fs::write(
            &file,
            format!("cluster: c\nregion: us-west-2\nbucket: b-b-b\n{text}"),
        )
        .expect("write");
        let file = file.to_str().expect("utf8");
        let o = podiam(&["render", "params", "--params", file]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        assert!(stderr(&o).contains(at), "{text}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("quote the account id"),
            "{}",
            stderr(&o)
        );
    }
}
