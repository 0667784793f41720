//! Hand-written snippets for the in-process shell syntax check, each judged
//! by `bash -n` too, so a wrong row in the table fails as well.

use podiam::formats::shell_syntax::certainly_valid;

use crate::shell_syntax::bash_accepts;

/// Snippets `bash -n` accepts; `true` where the checker must be certain.
const VALID: &[(&str, bool)] = &[
    ("echo hi >x 2>&1\n", true),
    ("{ :; } >/dev/null 2>&1\n", true),
    ("if { true; } >/dev/null; then echo ok; fi\n", true),
    ("(echo >x)\n", true),
    ("echo ok\n", true),
    ("", true),
    ("# only a comment\n", true),
    ("set -euo pipefail\ntrap on_error ERR\n", true),
    ("f() { echo \"$1\"; }\nf x\n", true),
    ("f ( ) { :; }", true),
    ("f()\n{\n  local a=\"\" b\n  return 0\n}\n", true),
    (
        "a=(x y)\na+=(--z \"$b\")\necho \"${a[@]}\" \"${a[*]}\"\n",
        true,
    ),
    ("a=(\n# c\nx\n)", true),
    ("x=1 a=(b) cmd", true),
    ("f() { local -a a=(x y) b=(); }", true),
    ("declare a=(x)", true),
    (
        "echo \"$(printf '%q' \"$x\") ${y:-z} ${#y} ${y%/} ${y//./\\\\.}\"",
        true,
    ),
    ("echo ${w[@]+\"${w[@]}\"} ${E:+\"$E\"} ${P:-(none)}", true),
    (
        "echo \"${!a[@]}\" \"${a[$i]}\"$'\\t'\"${b[$i]}\" ${!c}",
        true,
    ),
    ("A=('k=\"a\",v=\"b\"' 'c')", true),
    ("IFS=$'\\t' read -r a b <<<\"$c\"", true),
    ("echo \"a \\\" b \\` c \\$ d\"", true),
    ("echo 'it''s' \"x\"'y'", true),
    (
        "case \"$1\" in\n  a | b) x ;;\n  -h | --help) usage; exit 0 ;;\n  *) y ;;\nesac\n",
        true,
    ),
    ("case x in a) ;; esac", true),
    ("case x in esac", true),
    ("case x in a) b; ;; esac", true),
    ("case x in\na) b\nesac", true),
    ("if a; then b; elif c; then d; else e; fi", true),
    (
        "if ! command -v x >/dev/null 2>&1; then\n  die \"no\"\nfi\n",
        true,
    ),
    ("for x in a b; do echo \"$x\"; done", true),
    ("for x in; do :; done", true),
    ("for x in a b # c\ndo :; done", true),
    ("for ((i = 1; i <= n; i++)); do echo $((i + 1)); done", true),
    ("for ((i=0;i<3;i++)) do :; done", true),
    ("while [ \"$#\" -gt 0 ]; do shift; done", true),
    ("until false; do break; done", true),
    ("[[ -n \"$x\" && ( -z y ) ]] || true", false),
    ("[[ a == b && -z c || ! d ]]", true),
    ("[[ a ]]", true),
    ("[[ ]]", false),
    ("[[ \"$a\" < b ]]", true),
    ("a && b || c | d", true),
    ("a &&\n  b ||\n  c |\n  d", true),
    ("a && # c\nb", true),
    ("a & b &", true),
    ("{ a; b; } >&2", true),
    ("( a; b ) 2>/dev/null", true),
    ("{ a;}", true),
    ("while read -r x; do :; done < <(printf '%s\\n' a)", true),
    ("cat <(case x in a) echo;; esac)", true),
    ("echo $(case x in a) echo;; esac)", true),
    ("a >x 2>>y <z &>w >|v <>u 3<&0 4>&-", true),
    ("echo a \\\n  b \\\n  c", true),
    ("echo \"multi\nline\" 'also\nthis'", true),
    ("out=\"$(\"$@\" 2>\"$f\")\" || rc=$?", true),
    ("echo $ a$ \"$\"x", false),
    ("! { a && b; }", true),
    ("echo if then fi done } {", true),
    ("echo }", true),
    ("awk '\n  /x/ { print }\n' f", true),
    ("echo $()", false),
    ("cat <<EOF\nhi\nEOF\n", false),
    ("echo `date`", false),
    ("x=1 if", false),
    ("((i++))", false),
    ("! ", false),
    ("\\", false),
    ("for do in a; do :; done", false),
    ("a=(x)y", false),
];

