//! Scripts already found valid on this thread, so that a batch's scripts,
//! which differ from target to target only in a few values near their top,
//! are not parsed to the end each time.
//!
//! Where the top-level command list is about to read its next command, the
//! parser's whole state is its position: the depth is one, nothing is
//! pending (here-documents are never parsed, they make the check unsure),
//! and it looks back at most one byte. So from that point on, the verdict
//! depends only on the text from one byte before it to the end. When a
//! script reaches such a point with the same remaining bytes as a script
//! already found valid at one of its own such points, it is valid too.

use std::cell::RefCell;

use super::{Parser, R, Stop};

/// How many valid scripts each thread keeps (a bundle has three to five).
const KEEP: usize = 8;

/// A script found valid, and every place its top-level list read a command.
struct Known {
    text: Vec<u8>,
    starts: Vec<usize>,
}

impl Known {
    /// Where `s` from `i` (such a place in `s`) ends as this script does
    /// from one of its places, the byte before included: that place.
    /// `tail` is how many last bytes `s` and this script share.
    fn ends_like(&self, s: &[u8], i: usize, tail: usize) -> Option<usize> {
        let rest = s.len() - i;
        let j = self.text.len().checked_sub(rest)?;
        // `rest < tail` (the byte before shared too) also means `j > 0`.
        let same = rest < tail && self.starts.binary_search(&j).is_ok();
        same.then_some(j)
    }
}

/// How many last bytes `a` and `b` share. A batch's scripts share most of
/// their text with the same script of the target before, so the shared
/// tail is compared a block at a time (a slice comparison, which the
/// compiler turns into `memcmp`), and only the last block byte by byte.
fn common_tail(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let n = a.len().min(b.len());
    let (a, b) = (&a[a.len() - n..], &b[b.len() - n..]);
    let mut same = 0;
    while same + BLOCK <= n && a[n - same - BLOCK..n - same] == b[n - same - BLOCK..n - same] {
        same += BLOCK;
    }
    let (a, b) = (&a[..n - same], &b[..n - same]);
    same + a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

thread_local! {
    static KNOWN: RefCell<Vec<Known>> = const { RefCell::new(Vec::new()) };
}

/// Whether `bash -n` certainly accepts `s` (control bytes already refused).
/// A valid script joins the thread's known scripts, the oldest leaving.
pub(super) fn certainly_valid(s: &[u8]) -> bool {
    let mut starts = Vec::new();
    let valid = KNOWN.with_borrow(|known| {
        let mut p = Parser { s, i: 0, depth: 0 };
        match p.top(known, &mut starts) {
            Ok(Verdict::Parsed(Stop::Eof)) => true,
            // The rest of `s` from `i` is `k`'s from `j`: so are its places.
            Ok(Verdict::Known { i, k, j }) => {
                starts.extend(
                    known[k]
                        .starts
                        .iter()
                        .filter(|&&at| at >= j)
                        .map(|at| at - j + i),
                );
                true
            }
            _ => false,
        }
    });
    if valid {
        KNOWN.with_borrow_mut(|known| {
            if known.len() == KEEP {
                known.remove(0);
            }
            known.push(Known {
                text: s.to_vec(),
                starts,
            });
        });
    }
    valid
}

/// How the top-level list ended.
enum Verdict {
    /// Parsed to this stop.
    Parsed(Stop),
    /// Its rest from `i` is known script `k`'s rest from `j`.
    Known { i: usize, k: usize, j: usize },
}

impl Parser<'_> {
    /// The top-level command list: [`Parser::list`] with empty lists
    /// allowed, recording where each command starts and stopping at the
    /// first place whose rest is known to be valid.
    fn top(&mut self, known: &[Known], starts: &mut Vec<usize>) -> R<Verdict> {
        let tails: Vec<usize> = known.iter().map(|k| common_tail(&k.text, self.s)).collect();
        self.enter()?;
        let stop = loop {
            self.newlines()?;
            // At the very start nothing can match: the byte before is missing.
            let i = self.i;
            let hit = known
                .iter()
                .zip(&tails)
                .enumerate()
                .find_map(|(k, (known, &tail))| Some((k, known.ends_like(self.s, i, tail)?)));
            if let Some((k, j)) = hit {
                return Ok(Verdict::Known { i, k, j });
            }
            starts.push(self.i);
            if let Some(stop) = self.stop() {
                break stop;
            }
            self.and_or()?;
            if let Some(stop) = self.separator()? {
                break stop;
            }
        };
        self.leave();
        Ok(Verdict::Parsed(stop))
    }
}

