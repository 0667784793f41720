//! What podiam says on the terminal besides its output: notes, progress and
//! errors, with `--quiet`/`--verbose`, and colour only on a terminal when
//! `NO_COLOR` is not set.

use std::io::IsTerminal;

/// Verbosity and colour for messages on stderr.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    quiet: bool,
    verbose: bool,
    color: bool,
}

impl Ui {
    /// Settings from the flags and the environment.
    pub fn new(quiet: bool, verbose: bool) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Ui {
            quiet,
            verbose,
            color: !no_color && std::io::stderr().is_terminal(),
        }
    }

    /// Whether reports of what was done should be printed.
    pub fn quiet(&self) -> bool {
        self.quiet
    }

    /// Something the user should know; hidden by `--quiet`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("podiam: {} {message}", self.paint("note:", "33"));
        }
    }

    /// Progress detail; shown only with `--verbose`.
    pub fn detail(&self, message: &str) {
        if self.verbose {
            eprintln!("podiam: {message}");
        }
    }

    /// An error; always shown.
    pub fn error(&self, message: &str) {
        eprintln!("podiam: {} {message}", self.paint("error:", "1;31"));
    }

    fn paint(&self, text: &str, code: &str) -> String {
        if self.color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }
}
