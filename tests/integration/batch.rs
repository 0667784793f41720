//! Batch params files: defaults and named targets.

use std::fs;

use crate::cli::{podiam, stderr, stdout};

/// Three targets over `defaults:`: two Pod Identity, one IRSA.
pub const BATCH: &str = "\
defaults:
  cluster: my-eks-cluster
  region: us-west-2
targets:
  - name: team-a
    bucket: team-a-data
    namespace: team-a
  - name: team-b
    bucket: team-b-data
  - name: team-c
    bucket: team-c-data
    method: irsa
    account_id: \"123456789012\"
    oidc_issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE
";

/// `podiam generate --params FILE --out OUT`, then `extra`.
pub fn generate(file: &str, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let args = [
        &[
            "generate",
            "--params",
            file,
            "--out",
            out.to_str().expect("utf8"),
        ][..],
        extra,
    ]
    .concat();
    podiam(&args)
}

/// Writes `text` as `batch.yaml` in `dir`, returning its path.
pub fn write(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("batch.yaml");
    fs::write(&path, text).expect("write batch");
    path.to_str().expect("utf8").to_owned()
}

#[test]
fn a_batch_writes_one_folder_per_target_and_checks_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, BATCH);
    let out = dir.path().join("out");
    let out_str = out.to_str().expect("utf8");
    let o = podiam(&["generate", "--params", &file, "--out", out_str]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for (target, bucket) in [
        ("team-a", "team-a-data"),
        ("team-b", "team-b-data"),
        ("team-c", "team-c-data"),
    ] {
        let policy =
            fs::read_to_string(out.join(target).join("iam/s3-access-policy.json")).expect(target);
        assert!(
            policy.contains(&format!("arn:aws:s3:::{bucket}/*")),
            "{target}"
        );
    }
    let irsa = fs::read_to_string(out.join("team-c/iam/trust-policy.json")).expect("irsa trust");
    assert!(irsa.contains("AssumeRoleWithWebIdentity"));
    assert!(
        fs::read_to_string(out.join("team-a/kubernetes/serviceaccount.yaml"))
            .expect("sa")
            .contains("namespace: team-a")
    );
    let check = podiam(&["check", out_str, "--params", &file]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        stdout(&check),
        stderr(&check)
    );
    let one = podiam(&[
        "render",
        "s3-access-policy",
        "--params",
        &file,
        "--target",
        "team-b",
    ]);
    assert!(stdout(&one).contains("team-b-data"), "{}", stderr(&one));
    let ambiguous = podiam(&["render", "s3-access-policy", "--params", &file]);
    assert_eq!(ambiguous.status.code(), Some(2));
    assert!(stderr(&ambiguous).contains("--target"));
}

