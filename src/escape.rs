//! Escaping for every language podiam writes, exposed as Tera filters.
//!
//! Input rules come first; these functions are the second wall: each one
//! must produce a correct literal for *any* string, whatever validation let
//! through, or refuse it when the target language cannot hold it.

use std::fmt::Write;

/// Characters that end a line somewhere (YAML 1.1, shells, editors).
const LINE_BREAKS: [char; 5] = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];

/// A JSON value pretty-printed with two-space indentation.
pub fn json(value: &serde_json::Value) -> Result<String, String> {
    serde_json::to_string_pretty(value).map_err(|e| e.to_string())
}

/// A YAML scalar that every YAML 1.1 and 1.2 loader reads back as this exact string.
///
/// Plain when the string cannot be mistaken for anything else (starts with a
/// letter or `/`, uses only `[A-Za-z0-9_./@-]`, is not a YAML 1.1 boolean or null);
/// otherwise double-quoted, with everything outside printable ASCII escaped.
pub fn yaml(value: &str) -> String {
    if is_plain_yaml(value) {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

fn is_plain_yaml(value: &str) -> bool {
    const SPECIAL: [&str; 11] = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf",
    ];
    let first_letter = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/');
    let safe_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./@-".contains(c));
    first_letter && safe_chars && !SPECIAL.contains(&value.to_ascii_lowercase().as_str())
}

/// A POSIX shell word that expands to exactly this string.
///
/// Left bare when it holds only `[A-Za-z0-9_./:@=+,-]`, otherwise wrapped in
/// single quotes with each `'` written as `'\''`. NUL cannot appear in a shell
/// word, so it is refused.
pub fn shell(value: &str) -> Result<String, String> {
    if value.contains('\0') {
        return Err("a NUL character cannot be written into a shell script".into());
    }
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@=+,-".contains(c));
    if bare {
        return Ok(value.to_owned());
    }
    Ok(format!("'{}'", value.replace('\'', r"'\''")))
}

/// Text for the inside of a one-line comment: refused if it would break the line.
pub fn comment(value: &str) -> Result<String, String> {
    if value.contains(LINE_BREAKS) || value.contains('\0') {
        return Err("a line break or NUL cannot be written into a one-line comment".into());
    }
    Ok(value.to_owned())
}

/// A Markdown code span that shows exactly this string: the fence is one
/// backtick longer than the longest run of backticks inside, and padded
/// with spaces when the value starts or ends with a backtick. Line breaks,
/// which a code span would fold, are refused.
pub fn markdown_code(value: &str) -> Result<String, String> {
    if value.contains(LINE_BREAKS) || value.contains('\0') {
        return Err("a line break or NUL cannot be shown in a Markdown code span".into());
    }
    let longest = value.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') || value.is_empty() {
        " "
    } else {
        ""
    };
    Ok(format!("{fence}{pad}{value}{pad}{fence}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: [&str; 16] = [
        "yes",
        "No",
        "null",
        "~",
        "a: b",
        "#x",
        "&a",
        "*a",
        "!!str",
        "'\"",
        "line\nbreak",
        "tab\tcr\r",
        "\u{202e}rtl",
        "zero\u{200b}width",
        "𝔘nicode",
        "-leading",
    ];

    #[test]
    fn yaml_scalars_round_trip_as_strings() {
        for v in
            HOSTILE
                .iter()
                .copied()
                .chain(["12", "1:30", "0x1F", "1e3", ".inf", "2026-01-01", ""])
        {
            let doc = format!("key: {}\n", yaml(v));
            let back: serde_yaml::Value = serde_yaml::from_str(&doc).expect(&doc);
            assert_eq!(back["key"].as_str(), Some(v), "{doc}");
        }
    }

    #[test]
    fn yaml_keeps_simple_names_plain() {
        assert_eq!(yaml("my-bucket"), "my-bucket");
        assert_eq!(yaml("NO_UPLOAD"), "NO_UPLOAD");
        assert_eq!(yaml("a:b"), "\"a:b\"");
        assert_eq!(yaml("yes"), "\"yes\"");
        assert_eq!(yaml("123"), "\"123\"");
    }

    #[test]
    fn shell_words_survive_bash() {
        for v in
            HOSTILE
                .iter()
                .copied()
                .chain(["$(id)", "`id`", "${HOME}", "a;b && c | d", "it's", ""])
        {
            let script = format!("printf '%s' {}", shell(v).expect(v));
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(&script)
                .output()
                .expect("bash");
            assert_eq!(String::from_utf8_lossy(&out.stdout), v, "{script}");
        }
        assert!(shell("a\0b").is_err());
    }

    #[test]
    fn markdown_code_spans_hold_backticks() {
        assert_eq!(markdown_code("my-bucket"), Ok("`my-bucket`".into()));
        assert_eq!(markdown_code("a`b"), Ok("``a`b``".into()));
        assert_eq!(markdown_code("`x`"), Ok("`` `x` ``".into()));
        assert_eq!(markdown_code("a``b"), Ok("```a``b```".into()));
        assert!(markdown_code("a\nb").is_err());
    }

    #[test]
    fn comments_refuse_line_breaks() {
        assert!(comment("ok value").is_ok());
        for v in ["a\nb", "a\rb", "a\u{2028}b", "a\u{85}b", "a\0b"] {
            assert!(comment(v).is_err(), "{v:?}");
        }
    }
}
