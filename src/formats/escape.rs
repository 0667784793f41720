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
    refuse_breaks(value, "a one-line comment")?;
    Ok(value.to_owned())
}

/// Markdown text that renders as exactly this string, on one line.
///
/// Every ASCII punctuation character that can start Markdown syntax is
/// backslash-escaped (CommonMark allows a backslash before any ASCII
/// punctuation); `/:@,.=+-` stay bare inside the text, where they are inert,
/// and are escaped as the first character, where they could start a list or
/// a heading underline, and after leading digits (`1.` starts a list). Line breaks and NUL are refused.
pub fn md(value: &str) -> Result<String, String> {
    refuse_breaks(value, "Markdown text")?;
    let mut out = String::with_capacity(value.len() * 2);
    let mut digits_only = true;
    for (i, c) in value.chars().enumerate() {
        // "1." or "1)" at the start of a line begins an ordered list.
        let list_marker = digits_only && i > 0 && ".)".contains(c);
        let inert = "/:@,.=+-".contains(c) && i > 0 && !list_marker;
        if c.is_ascii_punctuation() && !inert {
            out.push('\\');
        }
        digits_only &= c.is_ascii_digit();
        out.push(c);
    }
    Ok(out)
}

/// A Markdown code span that renders as exactly this string.
///
/// The fence is one backtick longer than the longest run of backticks in the
/// value; a space pads each side when the value starts or ends with a
/// backtick or a space (CommonMark strips one such space from each side).
pub fn md_code(value: &str) -> Result<String, String> {
    refuse_breaks(value, "a Markdown code span")?;
    if value.is_empty() {
        return Err("an empty value cannot be written as a Markdown code span".into());
    }
    let fence = "`".repeat(longest_run(value, '`') + 1);
    let pad = value.starts_with(['`', ' ']) || value.ends_with(['`', ' ']);
    let space = if pad { " " } else { "" };
    Ok(format!("{fence}{space}{value}{space}{fence}"))
}

/// A fenced Markdown code block holding exactly `text`, tagged `lang`.
///
/// The fence is longer than any run of backticks in the text, so no line of
/// the text can close it.
pub fn fenced(text: &str, lang: &str) -> Result<String, String> {
    if !lang.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("code block language {lang:?} is not alphanumeric"));
    }
    let fence = "`".repeat((longest_run(text, '`') + 1).max(3));
    let body = text.strip_suffix('\n').unwrap_or(text);
    Ok(format!("{fence}{lang}\n{body}\n{fence}"))
}

/// The length in bytes of the longest run of `c` in `value`, in one pass
/// (splitting at every other character made an empty piece per character).
fn longest_run(value: &str, c: char) -> usize {
    let (mut run, mut longest) = (0, 0);
    for x in value.chars() {
        run = if x == c { run + c.len_utf8() } else { 0 };
        longest = longest.max(run);
    }
    longest
}

