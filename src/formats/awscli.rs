//! AWS CLI shorthand syntax for structure arguments, such as
//! `--tags Key="team",Value="ml"`: the same syntax in AWS CLI v1 and v2.
//!
//! Each value is written double-quoted with every `"` written `\"`, which
//! awscli's shorthand parser (`"(?:\\"|[^"])*"`, then `\"` -> `"`) reads
//! back as the value. A backslash is refused: parsers differ on it (a value
//! ending in `\` swallows the closing quote in awscli 1.36), and so are
//! control characters. The result is one shell word's text: pass it through
//! the `shell` filter.

/// One shorthand value: `"…"` with `"` escaped; `\` and control characters refused.
pub fn value(text: &str) -> Result<String, String> {
    if text.chars().any(char::is_control) {
        return Err("a control character cannot be written into an AWS CLI shorthand value".into());
    }
    if text.contains('\\') {
        return Err("a backslash cannot be written into an AWS CLI shorthand value (CLI versions read it differently)".into());
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// A tag as one shorthand structure: `Key="k",Value="v"`.
pub fn tag(key: &str, val: &str) -> Result<String, String> {
    Ok(format!("Key={},Value={}", value(key)?, value(val)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// awscli 1.36's reading of a double-quoted shorthand value at the start
    /// of `text` (shorthand.py `_DOUBLE_QUOTED` and `_consume_quoted`): the
    /// regex `"(?:\\"|[^"])*"` (greedy), then `\"` -> `"` and `\\` -> `\`.
    /// Returns the value and what follows it.
    fn cli_reads(text: &str) -> Option<(String, &str)> {
        let bytes = text.as_bytes();
        if bytes.first() != Some(&b'"') {
            return None;
        }
        let mut i = 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if bytes.get(i + 1) == Some(&b'"') => i += 2,
                b'"' => {
                    let inner = &text[1..i];
                    let value = inner.replace("\\\"", "\"").replace("\\\\", "\\");
                    return Some((value, &text[i + 1..]));
                }
                _ => i += 1,
            }
        }
        None
    }

    #[test]
    fn hostile_values_read_back_unchanged() {
        for v in [
            "ml",
            "a b",
            "k=v,Key=x",
            "\"",
            "end\"",
            "\"\"",
            "'single'",
            "$(id)`x`",
            "[a, b]",
            "{x}",
            "file://etc/passwd",
            "",
            "ünï",
        ] {
            let quoted = value(v).expect("value");
            let pair = format!("{quoted},Value=\"next\"");
            assert_eq!(
                cli_reads(&pair),
                Some((v.to_owned(), ",Value=\"next\"")),
                "{pair}"
            );
        }
    }

    #[test]
    fn tags_are_key_value_structures_and_the_rest_is_refused() {
        assert_eq!(tag("team", "ml"), Ok("Key=\"team\",Value=\"ml\"".into()));
        for bad in ["a\nb", "a\0b", "\r", "end\\", "a\\\"b"] {
            assert!(value(bad).is_err(), "{bad:?}");
        }
    }
}