/// Snippets `bash -n` rejects: the checker must never call one valid.
const INVALID: &[&str] = &[
    // Found by review: a number right after a redirection is a file
    // descriptor, and a reserved word after a compound command's
    // redirection is a plain word.
    "echo hi >2>&1\n",
    "cat <2<x\n",
    "echo &>1>x\n",
    "{ :; } > 2>&1\n",
    "if { true; } >/dev/null then echo ok; fi\n",
    "while (true) 2>/dev/null do break; done\n",
    "{ (:) >x }\n",
    "if x; then fi",
    "if x; then\nfi",
    "{ }",
    "{\n}",
    "while x; do done",
    "for x in a; do done",
    "f() { }",
    "( )",
    "then",
    "fi",
    "done",
    "esac",
    "elif",
    "else",
    "do",
    "}",
    "echo a; }",
    "if x then y; fi",
    "if x; y; fi",
    "while x; y; done",
    "for x in a b; y; done",
    "case x a) ;; esac",
    "case x in a) b",
    "if x; then y",
    "echo 'abc",
    "echo \"abc",
    "echo $(abc",
    "echo ${abc",
    "echo $((1 + 2)",
    "echo \"$(echo \"a)\"",
    "(a",
    "a)",
    "{ a",
    "[[ a",
    "[[ a == b",
    "[[ a b ]]",
    "[[ -zz a ]]",
    "[[ -n ]]",
    "[[ a == ]]",
    "[[ && a ]]",
    "echo >",
    "echo > ;",
    "echo 2>&",
    "a <",
    "| a",
    "a |",
    "a &&",
    "a ||",
    "&& a",
    "; a",
    "a; ;",
    ";;",
    "a;;",
    "a\n;;",
    "{ a;; }",
    "f()",
    "f() echo",
    "f() x",
    "a | | b",
    "a && || b",
    "if a; then b; fi fi",
    "if a; then b; fi x",
    "{ a; } b",
    "echo a=(x)",
    "echo (a)",
    "a=(x",
    "a=(;)",
    "echo $(fi)",
    "echo \"$(done)\"",
    "cat <(fi)",
    "echo $(case x in a) ;; )",
    "# c \\\nfi",
    "echo \"$\\\n(fi)\"",
    "for ((i=0;i<3)); do :; done",
    "for x in a b do :; done",
    "echo a=(x)y",
    "case x in a) ;; ;; esac",
    "case x in a| ) ;; esac",
    "case x in a) ;; b",
    "a\n)",
    "echo ${a:-'x}",
    "echo \"${a[$i]\"",
    "echo ${!a",
    "`",
    "echo \"`\"",
    "x=$'abc",
];

#[test]
fn the_table_agrees_with_bash_and_the_checker_is_never_wrong() {
    let mut wrong = Vec::new();
    for &(snippet, fast) in VALID {
        if !bash_accepts(snippet) {
            wrong.push(format!("bash -n rejects the valid row {snippet:?}"));
        }
        if fast && !certainly_valid(snippet) {
            wrong.push(format!("the checker is not sure of {snippet:?}"));
        }
    }
    for &snippet in INVALID {
        if bash_accepts(snippet) {
            wrong.push(format!("bash -n accepts the invalid row {snippet:?}"));
        }
        if certainly_valid(snippet) {
            wrong.push(format!("the checker calls {snippet:?} valid"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
