//! The generated scripts as a reviewer runs them, on a PATH of basic tools
//! only (bash, coreutils, grep, sed, awk): `--help` explains every option the
//! script's argument loop takes and nothing else, an unknown option exits 2,
//! and `--dry-run` prints every command while needing neither the AWS CLI nor
//! kubectl; a real run without them stops before it runs anything.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::cli::{podiam, stderr, stdout};
use crate::fixtures::OIDC_ID;

const SCRIPTS: [&str; 3] = ["apply", "verify", "teardown"];

/// The tools a script may use besides aws and kubectl, linked into the
/// sandbox's only PATH folder. The first [`REQUIRED_TOOLS`] must be found;
/// the others are linked when present.
const TOOLS: [&str; 11] = [
    "bash", "basename", "dirname", "mktemp", "rm", "tr", "grep", "sed", "awk", "cat", "sleep",
];
const REQUIRED_TOOLS: usize = 7;

pub(crate) fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// A bundle name and the podiam options that make it: each method, in the
/// default namespace and in another one, and roles that admit several
/// service accounts (bindings).
fn bundles() -> Vec<(&'static str, Vec<String>)> {
    let issuer = format!("https://oidc.eks.us-west-2.amazonaws.com/id/{OIDC_ID}");
    let irsa = |extra: &[&str]| {
        let mut args = strings(&[
            "--method",
            "irsa",
            "--account-id",
            "123456789012",
            "--oidc-issuer",
            &issuer,
        ]);
        args.extend(strings(extra));
        args
    };
    let custom = ["--namespace", "team-a", "--service-account", "runner"];
    vec![
        ("pod-identity", Vec::new()),
        (
            "pod-identity-custom",
            strings(&[&custom[..], &["--kube-context", "ctx"]].concat()),
        ),
        (
            "pod-identity-existing-agent",
            strings(&["--namespace", "team-a", "--pod-identity-agent", "existing"]),
        ),
        ("irsa", irsa(&[])),
        ("irsa-custom", irsa(&custom)),
        (
            "irsa-default-runner",
            irsa(&["--service-account", "runner"]),
        ),
        (
            "pod-identity-bindings",
            strings(
                &[
                    &custom[..],
                    &["--bind", "team-b:reader", "--bind", "team-a:writer"],
                ]
                .concat(),
            ),
        ),
        (
            "both-bindings",
            [
                strings(&["--method", "both", "--account-id", "123456789012"]),
                strings(&["--oidc-issuer", &issuer, "--bind", "team-b:reader"]),
            ]
            .concat(),
        ),
    ]
}

/// How many service accounts the role of a bundle from [`bundles`] admits.
fn bound(name: &str) -> usize {
    match name {
        "pod-identity-bindings" => 3,
        "both-bindings" => 2,
        _ => 1,
    }
}

/// A scratch folder: a bin folder of links to the basic tools (no aws, no
/// kubectl), a HOME, and the bundles.
pub(crate) struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        fs::create_dir_all(&bin).expect("bin");
        fs::create_dir_all(dir.path().join("home")).expect("home");
        let path = std::env::var_os("PATH").expect("PATH");
        for (i, tool) in TOOLS.iter().enumerate() {
            let found = std::env::split_paths(&path)
                .map(|d| d.join(tool))
                .find(|p| p.is_file());
            match found {
                Some(target) => symlink(target, bin.join(tool)).expect("symlink"),
                None => assert!(i >= REQUIRED_TOOLS, "{tool} is not on PATH"),
            }
        }
        for tool in ["aws", "kubectl"] {
            assert!(!bin.join(tool).exists());
        }
        Sandbox { dir }
    }

    pub(crate) fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// `podiam generate` for cluster c1 plus `extra`, into the folder `name`.
    pub(crate) fn bundle(&self, name: &str, extra: &[String]) -> PathBuf {
        let out = self.dir.path().join(name);
        let mut args = vec![
            "generate",
            "--cluster",
            "c1",
            "--region",
            "us-west-2",
            "--bucket",
            "my-bucket",
        ];
        args.extend(extra.iter().map(String::as_str));
        args.extend(["--out", out.to_str().expect("utf8")]);
        let o = podiam(&args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        out
    }

    /// Runs `bundle/scripts/SCRIPT.sh ARGS` through its shebang, with PATH
    /// the basic tools followed by `extra_path`, and HOME the scratch one.
    pub(crate) fn run(
        &self,
        bundle: &Path,
        script: &str,
        args: &[&str],
        extra_path: &[&Path],
    ) -> Output {
        let mut dirs = vec![self.bin()];
        dirs.extend(extra_path.iter().map(|p| p.to_path_buf()));
        Command::new(bundle.join(format!("scripts/{script}.sh")))
            .args(args)
            .env_clear()
            .env("PATH", std::env::join_paths(dirs).expect("PATH"))
            .env("HOME", self.dir.path().join("home"))
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the script runs")
    }
}