fn refuse_breaks(value: &str, what: &str) -> Result<(), String> {
    if value.contains(LINE_BREAKS) || value.contains('\0') {
        return Err(format!("a line break or NUL cannot be written into {what}"));
    }
    Ok(())
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

    /// YAML 1.1's booleans and nulls (yaml.org/type/bool.html and
    /// null.html), which a 1.1 loader such as PyYAML turns into `true`,
    /// `false` or `None` when they stand plain; serde_yaml (1.2) would not
    /// notice, so each must come out quoted.
    #[test]
    fn yaml_quotes_every_yaml_1_1_boolean_and_null() {
        let words = [
            "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
        ];
        for word in words {
            let upper = word.to_ascii_uppercase();
            let title = format!("{}{}", &upper[..1], &word[1..]);
            for variant in [word.to_owned(), upper, title] {
                let scalar = yaml(&variant);
                assert_eq!(
                    scalar,
                    format!("\"{variant}\""),
                    "{variant:?} must be quoted"
                );
            }
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

    /// A glob that matches nothing stays as written, so the round trip above
    /// cannot see an unquoted `*`; here every pattern has files to match.
    #[test]
    fn shell_words_do_not_glob_or_expand_a_tilde() {
        let dir = tempfile::tempdir().expect("tempdir");
        for file in ["ab", "axb", "a-b", "abc"] {
            std::fs::write(dir.path().join(file), "").expect("file");
        }
        for v in [
            "a*b", "a?b", "a[x-]b", "ab*", "*", "?", "~", "~root", "a{b,c}",
        ] {
            let script = format!("printf '%s' {}", shell(v).expect(v));
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(&script)
                .current_dir(dir.path())
                .output()
                .expect("bash");
            assert_eq!(String::from_utf8_lossy(&out.stdout), v, "{script}");
        }
    }

    #[test]
    fn comments_refuse_line_breaks() {
        assert!(comment("ok value").is_ok());
        for v in ["a\nb", "a\rb", "a\u{2028}b", "a\u{85}b", "a\0b"] {
            assert!(comment(v).is_err(), "{v:?}");
        }
    }

    /// Renders `markdown` and returns (text of the first paragraph, code spans, code blocks).
    fn rendered(markdown: &str) -> (String, Vec<String>, Vec<String>) {
        use pulldown_cmark::{Event, Parser, Tag, TagEnd};
        let (mut text, mut codes, mut blocks) = (String::new(), Vec::new(), Vec::new());
        let mut in_block = false;
        for event in Parser::new(markdown) {
            match event {
                Event::Start(Tag::CodeBlock(_)) => {
                    in_block = true;
                    blocks.push(String::new());
                }
                Event::End(TagEnd::CodeBlock) => in_block = false,
                Event::Text(t) if in_block => blocks.last_mut().expect("block").push_str(&t),
                Event::Text(t) => text.push_str(&t),
                Event::Code(c) => codes.push(c.to_string()),
                Event::Html(h) | Event::InlineHtml(h) => text.push_str(&format!("<html:{h}>")),
                _ => {}
            }
        }
        (text, codes, blocks)
    }

    const MD_HOSTILE: [&str; 15] = [
        "*emph* _u_ **b**",
        "[link](http://x)",
        "<script>alert(1)</script>",
        "# heading",
        "- item",
        "1. item",
        "12) item",
        "+ plus",
        "=== ",
        "a | b",
        "`code` ``two``",
        "\\*",
        "&amp; &lt;",
        "![img](x)",
        "~~strike~~",
    ];

    #[test]
    fn md_text_renders_as_the_value() {
        for v in MD_HOSTILE
            .iter()
            .copied()
            .chain(["my-bucket", "a+b=c,d.e@f_g-h", "-x"])
        {
            let doc = format!("{}\n", md(v).expect(v));
            let (text, codes, _) = rendered(&doc);
            assert_eq!(text, v.trim_end(), "{doc}");
            assert!(codes.is_empty(), "{doc}");
        }
        assert!(md("a\nb").is_err());
        assert_eq!(md("my-bucket").expect("ok"), "my-bucket");
    }

    /// Reviewers read the Markdown source too: punctuation that cannot
    /// start syntax stays bare, and a list marker is escaped only after
    /// leading digits.
    #[test]
    fn md_escapes_only_what_could_start_syntax() {
        for (value, source) in [
            ("my-bucket.example.com", "my-bucket.example.com"),
            ("v1.2", "v1.2"),
            ("team-a/prefix:x@y,z=w+1", "team-a/prefix:x@y,z=w+1"),
            ("12. item", "12\\. item"),
            ("3) item", "3\\) item"),
            ("1a.b", "1a.b"),
            (".hidden", "\\.hidden"),
        ] {
            assert_eq!(md(value).expect(value), source, "{value:?}");
        }
    }

    /// Non-ASCII characters are escaped as `\uXXXX` inside the Basic
    /// Multilingual Plane and `\UXXXXXXXX` beyond it: the short form keeps
    /// the files readable, and both parse back (checked above).
    #[test]
    fn yaml_escapes_use_the_short_form_inside_the_bmp() {
        assert_eq!(yaml("\u{202e}evil"), "\"\\u202Eevil\"");
        assert_eq!(yaml("\u{1d518}"), "\"\\U0001D518\"");
    }

    #[test]
    fn md_code_spans_render_as_the_value() {
        for v in MD_HOSTILE
            .iter()
            .copied()
            .chain(["`", "``a``", " x", "x`", "a+b=c,d.e@f_g-h"])
        {
            let doc = format!("see {}\n", md_code(v).expect(v));
            let (_, codes, _) = rendered(&doc);
            assert_eq!(codes, vec![v.to_owned()], "{doc}");
        }
        assert!(md_code("a\nb").is_err());
        assert!(md_code("").is_err());
    }

    #[test]
    fn fenced_blocks_hold_the_text_and_cannot_be_closed_early() {
        for text in ["echo hi", "```\nrm -rf /\n```", "````x\n~~~\n", "a\n\n\nb"] {
            let doc = format!("{}\n\nafter\n", fenced(text, "bash").expect(text));
            let (after, _, blocks) = rendered(&doc);
            let body = text.strip_suffix('\n').unwrap_or(text);
            assert_eq!(blocks, vec![format!("{body}\n")], "{doc}");
            assert_eq!(after, "after", "{doc}");
        }
        assert!(fenced("x", "ba sh").is_err());
    }
}
