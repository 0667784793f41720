//! Words for [`super`]: quoting, `$` expansions, arithmetic and `[[ ]]`.

use super::{BINARY, Parser, R, Stop, UNARY, Unsure, Word, is_ident_char, is_ident_start, is_meta};

/// Bytes that stand for themselves in a word, whatever comes next.
const PLAIN: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = b.is_ascii_alphanumeric() || b >= 0x80;
        c += 1;
    }
    let extra = b"-_./:=,+@%*?~^!{}]";
    let mut k = 0;
    while k < extra.len() {
        table[extra[k] as usize] = true;
        k += 1;
    }
    table
};

impl<'a> Parser<'a> {
    /// One word at the cursor (where `word_start` holds), through its end.
    pub(super) fn word(&mut self) -> R<Word<'a>> {
        self.enter()?;
        let start = self.i;
        let mut plain = true;
        loop {
            // A run of bytes with no meaning of their own.
            self.i += self.scan(|c| !PLAIN[usize::from(c)]);
            let c = self.at(0);
            match c {
                b'<' | b'>' if self.at(1) == b'(' => {
                    // bash joins `a<(b)` into one word; only a whole
                    // process substitution at the start of a word is handled.
                    if self.i != start || self.at(2) == b'(' {
                        return Err(Unsure);
                    }
                    self.i += 2;
                    self.expect_list(Stop::RParen)?;
                    plain = false;
                }
                _ if is_meta(c) => break,
                b'\'' => {
                    plain = false;
                    self.i += 1;
                    self.single(false)?;
                }
                b'"' => {
                    plain = false;
                    self.i += 1;
                    self.dquote()?;
                }
                b'\\' => {
                    if matches!(self.at(1), 0 | b'\n') {
                        return Err(Unsure);
                    }
                    plain = false;
                    self.i += 2;
                }
                b'$' => {
                    plain = false;
                    self.dollar(false)?;
                }
                // `name[` may start an array subscript that bash reads to
                // its `]`, blanks and all.
                b'[' if self.i > start && self.since(start).iter().all(|&c| is_ident_char(c)) => {
                    return Err(Unsure);
                }
                b'`' => return Err(Unsure),
                _ => self.i += 1,
            }
        }
        self.leave();
        Ok(Word {
            text: self.since(start),
            plain,
        })
    }

    /// The rest of `'...'` (or of `$'...'` when `escapes`), after the quote.
    fn single(&mut self, escapes: bool) -> R<()> {
        if !escapes {
            let end = self.scan(|c| c == b'\'');
            if self.at(end) != b'\'' {
                return Err(Unsure);
            }
            self.i += end + 1;
            return Ok(());
        }
        loop {
            match self.at(0) {
                0 => return Err(Unsure),
                b'\'' => {
                    self.i += 1;
                    return Ok(());
                }
                b'\\' if escapes => {
                    if matches!(self.at(1), 0 | b'\n') {
                        return Err(Unsure);
                    }
                    self.i += 2;
                }
                _ => self.i += 1,
            }
        }
    }

    /// The rest of `"..."`, after the opening quote.
    fn dquote(&mut self) -> R<()> {
        self.enter()?;
        loop {
            self.i += self.scan(|c| matches!(c, b'"' | b'\\' | b'$' | b'`'));
            match self.at(0) {
                0 | b'`' => return Err(Unsure),
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    if matches!(self.at(1), 0 | b'\n') {
                        return Err(Unsure);
                    }
                    self.i += 2;
                }
                b'$' => self.dollar(true)?,
                _ => self.i += 1,
            }
        }
        self.leave();
        Ok(())
    }

    /// A `$` and what it expands, or a literal `$`.
    fn dollar(&mut self, quoted: bool) -> R<()> {
        match self.at(1) {
            b'(' if self.at(2) == b'(' => {
                self.i += 3;
                if self.arith()? != 0 {
                    return Err(Unsure);
                }
            }
            b'(' => {
                self.i += 2;
                self.expect_list(Stop::RParen)?;
            }
            b'{' => {
                self.i += 2;
                self.brace()?;
            }
            b'\'' if !quoted => {
                self.i += 2;
                self.single(true)?;
            }
            b'\'' | b'"' | b'[' | b'`' | b'\\' => return Err(Unsure),
            c if is_ident_start(c) => {
                self.i += 2;
                while is_ident_char(self.at(0)) {
                    self.i += 1;
                }
            }
            c if c.is_ascii_digit() || b"@*#?$!-".contains(&c) => self.i += 2,
            _ => self.i += 1,
        }
        Ok(())
    }

    /// The rest of `${...}`, after `${`: a name, an optional `[@]`-style
    /// subscript, and an optional operator with its word.
    fn brace(&mut self) -> R<()> {
        self.enter()?;
        // `${#name}` (a length) and `${!name}` (indirection, or the keys of
        // an array) end right after the name and its subscript.
        let length = matches!(self.at(0), b'#' | b'!') && self.at(1) != b'}';
        if length {
            self.i += 1;
        }
        let c = self.at(0);
        if is_ident_start(c) {
            while is_ident_char(self.at(0)) {
                self.i += 1;
            }
        } else if c.is_ascii_digit() {
            while self.at(0).is_ascii_digit() {
                self.i += 1;
            }
        } else if b"@*#?$-".contains(&c) {
            self.i += 1;
        } else {
            return Err(Unsure);
        }
        if self.at(0) == b'[' {
            self.i += 1;
            if matches!(self.at(0), b'@' | b'*') {
                self.i += 1;
            } else {
                let n = self.scan(|c| !(is_ident_char(c) || c == b'$'));
                if n == 0 {
                    return Err(Unsure);
                }
                self.i += n;
            }
            if self.at(0) != b']' {
                return Err(Unsure);
            }
            self.i += 1;
        }
        let op = self.at(0);
        match op {
            b'}' => {}
            _ if length => return Err(Unsure),
            b':' => {
                self.i += 1;
                if b"-=+?".contains(&self.at(0)) {
                    self.i += 1;
                }
            }
            b'-' | b'=' | b'+' | b'?' => self.i += 1,
            b'#' | b'%' | b'^' | b',' => {
                self.i += 1;
                if self.at(0) == op {
                    self.i += 1;
                }
            }
            b'/' => {
                self.i += 1;
                if b"/#%".contains(&self.at(0)) {
                    self.i += 1;
                }
            }
            _ => return Err(Unsure),
        }
        loop {
            match self.at(0) {
                b'}' => {
                    self.i += 1;
                    break;
                }
                0 | b'\n' | b'\'' | b'`' | b'{' | b'<' | b'>' => return Err(Unsure),
                b'\\' => {
                    if matches!(self.at(1), 0 | b'\n') {
                        return Err(Unsure);
                    }
                    self.i += 2;
                }
                b'"' => {
                    self.i += 1;
                    self.dquote()?;
                }
                b'$' => self.dollar(true)?,
                _ => self.i += 1,
            }
        }
        self.leave();
        Ok(())
    }

    /// The rest of `$((...))` or `for ((...))`, after `((`, through `))`:
    /// names, numbers, operators and parentheses on one line. Returns the
    /// number of `;` outside parentheses.
    pub(super) fn arith(&mut self) -> R<usize> {
        let mut depth = 0usize;
        let mut semicolons = 0;
        loop {
            let c = self.at(0);
            match c {
                b'(' => depth += 1,
                b')' if depth == 0 => {
                    if self.at(1) != b')' {
                        return Err(Unsure);
                    }
                    self.i += 2;
                    return Ok(semicolons);
                }
                b')' => depth -= 1,
                b';' if depth == 0 => semicolons += 1,
                b'$' if is_ident_start(self.at(1)) => {}
                _ if c.is_ascii_alphanumeric() || b" \t_+-*/%<>=!&|^~?:,.".contains(&c) => {}
                _ => return Err(Unsure),
            }
            self.i += 1;
        }
    }

    /// The rest of `[[ ... ]]`, after `[[`, through `]]`: terms joined by
    /// `&&` and `||`, on one line, without parentheses or `=~`.
    pub(super) fn cond(&mut self) -> R<()> {
        loop {
            self.cond_term()?;
            self.blanks()?;
            if self.keyword(b"]]") {
                self.i += 2;
                return Ok(());
            }
            let op = (self.at(0), self.at(1));
            if op != (b'&', b'&') && op != (b'|', b'|') {
                return Err(Unsure);
            }
            self.i += 2;
        }
    }

    /// `! term`, `-op word`, `word op word` or `word`.
    fn cond_term(&mut self) -> R<()> {
        loop {
            self.blanks()?;
            if !self.keyword(b"!") {
                break;
            }
            self.i += 1;
        }
        let first = self.cond_word()?;
        if BINARY.contains(&first.text) {
            return Err(Unsure);
        }
        if first.plain
            && first.text.len() == 2
            && first.text[0] == b'-'
            && UNARY.contains(&first.text[1])
        {
            self.blanks()?;
            return self.cond_word().map(|_| ());
        }
        self.blanks()?;
        let op = (self.at(0), self.at(1));
        if self.keyword(b"]]") || op == (b'&', b'&') || op == (b'|', b'|') {
            return Ok(());
        }
        if matches!(op.0, b'<' | b'>') {
            if !matches!(op.1, b' ' | b'\t') {
                return Err(Unsure);
            }
            self.i += 1;
        } else {
            let op = self.cond_word()?;
            if !(op.plain && BINARY.contains(&op.text)) {
                return Err(Unsure);
            }
        }
        self.blanks()?;
        self.cond_word().map(|_| ())
    }

    /// One operand in `[[ ]]`: a word that is not an operator.
    fn cond_word(&mut self) -> R<Word<'a>> {
        if !self.word_start() || matches!(self.at(0), b'<' | b'>') {
            return Err(Unsure);
        }
        let word = self.word()?;
        if word.reserved() || self.at(0) == b'(' {
            return Err(Unsure);
        }
        Ok(word)
    }
}
