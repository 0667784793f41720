//! The words podiam uses for IAM documents: actions, principals and
//! conditions as Markdown, every value escaped with
//! [`md_code`](crate::formats::escape::md_code). Shared by `podiam explain`
//! and the runbook, so both say the same thing the same way.

use serde_json::Value;

use crate::formats::escape::md_code as markdown_code;

/// What an IAM action lets a pod do, in words.
pub const ACTION_WORDS: &[(&str, &str)] = &[
    ("s3:ListBucket", "list the names of objects in the bucket"),
    ("s3:GetBucketLocation", "read which region the bucket is in"),
    ("s3:GetObject", "read (download) objects"),
    (
        "s3:PutObject",
        "write objects: upload new ones and overwrite existing ones",
    ),
    ("s3:DeleteObject", "delete objects"),
    (
        "s3:AbortMultipartUpload",
        "abort unfinished multipart uploads",
    ),
    (
        "kms:Decrypt",
        "decrypt data with the KMS key (to read encrypted objects)",
    ),
    (
        "kms:GenerateDataKey",
        "create data keys with the KMS key (to write encrypted objects)",
    ),
    ("sts:AssumeRole", "assume the role"),
    (
        "sts:TagSession",
        "attach session tags when assuming the role",
    ),
    (
        "sts:AssumeRoleWithWebIdentity",
        "assume the role with an OIDC web identity token",
    ),
];

/// Notable actions a reviewer may look for, and what their absence means.
pub const NOT_GRANTED: &[(&str, &str)] = &[
    (
        "s3:PutObject",
        "nothing can be written: no uploads, no overwrites",
    ),
    ("s3:DeleteObject", "nothing can be deleted"),
    (
        "s3:ListAllMyBuckets",
        "the pod cannot list the account's other buckets",
    ),
    (
        "s3:GetObjectVersion",
        "older versions of objects cannot be read",
    ),
    (
        "s3:DeleteObjectVersion",
        "object versions cannot be deleted, so versioning can still undo overwrites and deletes",
    ),
    ("s3:PutBucketPolicy", "the bucket policy cannot be changed"),
    (
        "s3:PutObjectAcl",
        "object ACLs cannot be changed (no public sharing through ACLs)",
    ),
    ("s3:DeleteBucket", "the bucket itself cannot be deleted"),
    (
        "iam:*",
        "no IAM permissions: the role cannot grant itself more",
    ),
];

/// A trust statement's principal in words.
pub fn principal_words(principal: &Value) -> Result<String, String> {
    if let Some(service) = principal["Service"].as_str() {
        return Ok(format!("the AWS service {}", markdown_code(service)?));
    }
    if let Some(federated) = principal["Federated"].as_str() {
        return Ok(format!(
            "holders of tokens from the OIDC provider {}",
            markdown_code(federated)?
        ));
    }
    Ok(format!(
        "the principal {}",
        markdown_code(&principal.to_string())?
    ))
}

/// Each condition of a statement as "`key` equals `value` (`Operator`)".
pub fn condition_lines(condition: &Value) -> Result<Vec<String>, String> {
    let mut lines = Vec::new();
    for (operator, keys) in condition.as_object().into_iter().flatten() {
        for (key, value) in keys.as_object().into_iter().flatten() {
            let values: Vec<String> = strings(value)
                .iter()
                .map(|v| markdown_code(v))
                .collect::<Result<_, _>>()?;
            let test = if operator.starts_with("StringLike") || operator.starts_with("ArnLike") {
                "matches"
            } else {
                "equals"
            };
            lines.push(format!(
                "{} {test} {} ({})",
                markdown_code(key)?,
                values.join(" or "),
                markdown_code(operator)?
            ));
        }
    }
    Ok(lines)
}

/// The statements of a policy document.
pub fn statements(document: &Value) -> impl Iterator<Item = &Value> {
    document["Statement"].as_array().into_iter().flatten()
}

/// Every action the Allow statements of a policy grant.
pub fn granted_actions(permission: &Value) -> Vec<String> {
    statements(permission)
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| strings(&s["Action"]))
        .collect()
}

