//! `podiam check`: deleted or unreadable files, a missing directory, quiet
//! mode and JSON output on a clean bundle.

use std::fs;
use std::path::Path;

use crate::cli::{DOCS, assert_names, docs_bundle, podiam, stderr, stdout};

fn check(out: &Path, extra: &[&str]) -> std::process::Output {
    podiam(&[&["check", out.to_str().expect("utf8")][..], &DOCS, extra].concat())
}

#[test]
fn a_deleted_file_is_drift_in_text_and_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = docs_bundle(&dir);
    fs::remove_file(out.join("scripts/verify.sh")).expect("delete");
    let o = check(&out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("missing: scripts/verify.sh"),
        "{}",
        stdout(&o)
    );
    let o = check(&out, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(report["matches"], false);
    assert_eq!(report["missing"], serde_json::json!(["scripts/verify.sh"]));
    assert_eq!(report["changed"], serde_json::json!([]));
}

#[test]
fn a_missing_directory_exits_2_and_names_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nowhere");
    let o = check(&missing, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_names(&o, &missing);
    assert!(!missing.exists());
}

#[test]
fn an_unreadable_file_is_an_error_not_a_missing_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = docs_bundle(&dir);
    let verify = out.join("scripts/verify.sh");
    fs::remove_file(&verify).expect("delete");
    fs::create_dir(&verify).expect("a directory where the script was");
    let o = check(&out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert_names(&o, &verify);
    assert!(!stdout(&o).contains("missing:"), "{}", stdout(&o));
}

#[test]
fn quiet_check_prints_nothing_when_clean_and_the_drift_when_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = docs_bundle(&dir);
    let o = check(&out, &["-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!((stdout(&o), stderr(&o)), (String::new(), String::new()));
    fs::remove_file(out.join("RUNBOOK.md")).expect("delete");
    let o = check(&out, &["-q"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("missing: RUNBOOK.md"), "{}", stdout(&o));
}

#[test]
fn json_check_of_a_clean_bundle_says_it_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = docs_bundle(&dir);
    let o = check(&out, &["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    assert_eq!(
        report,
        serde_json::json!({
            "dir": out.to_str().expect("utf8"),
            "matches": true,
            "changed": [],
            "missing": [],
            "extra": [],
        })
    );
}
