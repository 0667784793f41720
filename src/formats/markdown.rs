//! Parse-back for Markdown: the document starts with a heading, every code
//! fence is closed, and no template syntax is left over.

use crate::error::Problem;

/// Every problem found in `text`; empty means the document is good.
pub fn check(text: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    if !text.starts_with("# ") {
        problems.push(problem(
            "the document does not start with a '# ' heading".into(),
        ));
    }
    if let Some(leftover) = template_leftover(text) {
        problems.push(problem(leftover));
    }
    if let Err(message) = fences_balanced(text) {
        problems.push(problem(message));
    }
    problems
}

fn problem(message: String) -> Problem {
    Problem {
        path: String::new(),
        message,
    }
}

/// Names the first line holding Tera syntax (`{{` or `{%`), if any.
pub fn template_leftover(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let (at, _) = text
        .match_indices('{')
        .find(|(i, _)| matches!(bytes.get(i + 1), Some(b'{' | b'%')))?;
    let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
    Some(format!("line {line}: template syntax left in the output"))
}

/// A code fence line: the fence character and its length.
fn fence(line: &str) -> Option<(char, usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let c = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = rest.chars().take_while(|x| *x == c).count();
    (len >= 3).then(|| (c, len, &rest[len..]))
}

/// Checks that every fenced code block (CommonMark rules) is closed.
pub fn fences_balanced(text: &str) -> Result<(), String> {
    let mut open: Option<(char, usize, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let Some((c, len, after)) = fence(line) else {
            continue;
        };
        match open {
            None if c == '`' && after.contains('`') => {
                return Err(format!(
                    "line {}: a backtick fence's info string holds a backtick",
                    i + 1
                ));
            }
            None => open = Some((c, len, i + 1)),
            Some((oc, olen, _)) if c == oc && len >= olen && after.trim().is_empty() => {
                open = None;
            }
            Some(_) => {}
        }
    }
    match open {
        Some((_, _, line)) => Err(format!("line {line}: code fence never closed")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_leftover_is_named_by_its_line() {
        let named = |t: &str| {
            template_leftover(t).map(|m| m.replace(": template syntax left in the output", ""))
        };
        assert_eq!(named("{{ x }}\n"), Some("line 1".to_owned()));
        assert_eq!(named("a { b\n\nc {% if %}\n"), Some("line 3".to_owned()));
        assert_eq!(named("a\n{\n{ {\n"), None);
        assert_eq!(named("one\ntwo {{\n"), Some("line 2".to_owned()));
    }

    #[test]
    fn balanced_fences_pass_and_open_ones_fail() {
        assert_eq!(check("# T\n\n```bash\necho\n```\n"), Vec::new());
        assert_eq!(check("# T\n\n````\n```\n````\n"), Vec::new());
        assert!(!check("# T\n\n```bash\necho\n").is_empty());
        assert!(!check("# T\n\n````\n```\n").is_empty());
        assert!(!check("# T\n\n``` a`b\n```\n").is_empty());
    }

    #[test]
    fn headings_and_leftovers_are_checked() {
        assert!(!check("no heading\n").is_empty());
        assert!(!check("# T\n{{ bucket }}\n").is_empty());
        assert!(!check("# T\n{% if x %}\n").is_empty());
    }
}
