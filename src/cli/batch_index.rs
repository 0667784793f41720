//! A batch's own `params.yaml`: every target's name and parameters, at the
//! top of the batch's output directory. `podiam generate --params` on it
//! reproduces the whole batch, and `podiam check DIR` reads it, so a
//! deleted target folder shows as missing files instead of going unseen.

use std::path::Path;

use crate::artifacts::artifact;
use crate::cli::targets::TargetBundle;
use crate::error::{Error, Problem};
use crate::formats::escape;
use crate::formats::schemas::{self, Schema};
use crate::input::params::ParamsFile;
use crate::output::{drift, top};

/// The index's first lines.
pub const HEADER: &str = "\
# The parameters of this batch: one entry per target folder below, each the
# same as that folder's params.yaml. podiam generated every folder from this
# file: edit it, then run `podiam generate --params params.yaml --out . --force`
# here; `podiam check .` shows any drift, a deleted target folder included.
targets:
";

/// Where an index's text goes as it is built: `generate` writes it into
/// the staging folder ([`top::TopFile`]), `check` compares it with the
/// directory's ([`drift::TopCompare`]), which holds the text only from the
/// first difference on, for the diff; `None` drops it (a batch with no
/// `params.yaml` to compare). So a batch's memory does not grow with its
/// index while the two agree.
pub trait Sink {
    /// Takes the next piece of the index's text.
    fn push(&mut self, text: &str) -> Result<(), Error>;
}

impl Sink for top::TopFile {
    fn push(&mut self, text: &str) -> Result<(), Error> {
        top::TopFile::push(self, text)
    }
}

impl<S: Sink> Sink for Option<S> {
    fn push(&mut self, text: &str) -> Result<(), Error> {
        match self {
            Some(sink) => sink.push(text),
            None => Ok(()),
        }
    }
}

impl Sink for drift::TopCompare {
    fn push(&mut self, text: &str) -> Result<(), Error> {
        drift::TopCompare::push(self, text)
    }
}

/// The index, built target by target in batch order into a [`Sink`].
#[derive(Debug)]
pub struct Index<S> {
    sink: S,
    targets: usize,
}

impl<S: Sink> Index<S> {
    /// An index that goes to `sink`, its header already there.
    pub fn new(mut sink: S) -> Result<Index<S>, Error> {
        sink.push(HEADER)?;
        Ok(Index { sink, targets: 0 })
    }

    /// Adds a named target, whose rendered artifacts hold its `params.yaml`:
    /// that file's keys, already escaped by the template, indented under
    /// the target's escaped name. The entry is parsed back on its own, under
    /// the index's header, and checked against the params schema before it
    /// joins the index: checking entry by entry keeps a batch's memory flat
    /// (parsing a 10,000-target index back whole took 45 MB).
    pub fn add(&mut self, bundle: &TargetBundle) -> Result<(), Error> {
        let own = bundle
            .rendered
            .iter()
            .find(|r| r.artifact.name == artifact::PARAMS);
        let (Some(name), Some(own)) = (bundle.name.as_deref(), own) else {
            return Ok(());
        };
        let mut entry = format!("  - name: {}\n", escape::yaml(name));
        for line in own.text.lines().filter(|l| !l.starts_with('#')) {
            entry.push_str(&format!("    {line}\n"));
        }
        check_entry(name, &entry, self.targets)?;
        self.sink.push(&entry)?;
        self.targets += 1;
        Ok(())
    }

    /// The sink, which has the header, then every entry added, each checked.
    pub fn finish(self) -> Result<S, Error> {
        if self.targets == 0 {
            return Err(failed(vec![problem("holds no target".to_owned())]));
        }
        Ok(self.sink)
    }
}

/// A failed check of the batch's `params.yaml`.
fn failed(problems: Vec<Problem>) -> Error {
    Error::ArtifactCheck {
        artifact: artifact::PARAMS,
        origin: "the batch's params.yaml".to_owned(),
        problems,
    }
}

/// One problem at the top of the index.
fn problem(message: String) -> Problem {
    Problem {
        path: String::new(),
        message,
    }
}

/// Parses one entry back under the index's header and checks it: valid
/// against the params schema, exactly one target, named `name`. Problems
/// name the entry's place in the index, `index`.
fn check_entry(name: &str, entry: &str, index: usize) -> Result<(), Error> {
    let text = format!("{HEADER}{entry}");
    let value: serde_json::Value =
        serde_yaml::from_str(&text).map_err(|e| failed(vec![problem(e.to_string())]))?;
    let problems = schemas::check(Schema::Params, &value);
    if !problems.is_empty() {
        let at = format!("/targets/{index}");
        let placed = problems
            .into_iter()
            .map(|mut p| {
                if let Some(tail) = p.path.strip_prefix("/targets/0")
                    && (tail.is_empty() || tail.starts_with('/'))
                {
                    p.path = format!("{at}{tail}");
                }
                p
            })
            .collect();
        return Err(failed(placed));
    }
    let targets = value["targets"].as_array().map_or(&[][..], Vec::as_slice);
    match targets {
        [one] if one["name"].as_str() == Some(name) => Ok(()),
        _ => Err(failed(vec![problem(format!(
            "the entry of target {name:?} reads back as {} targets, or under another name",
            targets.len()
        ))])),
    }
}

/// Refuses, whatever `--force` says, to write a batch into a folder that
/// holds one bundle (its `manifest.json` at the top) or one bundle into a
/// folder that holds a batch (a `params.yaml` listing targets): either
/// would replace the other's `params.yaml` and leave its files as extras.
pub fn refuse_mixing(out: &Path, batch: bool) -> Result<(), Error> {
    let holds_batch = || {
        let index = out.join(artifact::PARAMS_PATH);
        index.is_file() && matches!(ParamsFile::load(&index), Ok(ParamsFile::Batch { .. }))
    };
    let rule = match batch {
        true if out.join(artifact::MANIFEST_PATH).is_file() => {
            "holds one bundle (manifest.json at its top); a batch writes a folder per target below --out: give another --out"
        }
        false if holds_batch() => {
            "holds a batch (its params.yaml lists targets); give the batch's params file, or another --out"
        }
        _ => return Ok(()),
    };
    let shown = out.display().to_string();
    Err(Error::Invalid(vec![crate::error::Violation::new(
        "out",
        Some(&shown),
        rule,
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_checked_alone_and_named_by_its_place() {
        assert!(check_entry("a", "  - name: a\n    bucket: b\n", 0).is_ok());
        let wrong = check_entry("b", "  - name: b\n    colour: red\n", 3)
            .expect_err("unknown key")
            .to_string();
        assert!(wrong.contains("/targets/3"), "{wrong}");
        assert!(!wrong.contains("/targets/0"), "{wrong}");
        assert!(check_entry("c", "  - name: d\n", 1).is_err());
        assert!(check_entry("e", "  - name: e\n  - name: f\n", 1).is_err());
    }
}
