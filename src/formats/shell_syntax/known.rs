//! Scripts already found valid on this thread, so that a batch's scripts,
//! which differ from target to target in a few values, are not parsed
//! whole each time.
//!
//! Where the top-level command list is about to read its next command (a
//! *place*), the parser's whole state is its position: the depth is one,
//! nothing is pending (here-documents are never parsed, they make the check
//! unsure), and it looks back at most one byte. So the parse of the command
//! at a place, through its separator and the newlines after it, to the next
//! place, is decided by the bytes it read, which the cursor counts
//! ([`super::cursor`]): from the one before the place (the parser never
//! reads further back; a parse that did would not be remembered) to the
//! furthest one read. When a script's place has the same bytes over that
//! span as a known valid script's place, its command parses the same way,
//! to the same next place: the parser steps over it instead of parsing it.

use std::cell::RefCell;

use super::{Parser, R, Stop};

/// How many valid scripts each thread keeps (a bundle has three to five).
const KEEP: usize = 8;

/// One place of a script's top-level list, and what parsing from it did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place {
    at: usize,
    /// The command there parsed to the next place without reading past
    /// `far`; `None` for the place where the list ended (or, which never
    /// happens, a parse that read before the byte before the place).
    step: Option<Step>,
}

/// A command parsed from a place: the next place, and the furthest byte read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Step {
    next: usize,
    far: usize,
}

/// A script found valid, and its places.
struct Known {
    text: Vec<u8>,
    places: Vec<Place>,
}

impl Known {
    /// The step from place `at` of `s`, when this script's place `n` has the
    /// same bytes over the span its own step read (the byte before the place
    /// through the furthest byte read, and every byte stepped over): the
    /// same step, moved to `at`.
    fn step_like(&self, s: &[u8], n: usize, at: usize) -> Option<Step> {
        let place = self.places.get(n)?;
        let (j, step) = (place.at, place.step?);
        // The start of a text has no byte before it, which the parser sees.
        if (at == 0) != (j == 0) {
            return None;
        }
        let back = usize::from(j > 0);
        let last = step.far.max(step.next.checked_sub(1)?);
        // A read at or past the end found the end: `s` must end there too.
        let end = (last + 1).min(self.text.len());
        let ends = last >= self.text.len();
        let mine = self.text.get(j - back..end)?;
        let theirs = s.get(at - back..at - back + mine.len())?;
        let same = mine == theirs && (!ends || s.len() == at - back + mine.len());
        same.then(|| Step {
            next: step.next - j + at,
            far: step.far - j + at,
        })
    }
}

thread_local! {
    static KNOWN: RefCell<Vec<Known>> = const { RefCell::new(Vec::new()) };
}

/// Whether `bash -n` certainly accepts `s` (control bytes already refused).
/// A valid script joins the thread's known scripts, the oldest leaving.
pub(super) fn certainly_valid(s: &[u8]) -> bool {
    let mut places = Vec::new();
    let valid = KNOWN.with_borrow(|known| {
        let mut p = Parser::new(s);
        matches!(p.top(s, known, &mut places), Ok(Stop::Eof))
    });
    if valid {
        KNOWN.with_borrow_mut(|known| {
            if known.len() == KEEP {
                known.remove(0);
            }
            known.push(Known {
                text: s.to_vec(),
                places,
            });
        });
    }
    valid
}

impl Parser<'_> {
    /// The top-level command list of `s` (this parser's text): like
    /// [`Parser::list`] with empty lists allowed, recording each place and
    /// stepping over every command a known script has parsed from the same
    /// bytes.
    fn top(&mut self, s: &[u8], known: &[Known], places: &mut Vec<Place>) -> R<Stop> {
        self.enter()?;
        self.newlines()?;
        let stop = loop {
            let (at, n) = (self.i, places.len());
            if let Some(step) = known.iter().find_map(|k| k.step_like(s, n, at)) {
                places.push(Place {
                    at,
                    step: Some(step),
                });
                self.i = step.next;
                continue;
            }
            self.reset_span(at);
            if let Some(stop) = self.stop() {
                places.push(Place { at, step: None });
                break stop;
            }
            self.and_or()?;
            if let Some(stop) = self.separator()? {
                places.push(Place { at, step: None });
                break stop;
            }
            self.newlines()?;
            let (near, far) = self.span();
            let step = (near >= at.saturating_sub(1)).then_some(Step { next: self.i, far });
            places.push(Place { at, step });
        };
        self.leave();
        Ok(stop)
    }
}

#[cfg(test)]
mod tests {
    use super::{KNOWN, Known, Parser, Place, Step, Stop, certainly_valid};

    const A: &str = "#!/usr/bin/env bash\nset -eu\nX=1\nf() {\n  echo \"$X\"\n}\ng() { f; }\ng\n";

