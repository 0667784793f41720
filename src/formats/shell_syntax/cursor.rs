//! The parser's cursor over the text. Every byte the parser looks at is
//! read through here, and the cursor keeps the furthest place read: what
//! [`super::known`] needs to know which bytes a top-level command's verdict
//! depended on. The text itself is private to this module, so no other part
//! of the parser can read a byte without it being counted.

use std::cell::Cell;

/// The text, the cursor, the nesting depth, and the furthest place read.
pub(super) struct Parser<'a> {
    s: &'a [u8],
    /// The cursor: the next byte to read.
    pub(super) i: usize,
    /// How deep constructs nest here (see `MAX_DEPTH`).
    pub(super) depth: u32,
    /// The furthest place read since [`Parser::reset_far`] (the end of the
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
            far: Cell::new(0),
        }
    }

    fn saw(&self, place: usize) {
        if place > self.far.get() {
            self.far.set(place);
        }
    }

    /// The byte `k` places ahead; 0 past the end (NUL is rejected up front).
    pub(super) fn at(&self, k: usize) -> u8 {
        self.saw(self.i + k);
        self.s.get(self.i + k).copied().unwrap_or(0)
    }

    /// The byte just before the cursor; `None` at the start of the text.
    pub(super) fn before(&self) -> Option<u8> {
        self.i.checked_sub(1).and_then(|b| self.s.get(b).copied())
    }

    /// How many bytes from the cursor on come before the first one for
    /// which `stop` holds, or before the end of the text.
    pub(super) fn scan(&self, stop: impl Fn(u8) -> bool) -> usize {
        let rest = self.s.get(self.i..).unwrap_or_default();
        let n = rest.iter().position(|&c| stop(c)).unwrap_or(rest.len());
        self.saw(self.i + n);
        n
    }

    /// The bytes from `start` up to the cursor, all already read.
    pub(super) fn since(&self, start: usize) -> &'a [u8] {
        self.s.get(start..self.i).unwrap_or_default()
    }

    /// The furthest place read since the last [`Parser::reset_far`].
    pub(super) fn far(&self) -> usize {
        self.far.get()
    }

    /// Starts counting the furthest place read afresh, from `place`.
    pub(super) fn reset_far(&self, place: usize) {
        self.far.set(place);
    }
}

#[cfg(test)]
mod tests {
    use super::Parser;

    #[test]
    fn every_read_moves_the_furthest_place_and_nothing_else_does() {
        let mut p = Parser::new(b"ab cd\n");
        assert_eq!((p.at(0), p.far()), (b'a', 0));
        assert_eq!((p.at(3), p.far()), (b'c', 3));
        assert_eq!((p.at(1), p.far()), (b'b', 3));
        p.i = 4;
        assert_eq!(p.far(), 3);
        assert_eq!((p.scan(|c| c == b'\n'), p.far()), (1, 5));
        assert_eq!(p.since(3), b"c");
        assert_eq!(p.before(), Some(b'c'));
        p.reset_far(4);
        assert_eq!((p.at(9), p.far()), (0, 13));
        p.i = 6;
        assert_eq!((p.scan(|_| true), p.far()), (0, 13));
        p.reset_far(6);
        assert_eq!((p.scan(|_| false), p.far()), (0, 6));
        p.i = 0;
        assert_eq!(p.before(), None);
    }
}
