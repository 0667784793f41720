//! The parser's cursor over the text. Every byte the parser looks at is
//! read through here, and the cursor keeps the span read (the nearest and
//! the furthest place): what [`super::known`] needs to know which bytes a
//! top-level command's verdict depended on. The text itself is private to
//! this module, so no other part of the parser can read a byte without it
//! being counted.

use std::cell::Cell;

/// The text, the cursor, the nesting depth, and the span read.
pub(super) struct Parser<'a> {
    s: &'a [u8],
    /// The cursor: the next byte to read.
    pub(super) i: usize,
    /// How deep constructs nest here (see `MAX_DEPTH`).
    pub(super) depth: u32,
    /// The nearest place read since [`Parser::reset_span`].
    near: Cell<usize>,
    /// The furthest place read since [`Parser::reset_span`] (the end of the
    /// text, or past it, when a read found the end).
    far: Cell<usize>,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `s`.
    pub(super) fn new(s: &'a [u8]) -> Parser<'a> {
        Parser {
            s,
            i: 0,
            depth: 0,
            near: Cell::new(0),
            far: Cell::new(0),
        }
    }

    /// Counts a read of every place from `from` through `to`.
    fn saw(&self, from: usize, to: usize) {
        if from < self.near.get() {
            self.near.set(from);
        }
        if to > self.far.get() {
            self.far.set(to);
        }
    }

    /// The byte `k` places ahead; 0 past the end (NUL is rejected up front).
    pub(super) fn at(&self, k: usize) -> u8 {
        self.saw(self.i + k, self.i + k);
        self.s.get(self.i + k).copied().unwrap_or(0)
    }

    /// The byte just before the cursor; `None` at the start of the text.
    pub(super) fn before(&self) -> Option<u8> {
        let b = self.i.checked_sub(1)?;
        self.saw(b, b);
        self.s.get(b).copied()
    }

    /// How many bytes from the cursor on come before the first one for
    /// which `stop` holds, or before the end of the text.
    pub(super) fn scan(&self, stop: impl Fn(u8) -> bool) -> usize {
        let rest = self.s.get(self.i..).unwrap_or_default();
        let n = rest.iter().position(|&c| stop(c)).unwrap_or(rest.len());
        self.saw(self.i, self.i + n);
        n
    }

    /// The bytes from `start` up to the cursor, all already read.
    pub(super) fn since(&self, start: usize) -> &'a [u8] {
        if start < self.i {
            self.saw(start, self.i - 1);
        }
        self.s.get(start..self.i).unwrap_or_default()
    }

    /// The nearest and the furthest place read since the last
    /// [`Parser::reset_span`].
    pub(super) fn span(&self) -> (usize, usize) {
        (self.near.get(), self.far.get())
    }

    /// Starts counting the places read afresh, from `place`.
    pub(super) fn reset_span(&self, place: usize) {
        self.near.set(place);
        self.far.set(place);
    }
}

#[cfg(test)]
mod tests {
    use super::Parser;

    #[test]
    fn every_read_widens_the_span_and_nothing_else_does() {
        let mut p = Parser::new(b"ab cd\n");
        assert_eq!((p.at(0), p.span()), (b'a', (0, 0)));
        assert_eq!((p.at(3), p.span()), (b'c', (0, 3)));
        assert_eq!((p.at(1), p.span()), (b'b', (0, 3)));
        p.i = 4;
        p.reset_span(4);
        assert_eq!(p.span(), (4, 4));
        assert_eq!((p.scan(|c| c == b'\n'), p.span()), (1, (4, 5)));
        assert_eq!((p.since(3), p.span()), (&b"c"[..], (3, 5)));
        assert_eq!((p.before(), p.span()), (Some(b'c'), (3, 5)));
        p.reset_span(4);
        assert_eq!((p.at(9), p.span()), (0, (4, 13)));
        p.i = 6;
        assert_eq!((p.scan(|_| true), p.span()), (0, (4, 13)));
        p.reset_span(6);
        assert_eq!((p.scan(|_| false), p.span()), (0, (6, 6)));
        assert_eq!((p.since(6), p.span()), (&b""[..], (6, 6)));
        assert_eq!((p.before(), p.span()), (Some(b'\n'), (5, 6)));
        p.i = 0;
        assert_eq!(p.before(), None);
    }

    #[test]
    fn the_bytes_since_a_place_count_from_it_to_the_one_before_the_cursor() {
        let mut p = Parser::new(b"abcdef");
        p.i = 4;
        p.reset_span(1);
        assert_eq!((p.since(2), p.span()), (&b"cd"[..], (1, 3)));
        p.reset_span(5);
        assert_eq!((p.since(4), p.span()), (&b""[..], (5, 5)));
    }
}
