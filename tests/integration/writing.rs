//! Writing: what reaches the disk when a write is refused or fails, file
//! modes, and the exact bytes of every file.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::cli::{DOCS, assert_names, podiam, stderr, stdout};
use crate::fixtures;

/// Every path below `dir`, directories included, relative and sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read_dir").flatten() {
            let path = entry.path();
            found.push(path.strip_prefix(dir).expect("below").display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

fn generate(out: &Path, extra: &[&str]) -> Output {
    podiam(
        &[
            &["generate"][..],
            &DOCS,
            &["--out", out.to_str().expect("utf8")],
            extra,
        ]
        .concat(),
    )
}

#[test]
fn a_refused_overwrite_writes_no_new_file_either() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    assert_eq!(generate(&out, &[]).status.code(), Some(0));
    fs::write(out.join("iam/s3-access-policy.json"), "{}\n").expect("edit");
    fs::remove_file(out.join("RUNBOOK.md")).expect("delete");
    fs::remove_dir_all(out.join("scripts")).expect("delete");
    let before = tree(&out);
    let refused = generate(&out, &[]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("refusing to overwrite"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(tree(&out), before, "a refused run created files");
}

#[test]
fn an_out_that_is_a_file_exits_1_and_leaves_it_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    fs::write(&out, "not a directory\n").expect("file");
    let o = generate(&out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_names(&o, &out);
    assert_eq!(fs::read_to_string(&out).expect("read"), "not a directory\n");
    assert_eq!(tree(dir.path()), vec!["B".to_owned()]);
}

#[test]
fn a_destination_that_cannot_be_read_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    // manifest.json is written last: a directory in its place must stop the
    // run before any other file is renamed into place.
    let manifest = out.join("manifest.json");
    fs::create_dir_all(&manifest).expect("mkdir");
    let o = generate(&out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_names(&o, &manifest);
    assert_eq!(tree(&out), vec!["manifest.json".to_owned()]);
}

#[test]
fn scripts_are_executable_and_nothing_else_is() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    assert_eq!(generate(&out, &[]).status.code(), Some(0));
    let files: Vec<String> = tree(&out)
        .into_iter()
        .filter(|p| out.join(p).is_file())
        .collect();
    let bundle = podiam::artifacts::bundle::in_bundle()
        .iter()
        .filter(|a| a.only.is_none())
        .count();
    assert_eq!(files.len(), bundle, "every bundle file: {files:?}");
    for path in files {
        let mode = fs::metadata(out.join(&path))
            .expect("stat")
            .permissions()
            .mode()
            & 0o777;
        if path.starts_with("scripts/") {
            assert_eq!(mode, 0o755, "{path}");
        } else {
            assert_eq!(mode & 0o111, 0, "{path}: {mode:o}");
        }
    }
}

/// Runs podiam as a user the directory's permissions apply to: root
/// ignores them, so as root the run drops to `nobody` (uid 65534).
fn generate_unprivileged(out: &Path) -> Output {
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_podiam"));
    cmd.env_clear().args(
        [
            &["generate"][..],
            &DOCS,
            &["--out", out.to_str().expect("utf8")],
        ]
        .concat(),
    );
    if fs::metadata(out).expect("out").uid() == 0 {
        cmd.uid(65534).gid(65534);
    }
    cmd.output().expect("podiam runs")
}

#[test]
fn a_read_only_directory_exits_1_and_nothing_is_written() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).expect("chmod");
    let dir = tempfile::tempdir().expect("tempdir");
    mode(dir.path(), 0o755);
    let out = dir.path().join("B");
    // The whole directory read-only, then only `scripts/`, which comes after
    // files that could be written: neither run may leave anything behind.
    for read_only in ["", "scripts"] {
        let _ = fs::remove_dir_all(&out);
        fs::create_dir_all(out.join(read_only)).expect("mkdir");
        mode(&out, 0o777);
        mode(&out.join(read_only), 0o555);
        let before = tree(&out);
        let o = generate_unprivileged(&out);
        mode(&out.join(read_only), 0o755);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{read_only:?}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("Permission denied"),
            "{read_only:?}: {}",
            stderr(&o)
        );
        assert_eq!(tree(&out), before, "{read_only:?}: something was written");
    }
}