    /// Checks `first` then `then` on a fresh thread: the second verdict,
    /// and the places recorded for the last script known.
    fn checked(first: Option<String>, then: String) -> (bool, Vec<Place>) {
        std::thread::spawn(move || {
            if let Some(first) = first {
                assert!(certainly_valid(first.as_bytes()));
            }
            let valid = certainly_valid(then.as_bytes());
            let places = KNOWN.with_borrow(|k| k.last().map(|k| k.places.clone()));
            (valid, places.unwrap_or_default())
        })
        .join()
        .expect("thread")
    }

    /// The places of a full parse of `text`, with no script known.
    fn parsed(text: &str) -> Vec<Place> {
        let mut places = Vec::new();
        let mut p = Parser::new(text.as_bytes());
        let stop = p.top(text.as_bytes(), &[], &mut places);
        assert!(matches!(stop, Ok(Stop::Eof)), "{text}");
        places
    }

    #[test]
    fn a_script_stepped_over_records_the_places_of_a_full_parse() {
        for (from, to) in [("X=1", "X=22"), ("echo", "printf"), ("g\n", "g; g\n")] {
            let b = A.replacen(from, to, 1);
            let (valid, places) = checked(Some(A.to_owned()), b.clone());
            assert!(valid, "{b}");
            assert_eq!(places, parsed(&b), "{b}");
            assert!(places.len() > 4, "{places:?}");
        }
    }

    #[test]
    fn a_known_script_never_changes_a_verdict() {
        let mut broken = 0;
        for (from, to) in [
            ("X=1", "X=("),
            ("X=1", "{\nX=1"),
            ("X=1", "if true; then\nX=1"),
            ("X=1", "X='1"),
            ("X=1", "X=\"1"),
            ("X=1", "X=1 \\"),
            ("echo \"$X\"", "echo \"$X"),
            ("g() { f; }", "g() { f; )"),
            ("g\n", "g )\n"),
            ("g\n", "g\nfi\n"),
            ("g\n", "g"),
        ] {
            let b = A.replacen(from, to, 1);
            let alone = checked(None, b.clone()).0;
            assert_eq!(checked(Some(A.to_owned()), b.clone()).0, alone, "{b}");
            broken += usize::from(!alone);
        }
        assert_eq!(broken, 10);
    }

    /// The memo is used: a known script whose step at a place jumps further
    /// than a parse would makes the next script with the same bytes there
    /// jump as far (which a real known script never does).
    #[test]
    fn a_place_with_the_same_bytes_is_stepped_over() {
        let b = A.replacen("X=1", "X=22", 1);
        let mut places = parsed(A);
        let f = A.find("f() {").expect("f");
        let n = places.iter().position(|p| p.at == f).expect("a place at f");
        let after = places[n + 2].at;
        if let Some(step) = places[n].step.as_mut() {
            step.next = after;
        }
        places.remove(n + 1);
        let known = [Known {
            text: A.as_bytes().to_vec(),
            places,
        }];
        let mut got = Vec::new();
        let mut p = Parser::new(b.as_bytes());
        assert!(matches!(
            p.top(b.as_bytes(), &known, &mut got),
            Ok(Stop::Eof)
        ));
        assert_eq!(
            got.len(),
            parsed(&b).len() - 1,
            "the doctored step was not taken"
        );
    }

    #[test]
    fn a_step_needs_the_same_bytes_from_the_one_before_to_the_furthest_read() {
        let known = Known {
            text: b"x;\ny\n".to_vec(),
            places: vec![
                Place {
                    at: 0,
                    step: Some(Step { next: 3, far: 3 }),
                },
                Place {
                    at: 3,
                    step: Some(Step { next: 5, far: 5 }),
                },
                Place { at: 5, step: None },
            ],
        };
        let step = |s: &[u8], n, at| known.step_like(s, n, at);
        assert_eq!(step(b"x;\ny\n", 0, 0), Some(Step { next: 3, far: 3 }));
        assert_eq!(step(b"zz\ny\n", 1, 3), Some(Step { next: 5, far: 5 }));
        assert_eq!(step(b"zzz\ny\n", 1, 4), Some(Step { next: 6, far: 6 }));
        // The byte before differs.
        assert_eq!(step(b"zz y\n", 1, 3), None);
        // A byte read differs, or the text ends where the known one went on.
        assert_eq!(step(b"zz\nw\n", 1, 3), None);
        assert_eq!(step(b"zz\ny", 1, 3), None);
        // The known step read the end (place 1's `far` is its length): the
        // text must end there too.
        assert_eq!(step(b"zz\ny\nmore", 1, 3), None);
        // Only the start of a text matches the start of a text.
        assert_eq!(step(b"\nx;\ny\n", 0, 1), None);
        // No step from the place where the list ended, nor past the places.
        assert_eq!(step(b"x;\ny\n", 2, 5), None);
        assert_eq!(step(b"x;\ny\n", 3, 5), None);
    }
}
