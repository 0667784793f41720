//! The one error type, with a documented variant per way podiam can fail,
//! and the exit code each maps to (2: usage or input, 1: output or check).

use std::fmt;

/// One broken input rule: the field, the value given, and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The parameter, named as its command-line flag without dashes.
    pub field: std::borrow::Cow<'static, str>,
    /// The value that broke the rule; `None` when the value is missing.
    pub value: Option<String>,
    /// The rule, as a sentence.
    pub rule: String,
}

impl Violation {
    /// Builds a violation.
    pub fn new(
        field: impl Into<std::borrow::Cow<'static, str>>,
        value: Option<&str>,
        rule: impl Into<String>,
    ) -> Violation {
        Violation {
            field: field.into(),
            value: value.map(str::to_owned),
            rule: rule.into(),
        }
    }
}

/// Shows a value in an error message: quoted, control characters escaped,
/// and cut short when long.
pub fn shown(value: &str) -> String {
    const MAX: usize = 80;
    let count = value.chars().count();
    if count <= MAX {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(MAX).collect();
    format!("{head:?}… ({count} characters)")
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} {}: {}", self.field, shown(value), self.rule),
            None => write!(f, "{}: {}", self.field, self.rule),
        }
    }
}

/// A problem found by a JSON Schema or a parse-back check: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer into the instance ("" for the whole document).
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "at {path}: {}", self.message)
    }
}

fn lines<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| format!("\n  {i}")).collect()
}

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Parameters broke one or more input rules.
    #[error("invalid parameters:{}", lines(.0))]
    Invalid(Vec<Violation>),
    /// An artifact needs a parameter that was not given.
    #[error("cannot render {}:{}", .artifacts.join(", "), lines(.missing))]
    Missing {
        /// The artifacts that could not be rendered.
        artifacts: Vec<&'static str>,
        /// What each one lacks, as sentences.
        missing: Vec<String>,
    },
    /// The params file could not be read.
    #[error("params file {path}: {source}")]
    ParamsRead {
        /// The file.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// The params file is not YAML or JSON of the right shape.
    #[error("params file {path}: {message}")]
    ParamsParse {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// The params file failed `schemas/params.schema.json`.
    #[error("params file {path} does not match schemas/params.schema.json:{}", lines(.problems))]
    ParamsSchema {
        /// The file.
        path: String,
        /// Each problem found.
        problems: Vec<Problem>,
    },
    /// One or more targets of a batch failed; each line names its target.
    #[error("the batch failed:{}", lines(.problems))]
    Targets {
        /// One line per problem, naming the target.
        problems: Vec<String>,
        /// The exit code: 2 when any problem is the input's, else 1.
        code: u8,
    },
    /// A name on the command line names no artifact.
    #[error("unknown artifact {0:?}; `podiam list` shows the artifacts")]
    UnknownArtifact(String),
    /// A name on the command line names no schema.
    #[error("unknown schema {0:?}; known schemas: {1}")]
    UnknownSchema(String, String),
    /// A file given to `validate` could not be read.
    #[error("{path}: {source}")]
    InputRead {
        /// The file.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A file given to `validate` failed its checks.
    #[error("{path} is not a valid {artifact}:{}", lines(.problems))]
    InvalidFile {
        /// The file.
        path: String,
        /// The artifact it was checked as.
        artifact: &'static str,
        /// Each problem found.
        problems: Vec<Problem>,
    },
    /// A template failed to parse or render: a bug in podiam or in an override.
    #[error("template {template}: {message}")]
    Template {
        /// The template's name.
        template: String,
        /// Tera's message.
        message: String,
    },
    /// A template from `--templates DIR` failed to parse or render.
    #[error("template override {location} ({context}): {message}")]
    OverrideTemplate {
        /// The override file, with line and column when Tera gives them.
        location: String,
        /// Which template it is, and what was being rendered.
        context: String,
        /// Tera's message, with the line.
        message: String,
    },
    /// A file in `--templates DIR` matches no built-in template.
    #[error(
        "{path}: no built-in template is named {name:?}; `podiam templates export DIR` shows the names"
    )]
    UnknownTemplate {
        /// The file.
        path: String,
        /// The name it would override.
        name: String,
    },
    /// A rendered artifact failed its own check: a bug in podiam.
    #[error("generated {artifact} failed its check ({origin}):{}", lines(.problems))]
    ArtifactCheck {
        /// The artifact.
        artifact: &'static str,
        /// Where the failing text came from: a built-in template (a bug) or an override.
        origin: String,
        /// Each problem found.
        problems: Vec<Problem>,
    },
    /// Existing files differ from what would be written, and `--force` was not given.
    #[error("refusing to overwrite files that differ (use --force to replace them):{}", lines(.0))]
    WouldOverwrite(Vec<String>),
    /// The folder holds artifacts of another bundle shape that these
    /// parameters do not render (the other accounts' side).
    #[error("{} holds files of another bundle shape that these parameters no longer render; podiam does not delete them, since they may still be needed to undo what they set up:{}", .folder, lines(.files))]
    OtherShape {
        /// The bundle folder.
        folder: String,
        /// Each stale file and what to do about it.
        files: Vec<String>,
    },
    /// `podiam check` found a directory that differs from the parameters.
    #[error("{0}")]
    Drift(String),
    /// Writing the output failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code for this error: 2 for usage or input, 1 for output or a failed check.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Invalid(_)
            | Error::Missing { .. }
            | Error::ParamsRead { .. }
            | Error::ParamsParse { .. }
            | Error::ParamsSchema { .. }
            | Error::UnknownArtifact(_)
            | Error::UnknownSchema(..)
            | Error::InputRead { .. }
            | Error::OverrideTemplate { .. }
            | Error::UnknownTemplate { .. } => 2,
            Error::Targets { code, .. } => *code,
            Error::InvalidFile { .. }
            | Error::Template { .. }
            | Error::ArtifactCheck { .. }
            | Error::WouldOverwrite(_)
            | Error::OtherShape { .. }
            | Error::Drift(_)
            | Error::Write { .. } => 1,
        }
    }
}