/// The options a script's argument loop takes: the patterns of the one
/// `case` statement that handles `--help`, split at `|`, without the
/// catch-all `*`.
pub(crate) fn accepted_options(script: &str) -> Vec<String> {
    let mut parsers = Vec::new();
    let mut lines = script.lines();
    while let Some(line) = lines.next() {
        let head = line.trim();
        if !(head.starts_with("case \"$") && head.ends_with("\" in")) {
            continue;
        }
        let patterns: Vec<String> = lines
            .by_ref()
            .take_while(|l| l.trim() != "esac")
            .filter_map(|l| l.trim().split_once(')'))
            .flat_map(|(pattern, _)| pattern.split('|'))
            .map(|p| p.trim().to_owned())
            .filter(|p| p != "*")
            .collect();
        if patterns.iter().any(|p| p == "--help") {
            parsers.push(patterns);
        }
    }
    assert_eq!(parsers.len(), 1, "one argument loop: {parsers:?}");
    parsers.remove(0)
}

/// The option lines of a help text: the options each names (the leading
/// words that start with `-`) and the number of words explaining them.
pub(crate) fn option_lines(help: &str) -> Vec<(Vec<String>, usize)> {
    help.lines()
        .filter(|l| l.starts_with(' ') && l.trim_start().starts_with('-'))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let named = words.iter().take_while(|w| w.starts_with('-')).count();
            let options = words[..named]
                .iter()
                .map(|w| w.trim_end_matches(',').to_owned())
                .collect();
            (options, words.len() - named)
        })
        .collect()
}

#[test]
fn help_explains_every_option_the_argument_loop_takes_and_no_other() {
    let sandbox = Sandbox::new();
    for (name, extra) in bundles() {
        let bundle = sandbox.bundle(name, &extra);
        for script in SCRIPTS {
            let text =
                fs::read_to_string(bundle.join(format!("scripts/{script}.sh"))).expect("script");
            let accepted = accepted_options(&text);
            let o = sandbox.run(&bundle, script, &["--help"], &[]);
            let what = format!("{name}/{script}.sh --help");
            assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
            assert_eq!(stderr(&o), "", "{what}");
            let help = stdout(&o);
            assert!(help.starts_with("Usage: "), "{what}: {help}");
            let lines = option_lines(&help);
            for option in &accepted {
                let line = lines.iter().find(|(names, _)| names.contains(option));
                let Some((_, words)) = line else {
                    panic!("{what} does not explain {option}:\n{help}");
                };
                assert!(*words >= 4, "{what}: {option} has no explanation:\n{help}");
            }
            for (names, _) in &lines {
                for option in names {
                    assert!(
                        accepted.contains(option),
                        "{what} offers {option}, which the script refuses"
                    );
                }
            }
            let short = sandbox.run(&bundle, script, &["-h"], &[]);
            assert_eq!(short.status.code(), Some(0), "{what}");
            assert_eq!(stdout(&short), help, "{name}/{script}.sh -h");
        }
    }
}

#[test]
fn an_unknown_option_prints_the_usage_on_stderr_and_exits_2() {
    let sandbox = Sandbox::new();
    for (name, extra) in bundles() {
        let bundle = sandbox.bundle(name, &extra);
        for script in SCRIPTS {
            for bad in ["--no-such-option", "extra"] {
                let o = sandbox.run(&bundle, script, &[bad], &[]);
                let what = format!("{name}/{script}.sh {bad}");
                assert_eq!(o.status.code(), Some(2), "{what}: {}", stderr(&o));
                assert_eq!(stdout(&o), "", "{what}");
                let err = stderr(&o);
                assert!(
                    err.contains(&format!("unknown option {bad}")),
                    "{what}: {err}"
                );
                assert!(err.contains("Usage: "), "{what}: {err}");
            }
        }
    }
}

/// Whether some line of `out` starts with `prefix`.
fn has_line(out: &str, prefix: &str) -> bool {
    out.lines().any(|l| l.starts_with(prefix))
}

