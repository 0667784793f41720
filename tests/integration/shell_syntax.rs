//! The in-process shell syntax check against its judge, the real `bash -n`:
//! podiam's own scripts take the fast path, and no mutant of them, no
//! hand-written snippet and no generated string that the checker calls valid
//! is rejected by bash.

use std::io::Write;
use std::process::{Command, Stdio};

use podiam::artifacts::artifact::Format;
use podiam::formats::shell_syntax::certainly_valid;
use podiam::input::params::{RawBinding, RawParams};
use proptest::prelude::*;

use crate::fixtures;

/// Whether `bash -n` accepts `text`, run on a file of its own: it exits 0
/// and prints nothing. (bash 5.2 reports some errors in `[[ ]]`, such as
/// `[[ a b ]]`, on stderr but still exits 0.)
pub fn bash_accepts(text: &str) -> bool {
    let mut file = tempfile::NamedTempFile::new().expect("temporary file");
    file.write_all(text.as_bytes())
        .expect("write temporary file");
    file.flush().expect("flush temporary file");
    let output = Command::new("bash")
        .arg("-n")
        .arg(file.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("bash runs");
    output.status.success() && output.stderr.is_empty()
}

/// A binding for [`bindings`].
fn bind(cluster: Option<&str>, namespace: &str, sa: &str, issuer: Option<&str>) -> RawBinding {
    RawBinding {
        cluster: cluster.map(str::to_owned),
        namespace: Some(namespace.to_owned()),
        service_account: Some(sa.to_owned()),
        oidc_issuer: issuer.map(str::to_owned),
    }
}

/// Roles that admit several service accounts: Pod Identity in two
/// namespaces and two clusters; `--method both`; IRSA with patterns and a
/// second cluster, whose values the scripts quote.
fn bindings() -> Vec<(&'static str, RawParams)> {
    let issuer = format!(
        "https://oidc.eks.us-west-2.amazonaws.com/id/{}",
        fixtures::OIDC_ID
    );
    let other = "https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF";
    let irsa = |method: &str, more: Vec<RawBinding>| RawParams {
        method: Some(method.into()),
        account_id: Some("123456789012".into()),
        oidc_issuer: Some(issuer.clone()),
        bindings: Some(more),
        ..fixtures::docs()
    };
    vec![
        (
            "bindings-pod-identity",
            RawParams {
                bindings: Some(vec![
                    bind(None, "team-b", "reader", None),
                    bind(Some("other-cluster"), "team-a", "writer", None),
                ]),
                ..fixtures::docs()
            },
        ),
        (
            "bindings-both",
            irsa("both", vec![bind(None, "team-b", "reader", None)]),
        ),
        (
            "bindings-irsa",
            irsa(
                "irsa",
                vec![
                    bind(None, "team-*", "reader", None),
                    bind(Some("other-cluster"), "jobs", "runner-?", Some(other)),
                    bind(Some("other-cluster"), "jobs", "batch", Some(other)),
                ],
            ),
        ),
    ]
}

/// Every distinct script of every fixture, and of [`bindings`].
fn scripts() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, raw) in fixtures::all().into_iter().chain(bindings()) {
        for r in fixtures::render(&raw) {
            if r.artifact.format == Format::Shell && !out.iter().any(|(_, t)| *t == r.text) {
                out.push((format!("{name}/{}", r.artifact.name), r.text));
            }
        }
    }
    out
}

#[test]
fn every_fixture_script_takes_the_fast_path_and_bash_agrees() {
    let scripts = scripts();
    assert!(scripts.len() >= 8, "{} scripts", scripts.len());
    for (name, text) in &scripts {
        assert!(certainly_valid(text), "{name} is not certainly valid");
        assert!(bash_accepts(text), "bash -n rejects {name}");
    }
}

/// A small deterministic PRNG (xorshift64*), so the mutants are the same on
/// every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// The tokens a mutant may gain.
const TOKENS: &[&str] = &[
    "fi", "done", "esac", "then", "do", "else", "}", "{", ")", "(", ";;", ";", "|", "&&", "\"",
    "'", "$(", "${", "[[", "]]", "<", ">", "`", "\\",
];

/// A byte offset in `text` on a character boundary.
fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One deterministic mutant of `text`.
fn mutate(text: &str, rng: &mut Rng) -> String {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if lines.is_empty() {
        return TOKENS[rng.below(TOKENS.len())].to_string();
    }
    let line = rng.below(lines.len());
    // A position inside a random line: lines of code and comments weigh the same.
    let start: usize = lines[..line].iter().map(|l| l.len()).sum();
    let at = boundary(text, start + rng.below(lines[line].len() + 1));
    match rng.below(6) {
        0 => {
            let mut out = text.to_string();
            if at < out.len() {
                out.remove(at);
            }
            out
        }
        1 => {
            let mut l = lines.clone();
            l.remove(line);
            l.concat()
        }
        2 => {
            let mut l = lines.clone();
            l.insert(line, lines[line]);
            l.concat()
        }
        3 if line + 1 < lines.len() => {
            let mut l = lines.clone();
            l.swap(line, line + 1);
            l.concat()
        }
        3 | 4 => {
            let token = TOKENS[rng.below(TOKENS.len())];
            let token = match rng.below(3) {
                0 => token.to_string(),
                1 => format!(" {token} "),
                _ => format!("\n{token}\n"),
            };
            let mut out = text.to_string();
            out.insert_str(at, &token);
            out
        }
        _ => text[..at].to_string(),
    }
}

