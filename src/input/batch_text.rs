//! A batch params file's text cut into its targets, so that a file of
//! 10,000 targets is parsed one target at a time instead of as one
//! document (whose parser events alone took 13 MB for 10,000 targets, and
//! 45 MB for a batch's own `params.yaml`).
//!
//! Only the plain block form is cut: a `targets:` line at the left margin,
//! then one `- ` item per target at one indentation. Anything else (JSON,
//! flow style, a comment on the `targets:` line, document markers, tabs in
//! an indentation) gives `None`, and the caller parses the whole document
//! as before. The caller also falls back when any piece fails to parse on
//! its own (an alias of an anchor in another target, a quoted scalar cut in
//! two), so a file means the same either way: a line starting at the items'
//! indentation with `- ` ends every plain or block scalar of the item before
//! it, and whatever it does not end (a quoted or flow one) leaves that item
//! unparseable.

/// A batch file's text, cut: everything but the targets (the `defaults:`
/// and any other top-level key, for the schema to judge, with an empty
/// `targets:` in its place), and each target's lines as written.
#[derive(Debug, PartialEq, Eq)]
pub struct Cut {
    /// The lines outside the targets, `targets:` itself included: parsed
    /// alone, it must give a mapping whose `targets` is empty, or something
    /// before the list (an open quote or bracket) runs into it.
    pub rest: String,
    /// Each target's lines, its `- ` line first.
    pub items: Vec<String>,
}

/// How a line of the `targets:` list reads.
enum Line {
    /// Blank, or a comment alone.
    Blank,
    /// A `- ` item at this indentation.
    Item(usize),
    /// Anything else at this indentation.
    Other(usize),
}

fn classify(line: &str) -> Option<Line> {
    let body = line.trim_end_matches(['\n', '\r']);
    let indent = body.len() - body.trim_start_matches(' ').len();
    let rest = &body[indent..];
    if rest.starts_with('\t') {
        return None;
    }
    if rest.trim().is_empty() || rest.starts_with('#') {
        return Some(Line::Blank);
    }
    if rest == "-" || rest.starts_with("- ") {
        return Some(Line::Item(indent));
    }
    Some(Line::Other(indent))
}

/// `text` cut into targets, or `None` when it is not in the plain block
/// form (see the module's documentation).
pub fn cut(text: &str) -> Option<Cut> {
    let mut cutter = Cutter::default();
    let mut items = Vec::new();
    for line in text.split_inclusive('\n') {
        items.extend(cutter.push(line)?);
    }
    let (rest, last) = cutter.finish()?;
    items.extend(last);
    Some(Cut { rest, items })
}

/// Where a [`Cutter`] is in the file.
#[derive(Debug, Default, PartialEq, Eq)]
enum Part {
    /// Before the `targets:` line.
    #[default]
    Head,
    /// In the list.
    List,
    /// After it: top-level lines again.
    Tail,
}

/// [`cut`], a line at a time, so that a file can be cut as it is read and
/// each target handled as soon as its lines end.
#[derive(Debug, Default)]
pub struct Cutter {
    part: Part,
    rest: String,
    /// The items' indentation, once the first item is seen.
    indent: Option<usize>,
    /// The lines of the item being read (and any blank lines before it).
    item: String,
}

impl Cutter {
    /// Takes the next line, its newline included: the item it ended, if
    /// any, or `None` (the outer one) when the text is not in the plain
    /// block form.
    pub fn push(&mut self, line: &str) -> Option<Option<String>> {
        // An anchor could be defined again in another piece, and an alias
        // resolve differently there; a byte-order mark reads differently
        // alone.
        if line.contains(['&', '\u{feff}']) || line.starts_with("---") || line.starts_with("...") {
            return None;
        }
        match self.part {
            Part::Head if line.trim_end_matches([' ', '\t', '\r', '\n']) == "targets:" => {
                self.rest.push_str("targets:\n");
                self.part = Part::List;
            }
            Part::Head | Part::Tail => self.rest.push_str(line),
            Part::List => return self.list_line(line),
        }
        Some(None)
    }

    fn list_line(&mut self, line: &str) -> Option<Option<String>> {
        let mut ended = None;
        match (classify(line)?, self.indent) {
            (Line::Blank, _) => {}
            (Line::Item(i), None) => self.indent = Some(i),
            (Line::Item(i), Some(k)) if i == k => ended = Some(std::mem::take(&mut self.item)),
            (Line::Item(i) | Line::Other(i), Some(k)) if i > k => {}
            (Line::Other(0), Some(_)) => {
                self.rest.push_str(line);
                self.part = Part::Tail;
                return Some(Some(std::mem::take(&mut self.item)));
            }
            _ => return None,
        }
        self.item.push_str(line);
        Some(ended)
    }

    /// Whether the list has ended and top-level lines follow it (which
    /// belong to the rest: it is complete only at the end).
    pub fn in_tail(&self) -> bool {
        self.part == Part::Tail
    }

    /// The rest, once the list has started and while nothing follows it.
    pub fn head(&self) -> Option<&str> {
        (self.part == Part::List).then_some(self.rest.as_str())
    }

    /// The rest and the last item (`None` when a top-level line ended the
    /// list: [`Cutter::push`] handed the item out then), or `None` when
    /// there was no list.
    pub fn finish(self) -> Option<(String, Option<String>)> {
        self.indent?;
        match self.part {
            Part::Tail => Some((self.rest, None)),
            _ => Some((self.rest, Some(self.item))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_batch_is_cut_target_by_target() {
        let text = "# top\ndefaults:\n  region: us-west-2\ntargets:\n  - name: a\n    bucket: x\n\n  # between\n  - name: b\n    bucket:\n      - y\n      - z\nextra: 1\n";
        let cut = cut(text).expect("cut");
        assert_eq!(
            cut.rest,
            "# top\ndefaults:\n  region: us-west-2\ntargets:\nextra: 1\n"
        );
        assert_eq!(
            cut.items,
            vec![
                "  - name: a\n    bucket: x\n\n  # between\n",
                "  - name: b\n    bucket:\n      - y\n      - z\n"
            ]
        );
    }

    #[test]
    fn items_at_the_margin_are_cut_too() {
        let cut = cut("targets:\n- name: a\n  bucket: x\n- name: b\n").expect("cut");
        assert_eq!(cut.rest, "targets:\n");
        assert_eq!(cut.items, vec!["- name: a\n  bucket: x\n", "- name: b\n"]);
    }

    #[test]
    fn other_forms_are_left_whole() {
        for text in [
            "{\"targets\": [{\"name\": \"a\"}]}",
            "targets: [{name: a}]\n",
            "targets: # list\n  - name: a\n",
            "targets:\n",
            "targets:\n  # none\n",
            "---\ntargets:\n  - name: a\n",
            "targets:\n  - name: a\n...\n",
            "targets:\n  - name: a\nextra: 1\n---\n",
            "targets:\n  - name: a\nextra: 1\n...\n",
            "targets:\n  - name: a\n \tbucket: x\n",
            "targets:\n    - name: a\n  - name: b\n",
            "targets:\n  - name: a\n  bucket: x\n",
            "targets:\u{a0}\n  - name: a\n",
            "\u{feff}targets:\n  - name: a\n",
            "defaults: &d {}\ntargets:\n  - name: a\n",
        ] {
            assert_eq!(cut(text), None, "{text:?}");
        }
    }
}