#[test]
fn dry_run_prints_every_command_without_aws_or_kubectl() {
    let sandbox = Sandbox::new();
    for (name, extra) in bundles() {
        let bundle = sandbox.bundle(name, &extra);
        let irsa = name.starts_with("irsa") || name.starts_with("both");
        let pod_identity = !name.starts_with("irsa");
        let o = sandbox.run(&bundle, "apply", &["--dry-run"], &[]);
        let what = format!("{name}/apply.sh --dry-run");
        assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{what}");
        let out = stdout(&o);
        let mut wanted = vec![
            "+ aws sts get-caller-identity ",
            "+ aws eks describe-cluster ",
            "+ aws iam get-policy ",
            "+ aws iam create-policy --policy-name ",
            "+ aws iam create-role ",
            "+ aws iam attach-role-policy ",
        ];
        if irsa {
            wanted.extend([
                "+ aws iam create-open-id-connect-provider ",
                "+ kubectl annotate serviceaccount ",
            ]);
        }
        if pod_identity {
            wanted.extend([
                "+ aws eks describe-addon ",
                "+ aws eks create-pod-identity-association ",
            ]);
        }
        for prefix in wanted {
            assert!(
                has_line(&out, prefix),
                "{what} does not print {prefix:?}:\n{out}"
            );
        }
        // One association per binding, and one annotation: SkyPilot's.
        let lines = |prefix: &str| out.lines().filter(|l| l.starts_with(prefix)).count();
        let associations = if pod_identity { bound(name) } else { 0 };
        assert_eq!(
            lines("+ aws eks create-pod-identity-association "),
            associations,
            "{what}:\n{out}"
        );
        assert_eq!(
            lines("+ kubectl annotate serviceaccount "),
            usize::from(irsa),
            "{what}:\n{out}"
        );
        // Step numbers run 1/N to N/N without a gap.
        let steps: Vec<&str> = out
            .lines()
            .filter_map(|l| l.strip_prefix("== "))
            .filter_map(|l| l.split_once(' ').map(|(n, _)| n))
            .filter(|n| n.contains('/'))
            .collect();
        let total = steps.len();
        let want: Vec<String> = (1..=total).map(|i| format!("{i}/{total}")).collect();
        assert_eq!(steps, want, "{what}:\n{out}");
        assert!(has_line(&out, "dry run: nothing was run"), "{what}:\n{out}");

        let o = sandbox.run(&bundle, "teardown", &["--dry-run"], &[]);
        let what = format!("{name}/teardown.sh --dry-run");
        assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
        let out = stdout(&o);
        for prefix in [
            "+ aws iam detach-role-policy ",
            "+ aws iam delete-role ",
            "+ aws iam delete-policy ",
        ] {
            assert!(
                has_line(&out, prefix),
                "{what} does not print {prefix:?}:\n{out}"
            );
        }
        let deletions = out
            .lines()
            .filter(|l| l.starts_with("would delete, for each association of "))
            .count();
        let associations = if pod_identity { bound(name) } else { 0 };
        assert_eq!(deletions, associations, "{what}:\n{out}");
    }
}

#[test]
fn a_real_run_without_the_tools_stops_before_running_anything() {
    let sandbox = Sandbox::new();
    let (_, irsa) = bundles()
        .into_iter()
        .find(|(n, _)| *n == "irsa")
        .expect("irsa");
    let bundle = sandbox.bundle("irsa", &irsa);
    for (script, args) in [
        ("apply", &[][..]),
        ("verify", &[]),
        ("teardown", &["--yes"]),
    ] {
        let o = sandbox.run(&bundle, script, args, &[]);
        let what = format!("{script}.sh without aws");
        assert_eq!(o.status.code(), Some(1), "{what}: {}", stdout(&o));
        let err = stderr(&o);
        assert!(err.contains("aws is not on PATH"), "{what}: {err}");
        assert!(err.contains("Remedy: Install the AWS CLI"), "{what}: {err}");
        assert!(
            !has_line(&stdout(&o), "+ "),
            "{what} ran a command: {}",
            stdout(&o)
        );
    }
    // With aws (a stub that records its calls) but no kubectl, which an IRSA
    // bundle needs: stopped before the first aws call.
    let stub = sandbox.dir.path().join("aws-only");
    fs::create_dir_all(&stub).expect("stub dir");
    let calls = sandbox.dir.path().join("aws-calls");
    let aws = stub.join("aws");
    fs::write(
        &aws,
        format!(
            "#!/usr/bin/env bash\necho \"$*\" >>'{}'\nexit 97\n",
            calls.display()
        ),
    )
    .expect("stub");
    let mut mode = fs::metadata(&aws).expect("stub").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut mode, 0o755);
    fs::set_permissions(&aws, mode).expect("chmod");
    for (script, args) in [("apply", &[][..]), ("teardown", &["--yes"])] {
        let o = sandbox.run(&bundle, script, args, &[&stub]);
        let err = stderr(&o);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{script}.sh without kubectl: {err}"
        );
        assert!(
            err.contains("FAILED at step \"preflight\": kubectl is not on PATH"),
            "{err}"
        );
        assert!(err.contains("Remedy: Install kubectl"), "{err}");
        assert!(
            !calls.exists(),
            "{script}.sh ran aws first: {:?}",
            fs::read_to_string(&calls)
        );
    }
}

