//! Parse-back for shell scripts: a script must start with the bash shebang,
//! turn on strict mode, hold no template leftovers, and pass `bash -n`.
//!
//! The syntax check has a fast path and a fallback. The fast path,
//! [`crate::formats::shell_syntax::certainly_valid`], parses the script in
//! process (about a hundred times faster than starting bash) and answers
//! either "certainly valid" or "not sure". Only a script it is not sure of
//! goes to the real `bash -n`, whose verdict and error message then stand.
//! This is sound because the fast path says "valid" only for the subset of
//! bash it models completely (podiam's own scripts stay inside it), and says
//! "not sure" for anything it does not fully understand or that looks wrong:
//! it can cost a bash run, never let a broken script through. The test
//! suite holds it to that with `bash -n` as the judge: podiam's scripts,
//! thousands of mutants of them, a table of pitfalls and generated strings.
//!
//! `bash -n` needs bash. Without it the check reports a problem instead of
//! passing silently: podiam never writes a script it could not check. (A
//! script the fast path is sure of needs no bash.)

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::Problem;

/// The first line of every script.
pub const SHEBANG: &str = "#!/usr/bin/env bash";
/// The strict-mode line every script must hold.
pub const STRICT: &str = "set -euo pipefail";

/// Every problem found in `text`; empty means the script is good.
pub fn check(text: &str) -> Vec<Problem> {
    let mut problems = check_static(text);
    if let Err(message) = bash_syntax(text) {
        problems.push(problem(message));
    }
    problems
}

/// The checks that need no bash: shebang, strict mode, template leftovers.
/// [`syntax_many`] does the `bash -n` part for many scripts at once.
pub fn check_static(text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    if text.lines().next() != Some(SHEBANG) {
        problems.push(problem(format!("the first line is not {SHEBANG:?}")));
    }
    if !text.lines().any(|l| l == STRICT) {
        problems.push(problem(format!("no {STRICT:?} line")));
    }
    if let Some(leftover) = crate::formats::markdown::template_leftover(text) {
        problems.push(problem(leftover));
    }
    problems
}

/// The shell syntax of many scripts, one result per script in order: the
/// in-process check first, and [`bash_many`] for the scripts it is not sure of.
pub fn syntax_many(texts: &[&str]) -> Vec<Result<(), String>> {
    let unsure: Vec<usize> = texts
        .iter()
        .enumerate()
        .filter(|(_, t)| !crate::formats::shell_syntax::certainly_valid(t))
        .map(|(i, _)| i)
        .collect();
    let mut results: Vec<Result<(), String>> = texts.iter().map(|_| Ok(())).collect();
    let unsure_texts: Vec<&str> = unsure.iter().map(|&i| texts[i]).collect();
    for (i, result) in unsure.into_iter().zip(bash_many(&unsure_texts)) {
        results[i] = result;
    }
    results
}

/// `bash -n` for many scripts with one bash process per core: each script
/// becomes the body of its own function in one file. When that file parses, every
/// script does; when it does not, each script is checked on its own so the
/// error names the right one. (Two defects that cancel each other across
/// scripts could pass together; podiam's own templates cannot produce them,
/// and `podiam validate` checks a script on its own.)
fn bash_many(texts: &[&str]) -> Vec<Result<(), String>> {
    if texts.len() < 2 {
        return texts.iter().map(|t| bash_n(t)).collect();
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(texts.len());
    let chunk = texts.len().div_ceil(workers);
    let parsed: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = texts
            .chunks(chunk)
            .map(|part| scope.spawn(move || bash_n(&combine(part)).is_ok()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(false))
            .collect()
    });
    texts
        .chunks(chunk)
        .zip(parsed)
        .flat_map(|(part, ok)| {
            part.iter()
                .map(move |t| if ok { Ok(()) } else { bash_n(t) })
        })
        .collect()
}

/// Scripts as the bodies of functions in one file.
fn combine(texts: &[&str]) -> String {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| format!("__podiam_script_{i}() {{\n{t}\n}}\n"))
        .collect()
}

/// A problem with no JSON path.
pub fn problem(message: String) -> Problem {
    Problem {
        path: String::new(),
        message,
    }
}

/// The shell syntax of `text`: `Ok` at once when the in-process check is
/// certain, otherwise the verdict of the real `bash -n`.
pub fn bash_syntax(text: &str) -> Result<(), String> {
    if crate::formats::shell_syntax::certainly_valid(text) {
        return Ok(());
    }
    bash_n(text)
}

