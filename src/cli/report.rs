//! The lines `generate` prints once its run has committed: for each file of
//! each target, what happened to it and its path. A batch of 10,000 targets
//! prints 170,000 of them, so they are held as a few bytes per file (the
//! artifact's place in the table and the status), not as paths.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::artifacts::artifact::{ARTIFACTS, Artifact, Rendered};
use crate::output::write::Status;

/// What happened to the files of each target, in the order recorded.
#[derive(Debug, Default)]
pub struct Report {
    /// The targets' names, one after another.
    names: String,
    /// Per target: where its name ends in `names` (`None`: a plain run's
    /// unnamed target), and where its files end in `files`.
    targets: Vec<(Option<usize>, usize)>,
    /// Per file: its artifact's place in [`ARTIFACTS`], and its status.
    files: Vec<(u16, Status)>,
}

impl Report {
    /// Records target `name`'s `rendered` files, with their `statuses`.
    pub fn add(&mut self, name: Option<&str>, rendered: &[Rendered], statuses: &[Status]) {
        let end = name.map(|n| {
            self.names.push_str(n);
            self.names.len()
        });
        for (r, status) in rendered.iter().zip(statuses) {
            // Every rendered artifact is a row of the table (names are
            // unique; the table is a constant, so its rows' addresses may
            // differ from one use to the next).
            let place = ARTIFACTS.iter().position(|a| a.name == r.artifact.name);
            if let Some(place) = place.and_then(|p| u16::try_from(p).ok()) {
                self.files.push((place, *status));
            }
        }
        self.targets.push((end, self.files.len()));
    }

    /// Each file recorded, in order: its target's name, its artifact and
    /// its status.
    fn entries(&self) -> impl Iterator<Item = (Option<&str>, &'static Artifact, Status)> + '_ {
        let starts = std::iter::once((0, 0)).chain(self.targets.iter().scan(
            0,
            |name_start, &(name_end, files_end)| {
                *name_start = name_end.unwrap_or(*name_start);
                Some((*name_start, files_end))
            },
        ));
        self.targets.iter().zip(starts).flat_map(
            move |(&(name_end, files_end), (name_start, files_start))| {
                let name = name_end.map(|end| &self.names[name_start..end]);
                self.files[files_start..files_end]
                    .iter()
                    .filter_map(move |&(place, status)| {
                        Some((name, ARTIFACTS.get(usize::from(place))?, status))
                    })
            },
        )
    }

    /// Prints one line per file: what happened to it, and its path in the
    /// target's folder (`folder` gives it from the target's name).
    pub fn print(&self, folder: impl Fn(Option<&str>) -> PathBuf) {
        let mut out = std::io::stdout().lock();
        let mut current: Option<(Option<&str>, PathBuf)> = None;
        for (name, artifact, status) in self.entries() {
            let dir = match &current {
                Some((n, dir)) if *n == name => dir,
                _ => &current.insert((name, folder(name))).1,
            };
            if out
                .write_all(line(status, &dir.join(artifact.path)).as_bytes())
                .is_err()
            {
                return;
            }
        }
    }
}

/// Prints one line per file of `folder`: what happened to it, and its path.
pub fn print_folder(folder: &Path, statuses: &[Status], paths: &[&str]) {
    let mut out = std::io::stdout().lock();
    for (status, path) in statuses.iter().zip(paths) {
        if out
            .write_all(line(*status, &folder.join(path)).as_bytes())
            .is_err()
        {
            return;
        }
    }
}

/// One file's line: what happened to it, and its path.
fn line(status: Status, path: &Path) -> String {
    format!("{:<9} {}\n", status.word(), path.display())
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
