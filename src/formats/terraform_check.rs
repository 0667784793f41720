//! Parse-back of Terraform files: hcl-rs parses the HCL, and the body is
//! turned into a JSON value (blocks by type and labels, expressions as their
//! HCL text) for the `terraform` JSON Schema.

use hcl::{Block, Body, Expression, Structure};
use serde_json::{Map, Value};

/// Parses `text` as HCL and returns its JSON view.
pub fn document(text: &str) -> Result<Value, String> {
    let body: Body = hcl::parse(text).map_err(|e| format!("not valid HCL: {e}"))?;
    Ok(body_value(&body))
}

/// A body as `{"attr": "<expr>", "block_type": [{"labels": [...], "body": {...}}]}`.
fn body_value(body: &Body) -> Value {
    let mut map = Map::new();
    for structure in body.iter() {
        match structure {
            Structure::Attribute(attr) => {
                map.insert(attr.key.to_string(), expression(&attr.expr));
            }
            Structure::Block(block) => {
                let entry = map
                    .entry(block.identifier.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = entry {
                    items.push(block_value(block));
                }
            }
        }
    }
    Value::Object(map)
}

fn block_value(block: &Block) -> Value {
    let labels = block
        .labels
        .iter()
        .map(|l| Value::String(l.as_str().to_owned()))
        .collect();
    serde_json::json!({ "labels": Value::Array(labels), "body": body_value(&block.body) })
}

/// An expression: literals as JSON, everything else as its HCL text.
fn expression(expr: &Expression) -> Value {
    match expr {
        Expression::Null => Value::Null,
        Expression::Bool(b) => Value::Bool(*b),
        Expression::String(s) => Value::String(s.clone()),
        other => Value::String(hcl::format::to_string(other).unwrap_or_default()),
    }
}
