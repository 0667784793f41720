//! HCL output: string escaping, and a writer that turns a JSON value into an
//! HCL object expression laid out exactly as `terraform fmt` lays it out.
//!
//! Terraform references inside a JSON value are carried as *markers*
//! ([`marker`]): a NUL, the reference's index, a NUL. No validated value can
//! hold a NUL, so a marker is never confused with user text. When a string is
//! written, each marker becomes `${expression}` (or the bare expression when
//! the marker is the whole string) and every other character is escaped.
//!
//! One reference may stand for *each element* of a list ([`Each`]): the
//! document is built with a single placeholder element, and every array of
//! strings that hold that marker is written as a `for` expression over the
//! list (wrapped in `flatten` when one element yields several items).

use std::fmt::Write;

use serde_json::Value;

/// The character that opens and closes a reference marker.
const MARK: char = '\0';

/// The marker that stands for reference number `index` inside a JSON string.
pub fn marker(index: usize) -> String {
    format!("{MARK}{index}{MARK}")
}

/// A quoted HCL string literal that Terraform reads back as exactly `value`:
/// quotes, backslashes and control characters escaped, `${` written `$${`
/// and `%{` written `%%{`, everything outside printable ASCII as `\u` escapes.
pub fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    push_literal(&mut out, value, false);
    out.push('"');
    out
}

/// Appends the escaped form of `value` for the inside of a quoted template.
/// When an interpolation follows (`before_interp`), a final `$` or `%` is
/// written as the interpolation `${"$"}` / `${"%"}`, since `$${` would read
/// as an escape (and Terraform and hcl-rs read `\u0024${` differently).
fn push_literal(out: &mut String, value: &str, before_interp: bool) {
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' | '%' if before_interp && chars.peek().is_none() => {
                let _ = write!(out, "${{\"{c}\"}}");
            }
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08X}", c as u32);
            }
        }
    }
}

/// Whether `name` is an HCL identifier that `terraform fmt` leaves bare as an object key.
pub fn is_identifier(name: &str) -> bool {
    const KEYWORDS: [&str; 6] = ["true", "false", "null", "for", "in", "if"];
    let mut chars = name.chars();
    !KEYWORDS.contains(&name)
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// One piece of a string: literal text, or a reference by index.
enum Piece<'a> {
    Text(&'a str),
    Ref(usize),
}

/// Splits a string at its markers; fails on a stray or malformed marker.
fn pieces(value: &str) -> Result<Vec<Piece<'_>>, String> {
    let parts: Vec<&str> = value.split(MARK).collect();
    if parts.len().is_multiple_of(2) {
        return Err(format!("unbalanced reference marker in {value:?}"));
    }
    parts
        .iter()
        .enumerate()
        .filter(|(i, p)| i % 2 == 1 || !p.is_empty())
        .map(|(i, p)| {
            if i % 2 == 0 {
                return Ok(Piece::Text(p));
            }
            p.parse()
                .map(Piece::Ref)
                .map_err(|_| format!("malformed reference marker in {value:?}"))
        })
        .collect()
}

/// A reference that stands for each element of a list expression.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Each {
    /// The marker index.
    pub index: usize,
    /// The `for` expression's variable name.
    pub name: String,
    /// The list expression iterated over.
    pub list: String,
}

/// Writes JSON values as HCL, resolving markers through `refs`.
pub struct Writer<'a> {
    refs: &'a [String],
    each: Option<&'a Each>,
    in_loop: bool,
}

