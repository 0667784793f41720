//! A batch's own file at the top of `--out` (its `params.yaml`): written
//! into the staging folder entry by entry as the batch renders, and
//! compared with the file in `--out` a block at a time, so a batch never
//! holds it whole.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::output::folder::write_err;

/// The staging folder's subfolder for a batch's own files.
pub(super) const TOP: &str = ".top";

/// A batch's own file at the top of `--out`, written into the staging
/// folder as the batch renders (`Writer::top_file`).
pub struct TopFile {
    /// Path below `--out`.
    pub(super) path: String,
    /// Where it is staged.
    pub(super) staged: PathBuf,
    pub(super) out: std::io::BufWriter<fs::File>,
    /// Bytes written so far.
    pub(super) len: usize,
}

impl TopFile {
    /// Appends `text`.
    pub fn push(&mut self, text: &str) -> Result<(), Error> {
        std::io::Write::write_all(&mut self.out, text.as_bytes())
            .map_err(|source| write_err(&self.staged, source))?;
        self.len += text.len();
        Ok(())
    }
}

/// Whether the file at `path` has the bytes of the staged file `staged`,
/// both read a block at a time; `None` when there is no file at `path`.
/// An error names the file it came from.
pub(super) fn same_as_staged(path: &Path, staged: &Path) -> Result<Option<bool>, Error> {
    let existing = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(write_err(path, source)),
    };
    let new = fs::File::open(staged).map_err(|source| write_err(staged, source))?;
    match same_bytes(existing, new) {
        Ok(same) => Ok(Some(same)),
        Err(Failed::First(source)) => Err(write_err(path, source)),
        Err(Failed::Second(source)) => Err(write_err(staged, source)),
    }
}

/// Which of the two readers of [`same_bytes`] failed.
#[derive(Debug)]
enum Failed {
    First(std::io::Error),
    Second(std::io::Error),
}

/// Whether two readers give the same bytes, compared a block at a time.
fn same_bytes(a: impl std::io::Read, b: impl std::io::Read) -> Result<bool, Failed> {
    use std::io::BufRead;
    let (mut a, mut b) = (std::io::BufReader::new(a), std::io::BufReader::new(b));
    loop {
        let x = a.fill_buf().map_err(Failed::First)?;
        let y = b.fill_buf().map_err(Failed::Second)?;
        if x.is_empty() || y.is_empty() {
            return Ok(x.is_empty() && y.is_empty());
        }
        let n = x.len().min(y.len());
        if x[..n] != y[..n] {
            return Ok(false);
        }
        a.consume(n);
        b.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::{Failed, same_bytes};

    /// A reader that always fails.
    struct Broken;

    impl std::io::Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("broken"))
        }
    }

    #[test]
    fn same_bytes_says_which_reader_failed() {
        assert!(matches!(
            same_bytes(Broken, &b"a"[..]),
            Err(Failed::First(_))
        ));
        assert!(matches!(
            same_bytes(&b"a"[..], Broken),
            Err(Failed::Second(_))
        ));
    }

    #[test]
    fn same_bytes_compares_lengths_and_content() {
        let long = "x".repeat(20_000);
        let cases: [(&str, &str, bool); 7] = [
            ("", "", true),
            ("abc", "abc", true),
            (&long, &long, true),
            ("abc", "abd", false),
            ("abc", "ab", false),
            ("", "a", false),
            (&long, &long[1..], false),
        ];
        for (a, b, same) in cases {
            assert_eq!(
                same_bytes(a.as_bytes(), b.as_bytes()).ok(),
                Some(same),
                "{a:.5} {b:.5}"
            );
            assert_eq!(
                same_bytes(b.as_bytes(), a.as_bytes()).ok(),
                Some(same),
                "{b:.5} {a:.5}"
            );
        }
    }
}
