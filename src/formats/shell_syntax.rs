//! An in-process syntax check for the subset of bash podiam's scripts use.
//!
//! [`certainly_valid`] answers `true` only when `bash -n` (GNU bash 5.2)
//! certainly accepts the text. Everything it does not fully understand, and
//! everything that looks wrong, makes it answer `false`: "not sure", after
//! which the caller runs the real `bash -n`. It never produces an error
//! message and never needs to: a false "not sure" costs only speed.
//!
//! It is a recursive-descent parser over bytes, without allocation. Where
//! bash's lexer has a corner that is hard to model (here-documents,
//! backquotes, `((` commands, extended globs, `time`, `function`, `select`,
//! `coproc`, a backslash-newline inside a word, `name[` at the start of a
//! word, a single quote inside `${...}`, `=~` in `[[ ]]`, ...) it gives up.
//! The contents of `$(...)` and `<(...)` are parsed as commands, as bash 5.2
//! does at parse time.

/// "Not sure": the text goes to the real `bash -n`.
struct Unsure;

type R<T> = Result<T, Unsure>;

/// How deep constructs may nest before the checker gives up.
const MAX_DEPTH: u32 = 100;

/// Whether `bash -n` certainly accepts `text`; `false` means "not sure".
pub fn certainly_valid(text: &str) -> bool {
    let s = text.as_bytes();
    // NUL makes bash call the file binary; other control bytes (and bash's
    // internal quoting bytes 0x01 and 0x7f) are never in podiam's scripts.
    let control = s.iter().fold(false, |seen, &b| {
        seen | ((b < 0x20 && b != b'\t' && b != b'\n') || b == 0x7f)
    });
    if control {
        return false;
    }
    known::certainly_valid(s)
}

/// What ended a command list, left unconsumed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    Eof,
    RParen,
    /// `;;`, `;&` or `;;&`.
    CaseEnd,
    Then,
    Elif,
    Else,
    Fi,
    Do,
    Done,
    Esac,
    RBrace,
}

/// bash's reserved words, and `[[`/`]]`: never a command name here.
const RESERVED: &[&[u8]] = &[
    b"if",
    b"then",
    b"else",
    b"elif",
    b"fi",
    b"case",
    b"esac",
    b"for",
    b"select",
    b"while",
    b"until",
    b"do",
    b"done",
    b"in",
    b"function",
    b"time",
    b"coproc",
    b"{",
    b"}",
    b"!",
    b"[[",
    b"]]",
];

/// `[[ ]]` unary operators.
const UNARY: &[u8] = b"abcdefghknoprstuvwxzGLNORS";

/// `[[ ]]` binary operators written as words (`<` and `>` are operators).
const BINARY: &[&[u8]] = &[
    b"==", b"=", b"!=", b"-eq", b"-ne", b"-lt", b"-le", b"-gt", b"-ge", b"-nt", b"-ot", b"-ef",
];

/// A byte that ends a word outside quotes.
fn is_meta(c: u8) -> bool {
    matches!(
        c,
        0 | b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// A shell name: a letter or `_`, then letters, digits and `_`.
fn is_name(w: &[u8]) -> bool {
    w.first().is_some_and(|&c| is_ident_start(c)) && w.iter().all(|&c| is_ident_char(c))
}

/// `NAME=` or `NAME+=`, the head of an array assignment.
fn is_assign_head(w: &[u8]) -> bool {
    let name = w
        .strip_suffix(b"+=")
        .or_else(|| w.strip_suffix(b"="))
        .unwrap_or(b"");
    is_name(name)
}

/// Whether the word starts with `NAME=` or `NAME+=`.
fn is_assignment(w: &[u8]) -> bool {
    let Some(eq) = w.iter().position(|&c| c == b'=') else {
        return false;
    };
    is_assign_head(&w[..=eq])
}

/// One word as lexed: its bytes and whether it holds no quoting or expansion.
struct Word<'a> {
    text: &'a [u8],
    plain: bool,
}

impl Word<'_> {
    /// Whether the word is exactly the unquoted `kw`.
    fn is(&self, kw: &[u8]) -> bool {
        self.plain && same(self.text, kw)
    }

    fn reserved(&self) -> bool {
        self.plain && self.text.len() <= 8 && RESERVED.iter().any(|kw| same(self.text, kw))
    }
}

/// Byte-string equality, inlined (short words compare faster than `memcmp`).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

use cursor::Parser;