/// A JSON string or array of strings, as strings.
pub fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Actions in words, joined: "read objects, write objects and delete objects".
pub fn words(actions: &[String]) -> String {
    let phrases: Vec<String> = actions
        .iter()
        .map(|a| match ACTION_WORDS.iter().find(|(name, _)| name == a) {
            Some((name, words)) => format!("{words} (`{name}`)"),
            None => format!("perform `{a}`"),
        })
        .collect();
    if phrases.is_empty() {
        return "do nothing".to_owned();
    }
    join_and(&phrases, "and")
}

/// Items joined as prose: "a", "a and b", "a, b and c" (`word` is "and" or "or").
pub fn join_and(items: &[String], word: &str) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} {word} {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// Values as Markdown code spans, joined as prose.
pub fn code_list(values: &[&str], word: &str) -> Result<String, String> {
    let spans: Vec<String> = values
        .iter()
        .map(|v| markdown_code(v))
        .collect::<Result<_, _>>()?;
    Ok(join_and(&spans, word))
}

/// What a condition key tests, in words; `None` for keys without a gloss.
fn key_words(key: &str) -> Option<&'static str> {
    const KEYS: &[(&str, &str)] = &[
        ("aws:RequestTag/eks-cluster-name", "the pod's EKS cluster"),
        ("aws:RequestTag/kubernetes-namespace", "the pod's namespace"),
        (
            "aws:RequestTag/kubernetes-service-account",
            "the pod's service account",
        ),
        (
            "aws:SourceAccount",
            "the account of the Pod Identity association",
        ),
        ("aws:SourceArn", "the ARN of the Pod Identity association"),
        ("s3:prefix", "the prefix a listing asks for"),
        ("kms:ViaService", "the service that calls KMS"),
    ];
    if key.ends_with(":sub") {
        return Some("the token's subject");
    }
    if key.ends_with(":aud") {
        return Some("the token's audience");
    }
    KEYS.iter().find(|(k, _)| *k == key).map(|(_, w)| *w)
}

/// Each condition in words: "the pod's namespace (`aws:RequestTag/…`) is `default`".
pub fn condition_phrases(condition: &Value) -> Result<Vec<String>, String> {
    let mut phrases = Vec::new();
    for (operator, keys) in condition.as_object().into_iter().flatten() {
        let like = operator.starts_with("StringLike") || operator.starts_with("ArnLike");
        for (key, value) in keys.as_object().into_iter().flatten() {
            let values = strings(value);
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let test = if like { "matches" } else { "is" };
            let key_code = markdown_code(key)?;
            let subject = match key_words(key) {
                Some(words) => format!("{words} ({key_code})"),
                None => key_code,
            };
            phrases.push(format!("{subject} {test} {}", code_list(&values, "or")?));
        }
    }
    Ok(phrases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_join_as_prose() {
        let items = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(join_and(&items(&[]), "and"), "");
        assert_eq!(join_and(&items(&["a"]), "and"), "a");
        assert_eq!(join_and(&items(&["a", "b", "c"]), "or"), "a, b or c");
        assert_eq!(
            code_list(&["x`y", "z"], "and"),
            Ok("``x`y`` and `z`".into())
        );
        assert!(code_list(&["line\nbreak"], "and").is_err());
    }

    #[test]
    fn conditions_read_as_words_with_escaped_values() {
        let condition = json!({
            "StringEquals": {"aws:RequestTag/kubernetes-namespace": "team`a", "x:aud": "sts.amazonaws.com"},
            "ArnLike": {"aws:SourceArn": "arn:aws:eks:*"},
        });
        let phrases = condition_phrases(&condition).expect("phrases");
        assert!(
            phrases.contains(
                &"the pod's namespace (`aws:RequestTag/kubernetes-namespace`) is ``team`a``"
                    .to_owned()
            ),
            "{phrases:?}"
        );
        assert!(
            phrases.contains(&"the token's audience (`x:aud`) is `sts.amazonaws.com`".to_owned()),
            "{phrases:?}"
        );
        assert!(phrases.contains(&"the ARN of the Pod Identity association (`aws:SourceArn`) matches `arn:aws:eks:*`".to_owned()), "{phrases:?}");
    }
}