/// Runs `bash -n` on `text`. The text goes through a private temporary
/// file, not a pipe: bash reads a pipe one byte per system call, which made
/// the check several times slower.
fn bash_n(text: &str) -> Result<(), String> {
    let file = TempScript::new(text)
        .map_err(|e| format!("cannot check shell syntax: writing a temporary file failed: {e}"))?;
    let output = Command::new("bash")
        .arg("-n")
        .arg(&file.path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot check shell syntax: bash could not be started ({e}); install bash, or render the other artifacts one by one with `podiam render`"))?;
    // bash 5.2 prints some syntax errors (`[[ a b ]]`, `[[ -n ]]`) and still
    // exits 0: anything on stderr fails the check.
    if output.status.success() && output.stderr.is_empty() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let shown = file.path.display().to_string();
    Err(format!(
        "bash -n: {}",
        stderr.trim().replace(&shown, "script")
    ))
}

/// A script in a file of its own below the temporary directory, created
/// exclusively (never following or reusing another file) and removed on drop.
struct TempScript {
    path: std::path::PathBuf,
}

impl TempScript {
    fn new(text: &str) -> std::io::Result<TempScript> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "podiam-check-{}-{n}-{nanos}.sh",
            std::process::id()
        ));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path)?;
        let script = TempScript { path };
        file.write_all(text.as_bytes())?;
        Ok(script)
    }
}

impl Drop for TempScript {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_scripts_are_checked_together_and_failures_land_on_the_right_one() {
        let good = format!("{SHEBANG}\n{STRICT}\necho ok\n");
        let bad = format!("{SHEBANG}\n{STRICT}\nif then fi\n");
        let texts = [
            good.as_str(),
            bad.as_str(),
            good.as_str(),
            good.as_str(),
            bad.as_str(),
        ];
        let results = syntax_many(&texts);
        let failed: Vec<usize> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_err())
            .map(|(i, _)| i)
            .collect();
        assert_eq!(failed, vec![1, 4]);
        assert!(
            syntax_many(&[good.as_str(), good.as_str()])
                .iter()
                .all(Result::is_ok)
        );
    }

    #[test]
    fn scripts_the_fast_path_is_not_sure_of_go_to_bash_and_failures_land_right() {
        // A here-document is outside the fast path's subset: bash decides.
        let heredoc = format!("{SHEBANG}\n{STRICT}\ncat <<EOF\nhi\nEOF\n");
        let good = format!("{SHEBANG}\n{STRICT}\necho ok\n");
        let bad = format!("{SHEBANG}\n{STRICT}\ncat <<EOF\nhi\nEOF\nfi\n");
        assert!(!crate::formats::shell_syntax::certainly_valid(&heredoc));
        assert!(crate::formats::shell_syntax::certainly_valid(&good));
        let texts = [
            heredoc.as_str(),
            good.as_str(),
            bad.as_str(),
            heredoc.as_str(),
        ];
        let results = syntax_many(&texts);
        assert!(results[0].is_ok() && results[1].is_ok() && results[3].is_ok());
        let message = results[2].as_ref().err().cloned().unwrap_or_default();
        assert!(message.starts_with("bash -n:"), "{message}");
        assert!(bash_syntax(&heredoc).is_ok() && bash_syntax(&good).is_ok());
        assert!(bash_syntax(&bad).is_err());
    }

    #[test]
    fn an_error_bash_prints_but_exits_0_for_still_fails() {
        let text = format!("{SHEBANG}\n{STRICT}\nif [[ a b ]]; then echo; fi\n");
        assert!(!crate::formats::shell_syntax::certainly_valid(&text));
        let verdict = bash_syntax(&text);
        assert!(
            verdict.as_ref().is_err_and(|e| e.starts_with("bash -n:")),
            "{verdict:?}"
        );
    }

    #[test]
    fn a_good_script_passes() {
        let text = format!("{SHEBANG}\n{STRICT}\necho ok\n");
        assert_eq!(check(&text), Vec::new());
    }

    #[test]
    fn syntax_errors_shebang_strictness_and_leftovers_are_reported() {
        let broken = format!("{SHEBANG}\n{STRICT}\nif true; then echo\n");
        let problems = check(&broken);
        assert!(
            problems.iter().any(|p| p.message.starts_with("bash -n:")),
            "{problems:?}"
        );
        assert_eq!(check("echo hi\n").len(), 2);
        let leftover = format!("{SHEBANG}\n{STRICT}\necho '{{{{ cluster }}}}'\n");
        assert!(
            check(&leftover)
                .iter()
                .any(|p| p.message.contains("template")),
            "{:?}",
            check(&leftover)
        );
    }
}