#[cfg(test)]
mod tests {
    use super::{KNOWN, certainly_valid};

    const A: &str = "#!/usr/bin/env bash\nset -eu\nX=1\nf() {\n  echo \"$X\"\n}\ng() { f; }\ng\n";

    /// Checks `first` then `then` on a fresh thread: the second verdict,
    /// and the places recorded for the last script known.
    fn checked(first: Option<String>, then: String) -> (bool, Vec<usize>) {
        std::thread::spawn(move || {
            if let Some(first) = first {
                assert!(certainly_valid(first.as_bytes()));
            }
            let valid = certainly_valid(then.as_bytes());
            let starts = KNOWN.with_borrow(|k| k.last().map(|k| k.starts.clone()));
            (valid, starts.unwrap_or_default())
        })
        .join()
        .expect("thread")
    }

    #[test]
    fn a_known_rest_after_a_valid_start_is_valid_with_the_places_of_a_full_parse() {
        let b = A.replacen("X=1", "X=22", 1);
        let (valid, starts) = checked(Some(A.to_owned()), b.clone());
        assert!(valid);
        assert_eq!(starts, checked(None, b).1);
        assert!(starts.len() > 4, "{starts:?}");
    }

    #[test]
    fn a_known_rest_never_hides_a_broken_start() {
        for (from, to) in [
            ("X=1", "X=("),
            ("X=1", "{\nX=1"),
            ("X=1", "if true; then\nX=1"),
            ("X=1", "X='1"),
            ("X=1", "X=\"1"),
            ("X=1", "X=1 \\"),
            ("echo \"$X\"", "echo \"$X"),
            ("g\n", "g )\n"),
        ] {
            let b = A.replacen(from, to, 1);
            assert!(!checked(Some(A.to_owned()), b).0, "{from:?} -> {to:?}");
        }
    }

    /// The memo is used: a script sharing a known script's rest stops at
    /// the first place of that rest, not at its end.
    #[test]
    fn a_known_rest_stops_the_parse_where_it_starts() {
        let b = A.replacen("X=1", "X=22", 1);
        std::thread::spawn(move || {
            assert!(certainly_valid(A.as_bytes()));
            KNOWN.with_borrow(|known| {
                let mut starts = Vec::new();
                let mut p = super::Parser {
                    s: b.as_bytes(),
                    i: 0,
                    depth: 0,
                };
                let at = b.find("f() {").expect("f");
                match p.top(known, &mut starts) {
                    Ok(super::Verdict::Known { i, k: 0, j }) => {
                        assert_eq!((i, j), (at, at - 1));
                    }
                    _ => panic!("the known rest was not used"),
                }
            });
        })
        .join()
        .expect("thread");
    }

    #[test]
    fn the_shared_tail_is_counted_exactly_on_both_sides_of_a_block_boundary() {
        for tail in [0, 1, 63, 64, 65, 127, 128, 129, 300] {
            let shared: Vec<u8> = (0..tail).map(|i| b'0' + (i % 10) as u8).collect();
            for (before_a, before_b) in [(0, 0), (1, 0), (0, 1), (5, 70), (70, 5), (64, 64)] {
                let a = [vec![b'x'; before_a], shared.clone()].concat();
                let b = [vec![b'y'; before_b], shared.clone()].concat();
                let expected = match before_a.min(before_b) {
                    0 => a.len().min(b.len()),
                    _ => tail,
                };
                let got = super::common_tail(&a, &b);
                assert_eq!(got, expected, "tail {tail}, before {before_a}/{before_b}");
                assert_eq!(super::common_tail(&b, &a), got);
            }
        }
    }

    #[test]
    fn a_rest_matches_only_at_a_place_and_with_the_byte_before() {
        let known = super::Known {
            text: b"x;\ny\n".to_vec(),
            starts: vec![0, 3, 5],
        };
        let at = |s: &[u8], i| known.ends_like(s, i, super::common_tail(&known.text, s));
        assert_eq!(at(b"zz\ny\n", 3), Some(3));
        assert_eq!(at(b"zz y\n", 3), None);
        assert_eq!(at(b"z\ny\n", 2), Some(3));
        assert_eq!(at(b"zz\ny\n", 4), None);
        assert_eq!(super::common_tail(b"ab\nc", b"xb\nc"), 3);
    }
}