#[test]
fn templates_export_refuses_to_replace_an_edited_file_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t = dir.path().join("t");
    let t_str = t.to_str().expect("utf8");
    assert_eq!(
        podiam(&["templates", "export", t_str]).status.code(),
        Some(0)
    );
    let task = t.join("skypilot/task.yaml.tera");
    fs::write(&task, "edited\n").expect("edit");
    let again = podiam(&["templates", "export", t_str]);
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("task.yaml.tera"),
        "{}",
        stderr(&again)
    );
    assert_eq!(fs::read_to_string(&task).expect("read"), "edited\n");
    let forced = podiam(&["templates", "export", t_str, "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert!(stdout(&forced).contains("replaced"), "{}", stdout(&forced));
    assert_eq!(
        fs::read_to_string(&task).expect("read"),
        include_str!("../../templates/skypilot/task.yaml.tera")
    );
}

/// insta compares snapshots with trailing newlines trimmed, so the bytes
/// are pinned here: every file ends in exactly one newline, and the
/// manifest (itself snapshotted) records each bundle file's SHA-256.
#[test]
fn every_file_ends_in_one_newline_and_the_manifest_pins_its_bytes() {
    for (fixture, raw) in fixtures::all() {
        let rendered = fixtures::render(&raw);
        let manifest = rendered
            .iter()
            .find(|r| r.artifact.name == "manifest")
            .expect("manifest");
        let manifest: serde_json::Value = serde_json::from_str(&manifest.text).expect("json");
        for r in &rendered {
            let name = r.artifact.name;
            assert!(
                r.text.ends_with('\n') && !r.text.ends_with("\n\n"),
                "{fixture}: {name} must end in exactly one newline: {:?}",
                &r.text[r.text.len().saturating_sub(20)..]
            );
            if !r.artifact.in_bundle() || name == "manifest" {
                continue;
            }
            let entry = manifest["artifacts"]
                .as_array()
                .expect("artifacts")
                .iter()
                .find(|e| e["name"] == name)
                .unwrap_or_else(|| panic!("{fixture}: {name} is not in the manifest"));
            assert_eq!(
                entry["sha256"],
                podiam::artifacts::manifest::sha256_hex(r.text.as_bytes()),
                "{fixture}: {name}"
            );
        }
    }
}

/// A run that was killed leaves its staging folder beside the bundle
/// folders; the next run in the same place removes it once its process is
/// gone, and a finished run leaves none of its own.
#[test]
fn a_killed_runs_staging_folder_is_removed_by_the_next_run() {
    use crate::batch::{BATCH, write};
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, BATCH);
    let out = dir.path().join("out");
    // No process has this id: Linux pids stay below 2^22.
    let stale = out.join(".podiam-staging-2147483647");
    fs::create_dir_all(stale.join("team-a/iam")).expect("mkdir");
    fs::write(stale.join("team-a/iam/trust-policy.json"), "{").expect("write");
    let o = crate::batch::generate(&file, &out, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        fs::read_dir(&out)
            .expect("read_dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect::<std::collections::BTreeSet<_>>(),
        ["params.yaml", "team-a", "team-b", "team-c"]
            .map(String::from)
            .into(),
        "only the batch's params.yaml and the target folders remain"
    );
}

/// No staging folder or lock file is left anywhere below `dir`.
fn assert_no_staging(dir: &Path) {
    let left: Vec<String> = tree(dir)
        .into_iter()
        .filter(|p| p.contains("podiam-staging"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The run succeeded and its report says it replaced exactly one file,
/// `path`.
fn assert_replaced_only(o: &Output, path: &str) {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    let report = stdout(o);
    let replaced: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("replaced"))
        .collect();
    assert_eq!(replaced.len(), 1, "{report}");
    assert!(replaced[0].ends_with(path), "{report}");
}

/// An existing folder is updated file by file: with `--force`, only the
/// files that differ are replaced, and a file the bundle does not know stays.
#[test]
fn forcing_over_an_edited_bundle_replaces_only_what_differs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    assert_eq!(generate(&out, &[]).status.code(), Some(0));
    fs::write(out.join("iam/s3-access-policy.json"), "{}\n").expect("edit");
    fs::write(out.join("notes.txt"), "mine\n").expect("own file");
    use std::os::unix::fs::MetadataExt;
    let before = fs::metadata(&out).expect("stat").ino();
    let o = generate(&out, &["--force"]);
    assert_eq!(
        fs::metadata(&out).expect("stat").ino(),
        before,
        "edited in place"
    );
    assert_replaced_only(&o, "iam/s3-access-policy.json");
    assert_eq!(
        fs::read_to_string(out.join("notes.txt")).expect("read"),
        "mine\n"
    );
    assert_no_staging(dir.path());
    let check = podiam(&[&["check", out.to_str().expect("utf8")][..], &DOCS].concat());
    assert_eq!(
        check.status.code(),
        Some(1),
        "notes.txt is extra: {}",
        stdout(&check)
    );
    fs::remove_file(out.join("notes.txt")).expect("rm");
    let check = podiam(&[&["check", out.to_str().expect("utf8")][..], &DOCS].concat());
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
}

/// In a batch, `--force` over an existing target folder replaces only the
/// file that differs, in place: the folder, its mode and every unchanged
/// file stay the same files, and no staging is left behind.
#[test]
fn forcing_over_a_batch_target_replaces_only_what_differs_in_place() {
    use crate::batch::{BATCH, write};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, BATCH);
    let out = dir.path().join("out");
    let run = |extra: &[&str]| crate::batch::generate(&file, &out, extra);
    assert_eq!(run(&[]).status.code(), Some(0));
    let target = out.join("team-a");
    fs::set_permissions(&target, fs::Permissions::from_mode(0o700)).expect("chmod");
    fs::write(target.join("RUNBOOK.md"), "edited\n").expect("edit");
    let ino = |p: &Path| fs::metadata(p).expect("stat").ino();
    let (folder_before, kept_before) = (ino(&target), ino(&target.join("iam/trust-policy.json")));
    let o = run(&["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let replaced: Vec<String> = stdout(&o)
        .lines()
        .filter(|l| l.starts_with("replaced"))
        .map(String::from)
        .collect();
    assert_eq!(replaced.len(), 1, "{}", stdout(&o));
    assert!(replaced[0].ends_with("team-a/RUNBOOK.md"), "{replaced:?}");
    assert_eq!(ino(&target), folder_before, "edited in place");
    assert_eq!(
        ino(&target.join("iam/trust-policy.json")),
        kept_before,
        "an unchanged file is the same file"
    );
    let mode = fs::metadata(&target).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the folder's mode is kept");
    assert_no_staging(dir.path());
    let check = podiam(&["check", out.to_str().expect("utf8"), "--params", &file]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
}

/// A symbolic link is never written through: a target folder that is one,
/// or a folder inside a bundle that is one, stops the run before anything
/// is written.
#[test]
fn symbolic_links_below_out_are_refused_and_nothing_is_written() {
    use crate::batch::{BATCH, write};
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write(&dir, BATCH);
    let out = dir.path().join("out");
    fs::create_dir_all(&out).expect("mkdir");
    std::os::unix::fs::symlink(dir.path().join("elsewhere"), out.join("team-b")).expect("link");
    let before = tree(dir.path());
    let o = crate::batch::generate(&file, &out, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert_eq!(tree(dir.path()), before, "nothing written");

    let bundle = dir.path().join("B");
    assert_eq!(generate(&bundle, &[]).status.code(), Some(0));
    let escape = dir.path().join("escape");
    fs::create_dir_all(&escape).expect("mkdir");
    fs::remove_dir_all(bundle.join("scripts")).expect("rm");
    std::os::unix::fs::symlink(&escape, bundle.join("scripts")).expect("link");
    let o = generate(&bundle, &["--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("symbolic link"), "{}", stderr(&o));
    assert_eq!(
        fs::read_dir(&escape).expect("read").count(),
        0,
        "nothing escaped"
    );
}

/// A plain run over an existing `--out` needs write access to `--out`
/// alone: its staging folder is inside it, not beside it.
#[test]
fn a_plain_run_needs_write_access_only_to_out() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = dir.path().join("B");
    fs::create_dir(&out).expect("mkdir");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o777)).expect("chmod");
    let o = generate_unprivileged(&out);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    assert!(out.join("manifest.json").is_file());
    assert_no_staging(&out);
}

/// A plain run killed after it renamed a new `--out` into place leaves its
/// staging folder beside `--out`; the next run there removes it.
#[test]
fn a_plain_run_removes_a_killed_runs_staging_beside_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("B");
    assert_eq!(generate(&out, &[]).status.code(), Some(0));
    let stale = dir.path().join(".podiam-staging-2147483647-0");
    fs::create_dir_all(stale.join("B")).expect("mkdir");
    assert_eq!(generate(&out, &[]).status.code(), Some(0));
    assert_no_staging(dir.path());
}
