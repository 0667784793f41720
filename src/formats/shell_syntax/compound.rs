//! Compound commands for [`super`]: function bodies, array assignments,
//! `for` heads and `case`.

use super::{Parser, R, Stop, Unsure, is_name};

impl Parser<'_> {
    /// After `name`, at `(`: `()` and a `{ ... }` body.
    pub(super) fn function_body(&mut self) -> R<()> {
        self.i += 1;
        self.blanks()?;
        if self.at(0) != b')' {
            return Err(Unsure);
        }
        self.i += 1;
        self.newlines()?;
        if !self.keyword(b"{") {
            return Err(Unsure);
        }
        self.i += 1;
        self.expect_list(Stop::RBrace)?;
        self.redirections()
    }

    /// The words of `NAME=(...)`, after the `(`, through the `)`.
    pub(super) fn array(&mut self) -> R<()> {
        loop {
            self.newlines()?;
            if self.at(0) == b')' {
                self.i += 1;
                return Ok(());
            }
            if !self.word_start() || matches!(self.at(0), b'<' | b'>' | b'[') {
                return Err(Unsure);
            }
            if self.word()?.reserved() {
                return Err(Unsure);
            }
        }
    }

    /// After `for`: `NAME in WORDS; do` or `((a; b; c)) do`, through `do`.
    pub(super) fn for_head(&mut self) -> R<()> {
        self.blanks()?;
        if self.at(0) == b'(' && self.at(1) == b'(' {
            self.i += 2;
            if self.arith()? != 2 {
                return Err(Unsure);
            }
            self.blanks()?;
            if self.at(0) == b';' {
                self.i += 1;
            }
        } else {
            if !self.word_start() {
                return Err(Unsure);
            }
            let name = self.word()?;
            if !(name.plain && is_name(name.text)) || name.reserved() {
                return Err(Unsure);
            }
            self.after_newlines(b"in")?;
            loop {
                self.blanks()?;
                match self.at(0) {
                    b'\n' | b';' => break,
                    _ if self.word_start() => {
                        if self.word()?.reserved() {
                            return Err(Unsure);
                        }
                    }
                    _ => return Err(Unsure),
                }
            }
            self.i += 1;
        }
        self.after_newlines(b"do")?;
        Ok(())
    }

    /// After `case`: the word, `in`, the clauses and `esac`.
    pub(super) fn case(&mut self) -> R<()> {
        self.blanks()?;
        if !self.word_start() || self.word()?.reserved() {
            return Err(Unsure);
        }
        self.after_newlines(b"in")?;
        loop {
            self.newlines()?;
            if self.keyword(b"esac") {
                self.i += 4;
                return Ok(());
            }
            loop {
                self.blanks()?;
                if !self.word_start() || matches!(self.at(0), b'<' | b'>') {
                    return Err(Unsure);
                }
                if self.word()?.reserved() {
                    return Err(Unsure);
                }
                self.blanks()?;
                match (self.at(0), self.at(1)) {
                    (b'|', c) if c != b'|' && c != b'&' => self.i += 1,
                    (b')', _) => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(Unsure),
                }
            }
            match self.list(true)? {
                Stop::CaseEnd => self.consume(Stop::CaseEnd),
                Stop::Esac => {
                    self.consume(Stop::Esac);
                    return Ok(());
                }
                _ => return Err(Unsure),
            }
        }
    }
}