impl Parser<'_> {
    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Unsure);
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Skips blanks, comments and backslash-newlines that follow a blank
    /// (a backslash-newline right after an operator could join two operators).
    fn blanks(&mut self) -> R<()> {
        loop {
            match self.at(0) {
                b' ' | b'\t' => self.i += 1,
                b'\\' if self.at(1) == b'\n' => {
                    let prev = self.before().unwrap_or(b'\n');
                    if !matches!(prev, b' ' | b'\t' | b'\n') {
                        return Err(Unsure);
                    }
                    self.i += 2;
                }
                b'#' => self.i += self.scan(|c| c == b'\n'),
                _ => return Ok(()),
            }
        }
    }

    /// Skips blanks, comments and newlines.
    fn newlines(&mut self) -> R<()> {
        loop {
            self.blanks()?;
            if self.at(0) != b'\n' {
                return Ok(());
            }
            self.i += 1;
        }
    }

    /// Whether the unquoted word `kw` stands at the cursor, whole.
    fn keyword(&self, kw: &[u8]) -> bool {
        kw.iter().enumerate().all(|(k, &c)| self.at(k) == c) && is_meta(self.at(kw.len()))
    }

    /// Skips newlines, then the reserved word `kw`, which must come next.
    fn after_newlines(&mut self, kw: &[u8]) -> R<()> {
        self.newlines()?;
        if !self.keyword(kw) {
            return Err(Unsure);
        }
        self.i += kw.len();
        Ok(())
    }

    /// Whether a word (or a process substitution) starts at the cursor.
    fn word_start(&self) -> bool {
        let c = self.at(0);
        !is_meta(c) || (matches!(c, b'<' | b'>') && self.at(1) == b'(')
    }

    /// What ends a list at the cursor, if anything does (after blanks).
    fn stop(&self) -> Option<Stop> {
        let words: [(&[u8], Stop); 8] = [
            (b"then", Stop::Then),
            (b"elif", Stop::Elif),
            (b"else", Stop::Else),
            (b"fi", Stop::Fi),
            (b"do", Stop::Do),
            (b"done", Stop::Done),
            (b"esac", Stop::Esac),
            (b"}", Stop::RBrace),
        ];
        match self.at(0) {
            0 => return Some(Stop::Eof),
            b';' if matches!(self.at(1), b';' | b'&') => return Some(Stop::CaseEnd),
            b')' => return Some(Stop::RParen),
            b't' | b'e' | b'f' | b'd' | b'}' => {}
            _ => return None,
        }
        words
            .iter()
            .find(|(kw, _)| self.keyword(kw))
            .map(|&(_, stop)| stop)
    }

    /// Consumes the stop word or operator `stop` at the cursor.
    fn consume(&mut self, stop: Stop) {
        self.i += match stop {
            Stop::Eof => 0,
            Stop::RParen | Stop::RBrace => 1,
            Stop::CaseEnd => {
                if self.at(1) == b';' && self.at(2) == b'&' {
                    3
                } else {
                    2
                }
            }
            Stop::Fi | Stop::Do => 2,
            Stop::Then | Stop::Elif | Stop::Else | Stop::Done | Stop::Esac => 4,
        };
    }

    /// Parses a list up to `want`, which it consumes.
    fn expect_list(&mut self, want: Stop) -> R<()> {
        if self.list(false)? != want {
            return Err(Unsure);
        }
        self.consume(want);
        Ok(())
    }

    /// A list of and-or lists, separated by `;`, `&` and newlines, up to the
    /// first thing that ends it (returned, not consumed).
    fn list(&mut self, allow_empty: bool) -> R<Stop> {
        self.enter()?;
        let mut count = 0;
        let stop = loop {
            self.newlines()?;
            if let Some(stop) = self.stop() {
                break stop;
            }
            self.and_or()?;
            count += 1;
            if let Some(stop) = self.separator()? {
                break stop;
            }
        };
        self.leave();
        if count == 0 && !allow_empty {
            return Err(Unsure);
        }
        Ok(stop)
    }

    /// After a command of a list: a newline, `;` or `&` (consumed, `None`),
    /// or what ends the list (left, `Some`).
    fn separator(&mut self) -> R<Option<Stop>> {
        self.blanks()?;
        match self.at(0) {
            b'\n' => {}
            b';' if !matches!(self.at(1), b';' | b'&') => self.i += 1,
            b'&' if self.at(1) != b'&' => self.i += 1,
            _ => return self.stop().ok_or(Unsure).map(Some),
        }
        Ok(None)
    }

    fn and_or(&mut self) -> R<()> {
        self.pipeline()?;
        loop {
            self.blanks()?;
            let op = (self.at(0), self.at(1));
            if op != (b'&', b'&') && op != (b'|', b'|') {
                return Ok(());
            }
            self.i += 2;
            self.newlines()?;
            self.pipeline()?;
        }
    }

    fn pipeline(&mut self) -> R<()> {
        self.blanks()?;
        if self.keyword(b"!") {
            self.i += 1;
            self.blanks()?;
        }
        self.command()?;
        loop {
            self.blanks()?;
            if self.at(0) != b'|' || self.at(1) == b'|' {
                return Ok(());
            }
            if self.at(1) == b'&' {
                return Err(Unsure);
            }
            self.i += 1;
            self.newlines()?;
            self.command()?;
        }
    }

    fn command(&mut self) -> R<()> {
        self.blanks()?;
        match self.at(0) {
            b'(' => {
                if self.at(1) == b'(' {
                    return Err(Unsure);
                }
                self.i += 1;
                self.expect_list(Stop::RParen)?;
                return self.redirections();
            }
            b'<' | b'>' if self.at(1) != b'(' => return self.simple(),
            b'&' if self.at(1) == b'>' => return self.simple(),
            _ => {}
        }
        if !self.word_start() {
            return Err(Unsure);
        }
        // Every reserved word starts with one of these bytes.
        if !b"itefcswud{}![]".contains(&self.at(0)) {
            return self.simple();
        }
        if self.keyword(b"if") {
            self.i += 2;
            self.expect_list(Stop::Then)?;
            loop {
                match self.list(false)? {
                    Stop::Elif => {
                        self.consume(Stop::Elif);
                        self.expect_list(Stop::Then)?;
                    }
                    Stop::Else => {
                        self.consume(Stop::Else);
                        self.expect_list(Stop::Fi)?;
                        break;
                    }
                    Stop::Fi => {
                        self.consume(Stop::Fi);
                        break;
                    }
                    _ => return Err(Unsure),
                }
            }
        } else if self.keyword(b"while") || self.keyword(b"until") {
            self.i += 5;
            self.expect_list(Stop::Do)?;
            self.expect_list(Stop::Done)?;
        } else if self.keyword(b"for") {
            self.i += 3;
            self.for_head()?;
            self.expect_list(Stop::Done)?;
        } else if self.keyword(b"case") {
            self.i += 4;
            self.case()?;
        } else if self.keyword(b"{") {
            self.i += 1;
            self.expect_list(Stop::RBrace)?;
        } else if self.keyword(b"[[") {
            self.i += 2;
            self.cond()?;
        } else if RESERVED.iter().any(|kw| self.keyword(kw)) {
            return Err(Unsure);
        } else {
            return self.simple();
        }
        self.redirections()
    }

    /// Redirections after a compound command.
    fn redirections(&mut self) -> R<()> {
        let mut any = false;
        loop {
            self.blanks()?;
            let digits = self.scan(|c| !c.is_ascii_digit());
            let c = self.at(digits);
            let redirect = (matches!(c, b'<' | b'>') && self.at(digits + 1) != b'(')
                || (digits == 0 && c == b'&' && self.at(1) == b'>');
            if !redirect {
                // After a redirection's word, bash reads `then`, `fi`, `}`
                // and the like as words, not as reserved words:
                // `{ :; } >x fi` is an error, so it is not certain here.
                let reserved = !matches!(
                    self.stop(),
                    None | Some(Stop::Eof | Stop::RParen | Stop::CaseEnd)
                );
                return if any && reserved { Err(Unsure) } else { Ok(()) };
            }
            self.i += digits;
            self.redirect()?;
            any = true;
        }
    }

    /// One redirection operator and its word.
    fn redirect(&mut self) -> R<()> {
        let ops: [&[u8]; 12] = [
            b"<<<", b"&>>", b"<<", b"<&", b"<>", b">>", b">&", b">|", b"&>", b"<", b">", b"",
        ];
        let op = ops
            .iter()
            .find(|op| op.iter().enumerate().all(|(k, &c)| self.at(k) == c))
            .copied()
            .unwrap_or(b"");
        // Here-documents, and anything unknown, go to bash.
        if op.is_empty() || op == b"<<" {
            return Err(Unsure);
        }
        self.i += op.len();
        self.blanks()?;
        if !self.word_start() {
            return Err(Unsure);
        }
        let start = self.i;
        self.word()?;
        // A number right before `<` or `>` is a file descriptor to bash, not
        // this redirection's word: `echo hi >2>&1` is an error.
        let number = self.since(start).iter().all(u8::is_ascii_digit);
        if number && matches!(self.at(0), b'<' | b'>') {
            return Err(Unsure);
        }
        Ok(())
    }

    /// A simple command, or a function definition.
    fn simple(&mut self) -> R<()> {
        let mut first = true;
        let mut prefix = true;
        let mut redirected = false;
        let mut declaration = false;
        loop {
            self.blanks()?;
            let c = self.at(0);
            if (matches!(c, b'<' | b'>') && self.at(1) != b'(') || (c == b'&' && self.at(1) == b'>')
            {
                self.redirect()?;
                redirected = true;
                first = false;
                continue;
            }
            if !self.word_start() {
                break;
            }
            let word = self.word()?;
            if first && word.plain && is_name(word.text) {
                let back = self.i;
                self.blanks()?;
                if self.at(0) == b'(' {
                    return self.function_body();
                }
                self.i = back;
            }
            let assignment = is_assignment(word.text);
            if self.at(0) == b'(' {
                // An array assignment `NAME=(...)`, before the command name
                // or as an argument of `local` or `declare`.
                let allowed = !redirected && (prefix || declaration);
                if !(allowed && word.plain && is_assign_head(word.text)) {
                    return Err(Unsure);
                }
                self.i += 1;
                self.array()?;
                if !matches!(self.at(0), 0 | b' ' | b'\t' | b'\n' | b';') {
                    return Err(Unsure);
                }
            } else if prefix && !assignment {
                prefix = false;
                if word.reserved() {
                    return Err(Unsure);
                }
                declaration = first && (word.is(b"local") || word.is(b"declare"));
            }
            first = false;
        }
        if first {
            return Err(Unsure);
        }
        Ok(())
    }
}

mod compound;
mod cursor;
mod known;
mod words;