#[test]
fn one_invalid_target_writes_nothing_and_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        &dir,
        &BATCH.replace("bucket: team-b-data", "bucket: Team_B"),
    );
    let out = dir.path().join("out");
    let o = podiam(&[
        "generate",
        "--params",
        &file,
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("target \"team-b\": bucket \"Team_B\": S3 bucket names"),
        "{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("team-a\":"),
        "valid targets are not blamed: {}",
        stderr(&o)
    );
    assert!(!out.exists(), "nothing may be written");
    // `--target` keeps one target: the others' own errors are not its.
    let only = |target: &str| {
        let out = out.to_str().expect("utf8");
        podiam(&[
            "generate", "--params", &file, "--target", target, "--out", out,
        ])
    };
    let one = only("team-a");
    assert_eq!(one.status.code(), Some(0), "{}", stderr(&one));
    assert!(!stderr(&one).contains("team-b"), "{}", stderr(&one));
    assert!(out.join("team-a/manifest.json").is_file());
    assert!(!out.join("team-b").exists() && !out.join("team-c").exists());
    let bad = only("team-b");
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("target \"team-b\": bucket \"Team_B\""),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn a_render_error_in_one_target_is_named_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(
        &dir,
        &BATCH.replace("    account_id: \"123456789012\"\n", ""),
    );
    let out = dir.path().join("out");
    let o = podiam(&[
        "generate",
        "--params",
        &file,
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("target \"team-c\": cannot render trust-policy"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
}

#[test]
fn targets_that_share_a_role_name_or_folder_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("o");
    let cases = [
        (
            BATCH.replace(
                "    bucket: team-b-data\n",
                "    bucket: team-b-data\n    role_name: SkyPilotS3Role-TEAM-A-DATA\n",
            ),
            "targets \"team-a\" and \"team-b\" name the same role \"SkyPilotS3Role-team-a-data\" but differ in bucket: [\"team-a-data\"] and [\"team-b-data\"]",
        ),
        (
            BATCH.replace(
                "    bucket: team-b-data\n",
                "    bucket: team-b-data\n    policy_name: SkyPilotS3Access-TEAM-A-DATA\n",
            ),
            "targets \"team-a\" and \"team-b\" share the policy name",
        ),
        (
            BATCH.replace("name: team-b", "name: team-a"),
            "share the output folder",
        ),
        (
            BATCH.replace("name: team-b", "name: ../escape"),
            "target \"../escape\": target names become folder names",
        ),
    ];
    for (text, needle) in cases {
        let file = write(&dir, &text);
        let o = podiam(&[
            "generate",
            "--params",
            &file,
            "--out",
            out.to_str().expect("utf8"),
        ]);
        assert_eq!(o.status.code(), Some(2), "{needle}");
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
        assert!(
            !out.exists() && !dir.path().join("escape").exists(),
            "{needle}: something was written"
        );
    }
}

#[test]
fn a_script_that_does_not_parse_is_caught_in_a_batch_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, BATCH);
    let templates = dir.path().join("t");
    let t = templates.to_str().expect("utf8");
    assert_eq!(
        podiam(&["templates", "export", t, "-q"]).status.code(),
        Some(0)
    );
    let script = templates.join("scripts/verify.sh.tera");
    let text = fs::read_to_string(&script).expect("exported") + "\nif then fi\n";
    fs::write(&script, text).expect("break it");
    let out = dir.path().join("out");
    let o = podiam(&[
        "generate",
        "--params",
        &file,
        "--templates",
        t,
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let err = stderr(&o);
    for target in ["team-a", "team-b", "team-c"] {
        assert!(
            err.contains(&format!(
                "target \"{target}\": generated verify-script failed its check"
            )),
            "{err}"
        );
    }
    assert!(err.contains("bash -n"), "{err}");
    assert!(!out.exists());
    let single = podiam(&[
        "generate",
        "--cluster",
        "c",
        "--region",
        "us-west-2",
        "--bucket",
        "b12",
        "--templates",
        t,
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert_eq!(single.status.code(), Some(1));
    assert!(
        stderr(&single).contains("override of template scripts/verify.sh"),
        "{}",
        stderr(&single)
    );
}

#[test]
fn target_without_a_batch_params_file_says_what_it_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let single = dir.path().join("single.yaml");
    fs::write(
        &single,
        "cluster: c1\nregion: us-west-2\nbucket: team-a-data\n",
    )
    .expect("write");
    let single = single.to_str().expect("utf8");
    for extra in [&[][..], &["--params", single][..]] {
        let o = podiam(
            &[
                &["render", "s3-access-policy", "--target", "team-a"][..],
                &crate::cli::DOCS,
                extra,
            ]
            .concat(),
        );
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(
            stderr(&o).contains("target \"team-a\": --target selects a target of a batch params file (one with `targets:`)"),
            "{extra:?}: {}",
            stderr(&o)
        );
    }
}

/// A batch of thousands must not print thousands of names in one error:
/// the first ten are named, then how many more there are.
#[test]
fn an_unknown_target_lists_ten_names_and_counts_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("defaults:\n  cluster: c\n  region: us-west-2\ntargets:\n");
    for i in 0..12 {
        text.push_str(&format!("  - name: t{i:02}\n    bucket: b-{i:02}-data\n"));
    }
    let file = write(&dir, &text);
    let o = podiam(&[
        "render",
        "s3-access-policy",
        "--params",
        &file,
        "--target",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("t00, t01, t02, t03, t04, t05, t06, t07, t08, t09 and 2 more"),
        "{err}"
    );
    assert!(!err.contains("t10") && !err.contains("t11"), "{err}");
    let o = podiam(&["render", "s3-access-policy", "--params", &file]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("t09 and 2 more"), "{}", stderr(&o));
}

/// After a target has failed, a later target staged before that failure was
/// handed on is not recorded, and its own staging error does not take the
/// place of the report: the run fails with the failed target's problem.
/// Target t0's staging waits until t2's has run, so t2 is always staged
/// before t1's failure is handed on (two workers are needed for that).
#[test]
fn a_staging_error_after_a_failure_does_not_replace_the_report() {
    use podiam::cli::targets;
    use podiam::error::Error;
    use podiam::input::params::RawParams;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
        eprintln!("skipped: this test needs two cores");
        return;
    }
    let raw = |name: &str, extra: serde_json::Value| -> targets::Raw {
        let mut fields = serde_json::json!({
            "cluster": "my-eks-cluster", "region": "us-west-2", "bucket": [format!("{name}-data")]
        });
        if let (Some(f), Some(e)) = (fields.as_object_mut(), extra.as_object()) {
            f.extend(e.clone());
        }
        let params: RawParams = serde_json::from_value(fields).expect("raw params");
        (Some(name.to_owned()), targets::hold(&params).expect("held"))
    };
    // IRSA without an account id passes validation and fails to render.
    let irsa = serde_json::json!({
        "method": "irsa",
        "oidc_issuer": "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    });
    let raws = vec![
        raw("t0", serde_json::json!({})),
        raw("t1", irsa),
        raw("t2", serde_json::json!({})),
    ];
    let valid = targets::validate(raws, None, |_| {}).expect("valid batch");
    let engine = podiam::render::templates::Engine::builtin().expect("templates");
    let all = podiam::artifacts::bundle::in_bundle();
    let t2_staged = AtomicBool::new(false);
    let mut recorded = Vec::new();
    let result = targets::stream(
        engine,
        &valid,
        &all,
        |b| match b.name.as_deref() {
            Some("t0") => {
                let start = Instant::now();
                while !t2_staged.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(20)
                {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Ok(())
            }
            Some("t2") => {
                t2_staged.store(true, Ordering::SeqCst);
                Err(Error::WouldOverwrite(vec!["t2 staging failed".into()]))
            }
            _ => Ok(()),
        },
        |b, ()| {
            recorded.push(b.name.clone().unwrap_or_default());
            Ok(())
        },
    );
    assert!(t2_staged.load(Ordering::SeqCst), "t2 was never staged");
    match result {
        Err(Error::Targets { problems, code }) => {
            assert_eq!(code, 2, "{problems:?}");
            assert!(
                problems
                    .iter()
                    .any(|p| p.contains("target \"t1\": cannot render trust-policy")),
                "{problems:?}"
            );
            assert!(!problems.iter().any(|p| p.contains("t2")), "{problems:?}");
        }
        other => panic!("expected the failed target's report, got {other:?}"),
    }
    assert_eq!(
        recorded,
        ["t0"],
        "only the target before the failure is recorded"
    );
}

/// A batch's own `params.yaml` is written piece by piece into the staging
/// folder and compared with the one in `--out` without reading either
/// whole: it is planned like every other file. Unchanged on a rerun; a
/// longer or shorter one on disk is a conflict without `--force`, left as
/// it is, and replaced with it; `check` against the batch file shows the
/// difference either way.
#[test]
fn a_batchs_params_yaml_is_planned_like_every_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, BATCH);
    let out = dir.path().join("out");
    let index = out.join("params.yaml");
    let line = |word: &str| format!("{word:<9} {}\n", index.display());
    let o = generate(&file, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(&line("created")), "{}", stdout(&o));
    let written = fs::read_to_string(&index).expect("the index");
    #[cfg(unix)]
    let inode = || std::os::unix::fs::MetadataExt::ino(&fs::metadata(&index).expect("index"));
    #[cfg(unix)]
    let before = inode();
    let o = generate(&file, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(&line("unchanged")), "{}", stdout(&o));
    #[cfg(unix)]
    assert_eq!(inode(), before, "an unchanged params.yaml is left as it is");
    let cut = written.rfind("  - name:").expect("an entry");
    let edits = [
        ("longer", format!("{written}# edited\n"), "-# edited"),
        ("shorter", written[..cut].to_owned(), "+  - name: team-c"),
        ("empty", String::new(), "+targets:"),
    ];
    for (what, edited, shown) in edits {
        fs::write(&index, &edited).expect("edit the index");
        let o = podiam(&["check", out.to_str().expect("utf8"), "--params", &file]);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stderr(&o));
        assert!(
            stdout(&o).contains("changed: params.yaml"),
            "{what}: {}",
            stdout(&o)
        );
        assert!(stdout(&o).contains(shown), "{what}: {}", stdout(&o));
        let o = generate(&file, &out, &[]);
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stderr(&o));
        assert!(stderr(&o).contains("params.yaml"), "{what}: {}", stderr(&o));
        assert_eq!(fs::read_to_string(&index).expect("index"), edited, "{what}");
        let o = generate(&file, &out, &["--force"]);
        assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
        assert!(
            stdout(&o).contains(&line("replaced")),
            "{what}: {}",
            stdout(&o)
        );
        assert_eq!(
            fs::read_to_string(&index).expect("index"),
            written,
            "{what}"
        );
    }
    let o = podiam(&["check", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

/// [`BATCH`] generated into `out` in a new temporary folder: the folder
/// (removed when dropped), the batch file and `out`.
fn generated() -> (tempfile::TempDir, String, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, BATCH);
    let out = dir.path().join("out");
    let o = generate(&file, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    (dir, file, out)
}

/// A batch whose `params.yaml` is not a file (here a folder) is checked
/// from its target folders, as one written before podiam wrote the file:
/// the folder is extra, and nothing tries to read it as the index.
#[test]
fn check_of_a_batch_whose_params_yaml_is_a_folder_reads_its_target_folders() {
    let (_dir, _, out) = generated();
    fs::remove_file(out.join("params.yaml")).expect("remove the index");
    fs::create_dir(out.join("params.yaml")).expect("a folder in its place");
    fs::write(out.join("params.yaml/notes.txt"), "notes\n").expect("notes");
    let o = podiam(&["check", out.to_str().expect("utf8")]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stderr(&o).contains("has no params.yaml listing its targets"),
        "{}",
        stderr(&o)
    );
    assert!(
        stdout(&o).contains("extra:   params.yaml/notes.txt"),
        "{}",
        stdout(&o)
    );
}

/// A batch's `params.yaml` that cannot be opened (here a link to itself)
/// is an error naming it, not a missing file.
#[cfg(unix)]
#[test]
fn check_names_a_params_yaml_it_cannot_open() {
    let (_dir, file, out) = generated();
    let index = out.join("params.yaml");
    fs::remove_file(&index).expect("remove the index");
    std::os::unix::fs::symlink("params.yaml", &index).expect("a link to itself");
    let o = podiam(&["check", out.to_str().expect("utf8"), "--params", &file]);
    assert_eq!(o.status.code(), Some(2), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains("params.yaml"), "{}", stderr(&o));
    assert!(
        !stdout(&o).contains("missing: params.yaml"),
        "{}",
        stdout(&o)
    );
}

/// A batch's `params.yaml` in `--out` that cannot be read (a link to
/// itself) stops the run with the reading's own error, naming it.
#[cfg(unix)]
#[test]
fn generate_names_a_params_yaml_it_cannot_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, BATCH);
    let out = dir.path().join("out");
    fs::create_dir(&out).expect("out");
    let index = out.join("params.yaml");
    std::os::unix::fs::symlink("params.yaml", &index).expect("a link to itself");
    let why = fs::read(&index).expect_err("a link to itself").to_string();
    let o = generate(&file, &out, &["--force"]);
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
    assert!(stderr(&o).contains(&why), "{why}: {}", stderr(&o));
    assert!(!out.join("team-a").exists(), "nothing moved into place");
}

/// Every file a batch writes is reported once, in the targets' order, each
/// target's files together, and nothing else: `created` on the first run,
/// `unchanged` on the second.
#[test]
fn a_batchs_report_names_every_file_it_wrote_once_in_target_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, BATCH);
    let out = dir.path().join("out");
    for word in ["created", "unchanged"] {
        let o = generate(&file, &out, &[]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let mut reported: Vec<String> = Vec::new();
        for line in stdout(&o).lines() {
            let path = line.strip_prefix(&format!("{word:<9} ")).expect(line);
            reported.push(path.to_owned());
        }
        let relative: Vec<&str> = reported
            .iter()
            .map(|p| p.strip_prefix(&format!("{}/", out.display())).expect(p))
            .collect();
        let order: Vec<&str> = relative
            .iter()
            .map(|p| p.split('/').next().expect(p))
            .collect();
        let mut runs = order.clone();
        runs.dedup();
        assert_eq!(
            runs,
            ["team-a", "team-b", "team-c", "params.yaml"],
            "{relative:?}"
        );
        let mut on_disk: Vec<String> = Vec::new();
        let mut stack = vec![out.clone()];
        while let Some(d) = stack.pop() {
            for entry in fs::read_dir(&d).expect("read_dir").flatten() {
                match entry.path() {
                    p if p.is_dir() => stack.push(p),
                    p => on_disk.push(p.display().to_string()),
                }
            }
        }
        on_disk.sort();
        let mut sorted = reported.clone();
        sorted.sort();
        assert_eq!(sorted, on_disk, "every file written, each reported once");
    }
}

/// A batch read from standard input (which cannot be read twice) or from a
/// file read a line at a time writes the same bundles.
#[test]
fn a_batch_from_standard_input_writes_what_the_file_writes() {
    let (dir, _, from_file) = generated();
    let from_stdin = dir.path().join("stdin");
    let o = crate::cli::podiam_env(
        &[
            "generate",
            "--params",
            "-",
            "--out",
            from_stdin.to_str().expect("utf8"),
            "--quiet",
        ],
        &[],
        Some(BATCH),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for target in ["team-a", "team-b", "team-c"] {
        for file in ["manifest.json", "params.yaml", "terraform/variables.tf"] {
            let read = |root: &std::path::Path| fs::read(root.join(target).join(file)).expect(file);
            assert_eq!(read(&from_stdin), read(&from_file), "{target}/{file}");
        }
    }
}
