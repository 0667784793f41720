//! The lines `generate` prints once its run has committed: for each file of
//! each target, what happened to it and its path. A batch of 10,000 targets
//! prints 170,000 of them, so they are held as a few bytes per file (the
//! artifact's place in the table and the status), not as paths.

use std::io::Write;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::artifacts::artifact::{ARTIFACTS, Artifact, Rendered};
use crate::output::write::Status;

/// What happened to the files of each target, in the order recorded.
#[derive(Debug, Default)]
pub struct Report {
    /// The targets' names, one after another.
    names: String,
    /// Per target: its name's place in `names` (`None`: a plain run's
    /// unnamed target), and its files' place in `files`.
    targets: Vec<(Option<Range<usize>>, Range<usize>)>,
    /// Per file: its artifact's place in [`ARTIFACTS`], and its status.
    files: Vec<(u16, Status)>,
}

impl Report {
    /// Records target `name`'s `rendered` files, with their `statuses`.
    pub fn add(&mut self, name: Option<&str>, rendered: &[Rendered], statuses: &[Status]) {
        let name = name.map(|n| {
            let start = self.names.len();
            self.names.push_str(n);
            start..self.names.len()
        });
        let start = self.files.len();
        for (r, status) in rendered.iter().zip(statuses) {
            // Every rendered artifact is a row of the table (names are
            // unique; the table is a constant, so its rows' addresses may
            // differ from one use to the next).
            let place = ARTIFACTS.iter().position(|a| a.name == r.artifact.name);
            if let Some(place) = place.and_then(|p| u16::try_from(p).ok()) {
                self.files.push((place, *status));
            }
        }
        self.targets.push((name, start..self.files.len()));
    }

    /// Each file recorded, in order: its target's name, its artifact and
    /// its status.
    fn entries(&self) -> impl Iterator<Item = (Option<&str>, &'static Artifact, Status)> + '_ {
        self.targets.iter().flat_map(move |(name, files)| {
            let name = name.clone().map(|n| &self.names[n]);
            self.files[files.clone()]
                .iter()
                .filter_map(move |&(place, status)| {
                    Some((name, ARTIFACTS.get(usize::from(place))?, status))
                })
        })
    }

    /// Prints one line per file: what happened to it, and its path in the
    /// target's folder (`folder` gives it from the target's name).
    pub fn print(&self, folder: impl Fn(Option<&str>) -> PathBuf) {
        let mut current: Option<(Option<&str>, PathBuf)> = None;
        print_lines(self.entries().map(|(name, artifact, status)| {
            let dir = match &current {
                Some((n, dir)) if *n == name => dir,
                _ => &current.insert((name, folder(name))).1,
            };
            (status, dir.join(artifact.path))
        }));
    }
}

/// Prints one line per file of `folder`: what happened to it, and its path.
pub fn print_folder(folder: &Path, statuses: &[Status], paths: &[&str]) {
    print_lines(
        statuses
            .iter()
            .zip(paths)
            .map(|(s, p)| (*s, folder.join(p))),
    );
}

/// Prints each file's line: what happened to it, and its path; stops at
/// the first write that fails (a closed pipe).
fn print_lines(lines: impl Iterator<Item = (Status, PathBuf)>) {
    let mut out = std::io::stdout().lock();
    for (status, path) in lines {
        let line = format!("{:<9} {}\n", status.word(), path.display());
        if out.write_all(line.as_bytes()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifacts::artifact::by_name;

    #[test]
    fn a_report_gives_back_each_targets_files_and_statuses_in_order() {
        let rendered = |names: &[&str]| -> Vec<Rendered> {
            names
                .iter()
                .filter_map(|n| by_name(n))
                .map(|artifact| Rendered {
                    artifact,
                    text: String::new(),
                })
                .collect()
        };
        let mut report = Report::default();
        let a = rendered(&["s3-access-policy", "trust-policy"]);
        let b = rendered(&["apply-script"]);
        assert_eq!((a.len(), b.len()), (2, 1));
        report.add(Some("team-a"), &a, &[Status::Created, Status::Unchanged]);
        report.add(None, &b, &[Status::Replaced]);
        report.add(Some("b"), &a, &[Status::Replaced, Status::Created]);
        let seen: Vec<(Option<String>, &str, Status)> = report
            .entries()
            .map(|(n, a, s)| (n.map(str::to_owned), a.name, s))
            .collect();
        let team = |n: &str| Some(n.to_owned());
        assert_eq!(
            seen,
            vec![
                (team("team-a"), "s3-access-policy", Status::Created),
                (team("team-a"), "trust-policy", Status::Unchanged),
                (None, "apply-script", Status::Replaced),
                (team("b"), "s3-access-policy", Status::Replaced),
                (team("b"), "trust-policy", Status::Created),
            ]
        );
    }
}