#[test]
fn no_mutant_the_checker_calls_valid_is_rejected_by_bash() {
    let scripts = scripts();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let per_script = 4000usize.div_ceil(scripts.len());
    let mutants: Vec<(usize, String)> = scripts
        .iter()
        .enumerate()
        .flat_map(|(i, (_, text))| {
            (0..per_script)
                .map(|_| (i, mutate(text, &mut rng)))
                .collect::<Vec<_>>()
        })
        .collect();
    let verdicts: Vec<bool> = mutants.iter().map(|(_, m)| certainly_valid(m)).collect();
    // bash judges every mutant, on two threads.
    let judged: Vec<bool> = std::thread::scope(|scope| {
        let half = mutants.len().div_ceil(2);
        let handles: Vec<_> = mutants
            .chunks(half)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(_, m)| bash_accepts(m))
                        .collect::<Vec<bool>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("judge thread"))
            .collect::<Vec<bool>>()
    });
    let mut unsound = Vec::new();
    let (mut valid, mut unsure, mut unsure_accepted) = (0, 0, 0);
    for (((script, mutant), &fast), &bash) in mutants.iter().zip(&verdicts).zip(&judged) {
        if fast {
            valid += 1;
            if !bash {
                unsound.push((script, mutant));
            }
        } else {
            unsure += 1;
            unsure_accepted += usize::from(bash);
        }
    }
    println!(
        "{} mutants: {valid} certainly valid (bash accepts all of them: {}), {unsure} not sure, of which bash accepts {unsure_accepted}",
        mutants.len(),
        unsound.is_empty()
    );
    if let Some((script, mutant)) = unsound.first() {
        panic!(
            "{} mutants of the checker's 'valid' are rejected by bash -n; the first, from {}:\n{mutant}",
            unsound.len(),
            scripts[**script].0
        );
    }
    assert!(valid > 0 && unsure > 0);
}

/// The checker steps over a command it has seen parse, in a script it
/// found valid, from the same bytes (`shell_syntax::known`). Whatever it
/// has seen, its verdict must be the one it gives with nothing seen.
#[test]
fn what_the_checker_has_seen_never_changes_its_verdict() {
    let scripts = scripts();
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mutants: Vec<String> = scripts
        .iter()
        .flat_map(|(_, text)| (0..100).map(|_| mutate(text, &mut rng)).collect::<Vec<_>>())
        .collect();
    // One thread: it has seen every script, then every valid mutant so far.
    let seen = {
        let (scripts, mutants) = (scripts.clone(), mutants.clone());
        std::thread::spawn(move || {
            for (name, text) in &scripts {
                assert!(certainly_valid(text), "{name}");
            }
            mutants
                .iter()
                .map(|m| certainly_valid(m))
                .collect::<Vec<bool>>()
        })
        .join()
        .expect("thread")
    };
    // A thread for each mutant: it has seen nothing.
    let fresh: Vec<bool> = mutants
        .iter()
        .map(|m| {
            let m = m.clone();
            std::thread::spawn(move || certainly_valid(&m))
                .join()
                .expect("thread")
        })
        .collect();
    let differs = mutants
        .iter()
        .zip(seen.iter().zip(&fresh))
        .find(|(_, (a, b))| a != b);
    if let Some((mutant, (seen, fresh))) = differs {
        panic!("seen: {seen}, fresh: {fresh}, for:\n{mutant}");
    }
    let valid = fresh.iter().filter(|v| **v).count();
    println!("{} mutants, {valid} certainly valid", mutants.len());
    assert!(valid > 0 && valid < mutants.len());
}

#[test]
fn the_fast_path_is_fast() {
    let scripts = scripts();
    let bundle: Vec<&str> = scripts.iter().take(3).map(|(_, t)| t.as_str()).collect();
    let bytes: usize = bundle.iter().map(|t| t.len()).sum();
    let rounds = 200u32;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for text in &bundle {
            assert!(certainly_valid(std::hint::black_box(text)));
        }
    }
    let elapsed = start.elapsed();
    println!(
        "three scripts, {bytes} bytes: {:?} per bundle, {:.0} MB/s",
        elapsed / rounds,
        (bytes as f64 * f64::from(rounds)) / elapsed.as_secs_f64() / 1e6
    );
}

/// Strings made of shell syntax, for the checker to choke on.
fn shellish() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "if ", "then ", "else ", "elif ", "fi", "for ", "in ", "do ", "done", "case ", "esac",
        "while ", "{ ", "}", "(", ")", "((", "))", ";", ";;", "&", "&&", "|", "||", "!", "\n", " ",
        "\t", "x", "a=", "=(", "$", "$(", "${", "${a:-", "$((", "1", "[[ ", " ]]", "-n ", "== ",
        "<", ">", "<<<", "<(", "2>&1", "'", "\"", "`", "\\", "\\\n", "#", "f() ", "echo ",
        "local ", "[", "]", "*", "@", "+", "%", "/", "é", "\u{0}",
    ]);
    prop::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_checker_never_panics_on_any_string(text in any::<String>()) {
        let _ = certainly_valid(&text);
    }

    #[test]
    fn shellish_strings_the_checker_calls_valid_pass_bash(text in shellish()) {
        if certainly_valid(&text) {
            prop_assert!(bash_accepts(&text), "bash -n rejects {text:?}");
        }
    }
}
