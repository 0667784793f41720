//! A fixed corpus of hostile and strange values, tried in every field.
//!
//! The fixed values live in tests/data/hostile-corpus.json (a JSON array of
//! strings), which the conformance suite reads too
//! (tests/conformance/check-15-yaml-1-1.sh: the bundles must mean the same
//! to a YAML 1.1 parser). The two huge values are computed here, not stored;
//! the conformance part computes the same two.

/// The stored values, in order.
const STORED: &str = include_str!("../data/hostile-corpus.json");

/// At least 60 values: quotes, substitutions, separators, control
/// characters, YAML and JSON specials, Unicode tricks, huge and path-like.
pub fn values() -> Vec<String> {
    let mut v: Vec<String> = serde_json::from_str(STORED)
        .expect("tests/data/hostile-corpus.json is a JSON array of strings");
    v.push("a".repeat(10_000));
    v.push("é".repeat(10_000));
    v
}