impl<'a> Writer<'a> {
    /// A writer whose marker `i` stands for the expression `refs[i]`.
    pub fn new(refs: &'a [String]) -> Writer<'a> {
        Writer {
            refs,
            each: None,
            in_loop: false,
        }
    }

    /// The same writer, with `each.index` standing for each element of `each.list`.
    pub fn with_each(self, each: Option<&'a Each>) -> Writer<'a> {
        Writer { each, ..self }
    }

    /// `value` as an HCL expression whose first line starts at the cursor
    /// and whose later lines are indented by `indent` spaces.
    pub fn expression(&self, value: &Value, indent: usize) -> Result<String, String> {
        match value {
            Value::Null => Ok("null".into()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            Value::String(s) => self.text(s, true),
            Value::Array(items) => self.tuple(items, indent),
            Value::Object(map) => self.object(map, indent),
        }
    }

    /// A string as a quoted template; as a bare expression when `bare_ok`
    /// and the string is exactly one reference.
    fn text(&self, value: &str, bare_ok: bool) -> Result<String, String> {
        let pieces = pieces(value)?;
        if let [Piece::Ref(i)] = pieces.as_slice()
            && bare_ok
        {
            return self.reference(*i).map(str::to_owned);
        }
        let mut out = String::from("\"");
        for (n, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Text(t) => {
                    let before_interp = matches!(pieces.get(n + 1), Some(Piece::Ref(_)));
                    push_literal(&mut out, t, before_interp);
                }
                Piece::Ref(i) => {
                    let _ = write!(out, "${{{}}}", self.reference(*i)?);
                }
            }
        }
        out.push('"');
        Ok(out)
    }

    fn reference(&self, index: usize) -> Result<&str, String> {
        if let Some(each) = self.each.filter(|e| e.index == index) {
            return if self.in_loop {
                Ok(&each.name)
            } else {
                Err(format!(
                    "reference {index} stands for each element of {} but is not inside a list",
                    each.list
                ))
            };
        }
        self.refs
            .get(index)
            .map(String::as_str)
            .ok_or_else(|| format!("no expression for reference {index}"))
    }

    /// A key: bare when it is a plain identifier, otherwise a quoted template.
    fn key(&self, key: &str) -> Result<String, String> {
        if is_identifier(key) {
            Ok(key.to_owned())
        } else {
            self.text(key, false)
        }
    }

    fn tuple(&self, items: &[Value], indent: usize) -> Result<String, String> {
        let strings = items.iter().all(Value::is_string);
        if let Some(each) = self.each.filter(|_| !self.in_loop && strings) {
            let marker = marker(each.index);
            let per_element = items.iter().filter(|v| holds(v, &marker)).count();
            if per_element > 0 {
                if per_element < items.len() {
                    return Err(format!(
                        "a list mixes items per element of {} with fixed items",
                        each.list
                    ));
                }
                return self.for_expression(each, items, indent);
            }
        }
        let scalars = items.iter().all(|v| !v.is_array() && !v.is_object());
        if scalars && items.len() < 2 {
            let inner: Result<Vec<String>, String> =
                items.iter().map(|v| self.expression(v, indent)).collect();
            return Ok(format!("[{}]", inner?.join(", ")));
        }
        let pad = " ".repeat(indent + 2);
        let mut out = String::from("[\n");
        for item in items {
            let _ = writeln!(out, "{pad}{},", self.expression(item, indent + 2)?);
        }
        let _ = write!(out, "{}]", " ".repeat(indent));
        Ok(out)
    }

    /// `[for name in list : item]`, or `flatten([for name in list : [items]])`,
    /// the head and the item each on a line of their own.
    fn for_expression(
        &self,
        each: &Each,
        items: &[Value],
        indent: usize,
    ) -> Result<String, String> {
        let inner = Writer {
            in_loop: true,
            ..*self
        };
        let head = format!("for {} in {} :", each.name, each.list);
        let (pad, end) = (" ".repeat(indent + 2), " ".repeat(indent));
        match items {
            [item] => Ok(format!(
                "[\n{pad}{head}\n{pad}{}\n{end}]",
                inner.expression(item, indent + 2)?
            )),
            _ => Ok(format!(
                "flatten([\n{pad}{head}\n{pad}{}\n{end}])",
                inner.tuple(items, indent + 2)?
            )),
        }
    }

    /// An object, one item a line; `=` aligned within each run of one-line
    /// items, as `terraform fmt` does (a multi-line item ends a run).
    fn object(
        &self,
        map: &serde_json::Map<String, Value>,
        indent: usize,
    ) -> Result<String, String> {
        if map.is_empty() {
            return Ok("{}".into());
        }
        let items = map
            .iter()
            .map(|(k, v)| Ok((self.key(k)?, self.expression(v, indent + 2)?)))
            .collect::<Result<Vec<(String, String)>, String>>()?;
        let pad = " ".repeat(indent + 2);
        let mut out = String::from("{\n");
        let mut start = 0;
        while start < items.len() {
            let run = items[start..]
                .iter()
                .take_while(|(_, v)| !v.contains('\n'))
                .count()
                .max(1);
            let width = items[start..start + run]
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (key, value) in &items[start..start + run] {
                let gap = width - key.chars().count();
                let _ = writeln!(out, "{pad}{key}{} = {value}", " ".repeat(gap));
            }
            start += run;
        }
        let _ = write!(out, "{}}}", " ".repeat(indent));
        Ok(out)
    }
}

/// Whether any string in `value` (keys included) holds `marker`.
pub fn holds(value: &Value, marker: &str) -> bool {
    match value {
        Value::String(s) => s.contains(marker),
        Value::Array(items) => items.iter().any(|v| holds(v, marker)),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(marker) || holds(v, marker)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Strings no input rule would let through, and then some.
    pub const HOSTILE: [&str; 14] = [
        "${x}",
        "%{x}",
        "$${x}",
        "%%{ if true }x%{ endif }",
        "$$${x}",
        "a$",
        "a%",
        "\"quoted\" and \\backslash\\",
        "line\nbreak\r\ttab",
        "\u{202e}rtl zero\u{200b}width",
        "𝔘nicode é",
        "\u{1}\u{7f}",
        "${jsonencode(\"x\")}",
        "",
    ];

    /// Evaluates an HCL body with hcl-rs and returns attribute `a`.
    fn evaluate(body: &str) -> serde_json::Value {
        let ctx = hcl::eval::Context::new();
        hcl::eval::from_str(body, &ctx).unwrap_or_else(|e| panic!("{body}: {e}"))
    }

    #[test]
    fn hostile_strings_come_back_literally() {
        for v in HOSTILE {
            let body = format!("a = {}\n", string(v));
            assert_eq!(evaluate(&body)["a"], json!(v), "{body}");
            let parsed = hcl::parse(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
            assert_eq!(parsed.attributes().count(), 1, "{body}");
        }
    }

    #[test]
    fn hostile_strings_stay_literal_around_references() {
        let refs = ["var.x".to_owned()];
        let writer = Writer::new(&refs);
        for v in HOSTILE {
            let value = json!({ "k": format!("{v}{}{v}", marker(0)), "l": v });
            let body = format!("a = {}\n", writer.expression(&value, 0).expect("writes"));
            let parsed = hcl::parse(&body).unwrap_or_else(|e| panic!("{body}: {e}"));
            let ctx = {
                let mut ctx = hcl::eval::Context::new();
                ctx.declare_var("var", hcl::value!({ x = "X" }));
                ctx
            };
            let back: serde_json::Value = hcl::eval::from_str(&body, &ctx).expect("evaluates");
            assert_eq!(back["a"]["k"], json!(format!("{v}X{v}")), "{body}");
            assert_eq!(back["a"]["l"], json!(v), "{body}");
            assert_eq!(parsed.attributes().count(), 1);
        }
    }

    #[test]
    fn objects_are_laid_out_like_terraform_fmt() {
        let refs = ["local.p".to_owned(), "var.arn".to_owned()];
        let w = Writer::new(&refs);
        let value = json!({
            "Version": "1",
            "Statement": [{"Sid": "S", "Effect": "Allow", "Principal": {"Federated": marker(1)},
                "Action": ["a", "b"], "Condition": {"StringEquals": {format!("{}:sub", marker(0)): "x"}}}],
        });
        let expected = r#"{
  Version = "1"
  Statement = [
    {
      Sid    = "S"
      Effect = "Allow"
      Principal = {
        Federated = var.arn
      }
      Action = [
        "a",
        "b",
      ]
      Condition = {
        StringEquals = {
          "${local.p}:sub" = "x"
        }
      }
    },
  ]
}"#;
        assert_eq!(w.expression(&value, 0).expect("writes"), expected);
    }

    /// Terraform's `flatten`, for hcl-rs.
    fn flatten(args: hcl::eval::FuncArgs) -> Result<hcl::Value, String> {
        fn push(v: hcl::Value, out: &mut Vec<hcl::Value>) {
            match v {
                hcl::Value::Array(items) => items.into_iter().for_each(|i| push(i, out)),
                other => out.push(other),
            }
        }
        let mut out = Vec::new();
        args.into_values()
            .into_iter()
            .for_each(|v| push(v, &mut out));
        Ok(hcl::Value::Array(out))
    }

    #[test]
    fn each_marker_writes_for_expressions_that_evaluate_per_element() {
        let refs = ["local.p".to_owned(), "b".to_owned()];
        let each = Each {
            index: 1,
            name: "b".into(),
            list: "var.l".into(),
        };
        let w = Writer::new(&refs).with_each(Some(&each));
        let one = json!({"R": [format!("arn:{}:{}", marker(0), marker(1))]});
        let two = json!({"R": [format!("{}/x", marker(1)), format!("{}/y$", marker(1))]});
        let one_hcl = w.expression(&one, 0).expect("writes");
        let two_hcl = w.expression(&two, 0).expect("writes");
        assert_eq!(
            one_hcl,
            "{\n  R = [\n    for b in var.l :\n    \"arn:${local.p}:${b}\"\n  ]\n}"
        );
        assert_eq!(
            two_hcl,
            "{\n  R = flatten([\n    for b in var.l :\n    [\n      \"${b}/x\",\n      \"${b}/y$\",\n    ]\n  ])\n}"
        );
        let mut ctx = hcl::eval::Context::new();
        ctx.declare_var("var", hcl::value!({ l = ["B1", "B2"] }));
        ctx.declare_var("local", hcl::value!({ p = "P" }));
        let flatten_def = hcl::eval::FuncDef::builder()
            .variadic_param(hcl::eval::ParamType::Any)
            .build(flatten);
        ctx.declare_func("flatten", flatten_def);
        let back = |body: String| -> serde_json::Value {
            hcl::eval::from_str(&format!("a = {body}\n"), &ctx).expect("evaluates")
        };
        assert_eq!(back(one_hcl)["a"]["R"], json!(["arn:P:B1", "arn:P:B2"]));
        assert_eq!(
            back(two_hcl)["a"]["R"],
            json!(["B1/x", "B1/y$", "B2/x", "B2/y$"])
        );
        assert!(
            w.expression(&json!(marker(1)), 0).is_err(),
            "outside a list"
        );
        assert!(w.expression(&json!([marker(1), "x"]), 0).is_err(), "mixed");
        assert_eq!(
            Writer::new(&refs).expression(&json!([marker(1)]), 0),
            Ok("[b]".into()),
            "without each, a plain reference"
        );
    }

    #[test]
    fn stray_markers_are_refused() {
        let w = Writer::new(&[]);
        assert!(w.expression(&json!("\0x"), 0).is_err());
        assert!(w.expression(&json!("\0x\0"), 0).is_err());
        assert!(w.expression(&json!(marker(3)), 0).is_err());
        // An empty marker (two NULs in a row) is malformed, not nothing.
        let refs = ["var.x".to_owned()];
        let w = Writer::new(&refs);
        assert!(w.expression(&json!("a\0\0b"), 0).is_err());
        assert!(
            w.expression(&json!(format!("a\0\0b{}", marker(0))), 0)
                .is_err()
        );
    }

    /// Non-ASCII characters are written `\uXXXX` inside the Basic
    /// Multilingual Plane and `\UXXXXXXXX` beyond it: the short form keeps
    /// the files readable, and both evaluate back (checked above).
    #[test]
    fn escapes_use_the_short_form_inside_the_bmp() {
        assert_eq!(string("\u{202e}x"), "\"\\u202Ex\"");
        assert_eq!(string("\u{1d518}"), "\"\\U0001D518\"");
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("Version"));
        assert!(is_identifier("a_b-c9"));
        assert!(!is_identifier("9a"));
        assert!(!is_identifier("a:b"));
        assert!(!is_identifier(""));
        assert!(!is_identifier("null"));
    }
}
