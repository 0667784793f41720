//! Parse-back for shell scripts: a script must start with the bash shebang,
//! turn on strict mode, hold no template leftovers, and pass `bash -n`.
//!
//! `bash -n` needs bash. Without it the check reports a problem instead of
//! passing silently: podiam never writes a script it could not check.

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

/// `bash -n` for many scripts with one bash process per core: each script
/// becomes the body of its own function in one file. When that file parses, every
/// script does; when it does not, each script is checked on its own so the
/// error names the right one. (Two defects that cancel each other across
/// scripts could pass together; podiam's own templates cannot produce them,
/// and `podiam validate` checks a script on its own.)
pub fn syntax_many(texts: &[&str]) -> Vec<Result<(), String>> {
    if texts.len() < 2 {
        return texts.iter().map(|t| bash_syntax(t)).collect();
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(texts.len());
    let chunk = texts.len().div_ceil(workers);
    let parsed: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = texts
            .chunks(chunk)
            .map(|part| scope.spawn(move || bash_syntax(&combine(part)).is_ok()))
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
                .map(move |t| if ok { Ok(()) } else { bash_syntax(t) })
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

/// Runs `bash -n` on `text`. The text goes through a private temporary
/// file, not a pipe: bash reads a pipe one byte per system call, which made
/// the check several times slower.
pub fn bash_syntax(text: &str) -> Result<(), String> {
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
    if output.status.success() {
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
