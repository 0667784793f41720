//! The words podiam uses for IAM documents: actions, principals and
//! conditions as Markdown, every value escaped with
//! [`md_code`](crate::formats::escape::md_code). Shared by `podiam explain`
//! and the runbook, so both say the same thing the same way.

use serde_json::Value;

use crate::formats::escape::md_code as markdown_code;
use crate::iam::policy;
use crate::input::model::Model;

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
        "ACLs of existing objects cannot be changed; an upload (`s3:PutObject`) could still set one through its `x-amz-acl` or `x-amz-grant-*` headers, which the Deny statements refuse (only `private` and `bucket-owner-full-control` pass)",
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
    if let Some(aws) = principal["AWS"].as_str() {
        return Ok(match aws.strip_suffix(":root") {
            Some(rest) => format!(
                "the account {} ({}), narrowed by the conditions,",
                markdown_code(rest.rsplit(':').next().unwrap_or_default())?,
                markdown_code(aws)?
            ),
            None => format!("the IAM principal {}", markdown_code(aws)?),
        });
    }
    Ok(format!(
        "the principal {}",
        markdown_code(&principal.to_string())?
    ))
}

/// A formatting error as the review sheet's error text.
pub fn fmt(e: std::fmt::Error) -> String {
    e.to_string()
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
            let test = match operator.as_str() {
                "Null" => {
                    let raw = strings(value);
                    let raw: Vec<&str> = raw.iter().map(String::as_str).collect();
                    format!("is {}", null_words(&raw))
                }
                "StringNotEquals" => format!("does not equal {}", values.join(" or ")),
                o if o.starts_with("StringLike") || o.starts_with("ArnLike") => {
                    format!("matches {}", values.join(" or "))
                }
                _ => format!("equals {}", values.join(" or ")),
            };
            lines.push(format!(
                "{} {test} ({})",
                markdown_code(key)?,
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
        (
            "aws:RequestTag/eks-cluster-arn",
            "the ARN of the pod's EKS cluster",
        ),
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
        ("s3:x-amz-acl", "the canned ACL the upload sets"),
    ];
    if key.ends_with(":sub") {
        return Some("the token's subject");
    }
    if key.ends_with(":aud") {
        return Some("the token's audience");
    }
    KEYS.iter().find(|(k, _)| *k == key).map(|(_, w)| *w)
}

/// A `Null` test in words: `false` means the key is present.
fn null_words(values: &[&str]) -> &'static str {
    if values == ["false"] {
        "present (the request sets it)"
    } else {
        "absent"
    }
}

/// What each KMS key's own policy must allow, and the command that shows it:
/// IAM alone cannot grant a key's use.
pub fn key_policy_notes(model: &Model) -> Result<Vec<String>, String> {
    let role = match policy::s3_role_arn(model) {
        Some(arn) => markdown_code(&arn)?,
        None => format!("role {}", markdown_code(model.role_name.as_str())?),
    };
    let actions: Vec<&str> = policy::kms_actions(model);
    // Keys of another account get their statement in `iam/kms-key-policy.json`
    // ("Other accounts").
    let foreign = crate::iam::cross::foreign_keys(model);
    model
        .kms_keys
        .iter()
        .filter(|k| !foreign.contains(k))
        .map(|key| {
            let region = key.region();
            let account = key.account();
            let root = format!("arn:{}:iam::{account}:root", model.region.partition().id());
            let show = format!(
                "aws kms get-key-policy --key-id {} --policy-name default --region {region} --output text",
                key.as_str()
            );
            let unknown = if model.account_id.is_none() {
                " If the key belongs to another account than the role's, only its key policy can grant the role: give --account-id, and podiam renders that statement (`iam/kms-key-policy.json`)."
            } else {
                ""
            };
            Ok(format!(
                "The key policy of {} (region {}) must let {role} use {}: AWS's default key policy does, by delegating to IAM (a statement that allows {} `kms:*`); a custom key policy must allow the role, or the account, those actions. S3 calls the key from the bucket's region, so the bucket must be in {} too. Check with {}.{unknown}",
                markdown_code(key.as_str())?,
                markdown_code(region)?,
                code_list(&actions, "and")?,
                markdown_code(&root)?,
                markdown_code(region)?,
                markdown_code(&show)?,
            ))
        })
        .collect()
}

/// Where SkyPilot decides whether a `MOUNT_CACHED` pod uses its role, and
/// when it embeds local keys instead (`AWS.should_use_env_auth_for_s3`,
/// SkyPilot 0.14.1).
pub const MOUNT_CACHED_CREDENTIALS: &str = "SkyPilot sets up storage on its API server (the local one `sky` starts, or the remote one you log in to). With `MOUNT_CACHED` it lets the pod use its role (rclone `env_auth`) only when the API server's AWS identity type, which SkyPilot reads from `aws configure list`, is SSO, IAM_ROLE, CONTAINER_ROLE or LOGIN. With any other type (static access keys, an assumed-role profile, ...) it writes the API server's credentials into the pod's rclone config, whatever `NO_UPLOAD` says";

/// Each condition in words: "the pod's namespace (`aws:RequestTag/…`) is `default`".
pub fn condition_phrases(condition: &Value) -> Result<Vec<String>, String> {
    let mut phrases = Vec::new();
    for (operator, keys) in condition.as_object().into_iter().flatten() {
        let like = operator.starts_with("StringLike") || operator.starts_with("ArnLike");
        for (key, value) in keys.as_object().into_iter().flatten() {
            let values = strings(value);
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            let key_code = markdown_code(key)?;
            let subject = match key_words(key) {
                Some(words) => format!("{words} ({key_code})"),
                None => key_code,
            };
            phrases.push(match operator.as_str() {
                "Null" => format!("{subject} is {}", null_words(&values)),
                "StringNotEquals" => format!("{subject} is not {}", code_list(&values, "or")?),
                _ if like => format!("{subject} matches {}", code_list(&values, "or")?),
                _ => format!("{subject} is {}", code_list(&values, "or")?),
            });
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
