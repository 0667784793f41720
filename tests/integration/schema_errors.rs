//! Schema errors in plain words, on small schemas: the branch of a
//! `oneOf`/`anyOf` that fits, merged expectations, the nearest known key,
//! `not`, and the rule an error falls under.

use podiam::formats::schema_errors::explain;
use serde_json::{Value, json};

/// Every problem `instance` has under `schema`, as `at PATH: MESSAGE` lines.
fn lines(schema: &Value, instance: &Value) -> Vec<String> {
    let validator = jsonschema::validator_for(schema).expect("schema compiles");
    validator
        .iter_errors(instance)
        .flat_map(|e| explain(schema, &e))
        .map(|p| p.to_string())
        .collect()
}

fn assert_lines(schema: &Value, instance: &Value, want: &[&str]) {
    let got = lines(schema, instance);
    assert_eq!(got, want, "{instance}");
    for line in &got {
        assert!(!line.contains("oneOf") && !line.contains("anyOf"), "{line}");
    }
}

#[test]
fn a_failed_one_of_reports_the_errors_of_the_branch_of_the_values_type() {
    let schema = json!({"properties": {"x": {"oneOf": [
        {"type": "string"},
        {"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false}
    ]}}});
    assert_lines(
        &schema,
        &json!({"x": {"a": "1", "b": 2}}),
        &[
            "at /x/a: must be an integer, found \"1\"",
            "at /x/b: unexpected key \"b\" (allowed keys here: a)",
        ],
    );
}

#[test]
fn a_failed_one_of_follows_the_discriminator() {
    let schema = json!({"oneOf": [
        {"properties": {"kind": {"const": "A"}, "deep": {"properties": {"er": {"type": "string"}}}}},
        {"required": ["y"], "properties": {"kind": {"const": "B"}}}
    ]});
    assert_lines(
        &schema,
        &json!({"kind": "B", "deep": {"er": 1}}),
        &["at /: missing required key \"y\""],
    );
}

#[test]
fn branches_that_each_want_another_value_are_listed_together() {
    let schema = json!({"anyOf": [
        {"type": "string"}, {"enum": ["ALL", "BUILD"]}, {"type": "boolean"}
    ]});
    assert_lines(
        &schema,
        &json!(5),
        &["at /: must be a string, one of \"ALL\", \"BUILD\" or true or false, found 5"],
    );
}

#[test]
fn an_unexpected_key_gets_the_nearest_known_one() {
    let schema = json!({"properties": {"mode": {}, "source": {}, "store": {}},
                        "additionalProperties": false});
    assert_lines(
        &schema,
        &json!({"mdoe": 1, "zzz": 2}),
        &[
            "at /mdoe: unexpected key \"mdoe\" (did you mean \"mode\"?)",
            "at /zzz: unexpected key \"zzz\" (allowed keys here: mode, source, store)",
        ],
    );
}

#[test]
fn patterns_and_nots_say_what_they_mean_and_the_rule_is_named() {
    let schema = json!({
        "allOf": [{"$ref": "#/$defs/rule"}],
        "$defs": {"rule": {
            "title": "podiam rule r",
            "description": "why it matters",
            "properties": {
                "name": {"type": "string", "description": "a lower-case name", "pattern": "^[a-z]+$"},
                "meta": {"not": {"description": "a generated name", "required": ["generateName"]}}
            }
        }}
    });
    assert_lines(
        &schema,
        &json!({"name": "Bad", "meta": {"generateName": "x-"}}),
        &[
            "at /name: must be a lower-case name, found \"Bad\" (podiam rule r: why it matters)",
            "at /meta: must not have a generated name (podiam rule r: why it matters)",
        ],
    );
}

#[test]
fn a_bad_key_is_named_with_its_path() {
    let schema =
        json!({"propertyNames": {"description": "a variable name", "pattern": "^[A-Z_]+$"}});
    assert_lines(
        &schema,
        &json!({"a/b": 1}),
        &["at /a~1b: key \"a/b\": must be a variable name"],
    );
}