/// Whether some line of `out` prints a kubectl command (with or without
/// `--context`) that holds `rest`.
fn kubectl_line(out: &str, rest: &str) -> bool {
    out.lines()
        .any(|l| l.starts_with("+ kubectl ") && l.contains(rest))
}

#[test]
fn dry_run_creates_only_a_namespace_that_is_not_default() {
    let sandbox = Sandbox::new();
    for (name, extra) in bundles() {
        let bundle = sandbox.bundle(name, &extra);
        let custom = extra.iter().any(|a| a == "team-a");
        let apply = stdout(&sandbox.run(&bundle, "apply", &["--dry-run"], &[]));
        let teardown = stdout(&sandbox.run(
            &bundle,
            "teardown",
            &["--dry-run", "--delete-namespace"],
            &[],
        ));
        let create = format!(
            " create -f {}/kubernetes/serviceaccount.yaml -l app.kubernetes.io/component=namespace",
            bundle.display()
        );
        let claims: Vec<&str> = apply
            .lines()
            .filter(|l| l.starts_with("would create") && l.contains("namespace"))
            .collect();
        if custom {
            assert!(
                kubectl_line(&apply, &create),
                "{name}: no namespace creation:\n{apply}"
            );
            assert!(
                claims.contains(&"would create, if missing: namespace team-a"),
                "{name}: {claims:?}"
            );
            assert!(
                kubectl_line(&teardown, " delete namespace team-a "),
                "{name}:\n{teardown}"
            );
        } else {
            assert!(
                !apply.contains("component=namespace"),
                "{name} creates a namespace:\n{apply}"
            );
            assert!(
                !teardown.contains("kubectl delete namespace default"),
                "{name}:\n{teardown}"
            );
        }
        for claim in claims {
            assert!(!claim.contains("namespace default"), "{name}: {claim}");
            assert!(!claim.ends_with(" default"), "{name}: {claim}");
        }
    }
}

/// In apply.sh's dry run, the look-ups that can stop it (the existing role's
/// IAM path; under IRSA, another role's annotation on SkyPilot's service
/// account) come before the first write. Every step of apply.sh and
/// teardown.sh but preflight and next steps is numbered; under --method both
/// the banner names the migration.
#[test]
fn dry_run_reads_the_role_and_annotation_before_any_write_and_numbers_every_step() {
    let sandbox = Sandbox::new();
    for (name, extra) in bundles() {
        let bundle = sandbox.bundle(name, &extra);
        let irsa = name.starts_with("irsa") || name.starts_with("both");
        for script in ["apply", "teardown"] {
            let o = sandbox.run(&bundle, script, &["--dry-run"], &[]);
            let what = format!("{name}/{script}.sh --dry-run");
            assert_eq!(o.status.code(), Some(0), "{what}: {}", stderr(&o));
            let out = stdout(&o);
            for line in out.lines().filter(|l| l.starts_with("== ")) {
                let numbered = line
                    .strip_prefix("== ")
                    .and_then(|s| s.split_once(' '))
                    .is_some_and(|(n, _)| n.contains('/'));
                assert!(
                    numbered || line == "== preflight" || line == "== next steps",
                    "{what}: unnumbered step {line:?}"
                );
            }
            let banner = out.lines().find(|l| l.starts_with(script)).unwrap_or("");
            assert_eq!(
                banner.contains("IRSA and EKS Pod Identity (migration"),
                name.starts_with("both"),
                "{what}: banner {banner:?}"
            );
            if script != "apply" {
                continue;
            }
            let first_write = out
                .lines()
                .position(|l| {
                    l.starts_with("+ aws iam create-")
                        || l.starts_with("+ aws eks create-")
                        || l.starts_with("+ aws iam update-")
                })
                .expect("a write");
            let lines: Vec<&str> = out.lines().collect();
            let before = &lines[..first_write];
            assert!(
                before
                    .iter()
                    .any(|l| l.starts_with("+ aws iam get-role ") && l.contains("Path")),
                "{what}: the role's path is not read before the first write"
            );
            assert_eq!(
                before
                    .iter()
                    .any(|l| l.starts_with("+ kubectl get serviceaccount ")
                        && l.contains("role-arn")),
                irsa,
                "{what}: the annotation look-up before the first write"
            );
        }
    }
}
