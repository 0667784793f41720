//! The runbook's sentences, built from the model and from the very policy
//! documents podiam renders (as `podiam explain` is), as Markdown with every
//! value escaped by [`crate::formats::escape::md_code`]. The runbook template only
//! places them: no sentence there is written per profile.

use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::formats::escape::md_code;
use crate::iam::policy;
use crate::iam::wording::{
    NOT_GRANTED, code_list, condition_phrases, granted_actions, join_and, principal_words,
    statements, strings, words,
};
use crate::input::access::{Level, MountMode};
use crate::input::model::{Method, Model};

/// Who may assume the role, in words.
#[derive(Debug, Clone, Serialize)]
pub struct Trust {
    /// The first statement's principal and what it may do.
    pub principal: String,
    /// Each condition of the first statement in words; empty when unpinned.
    pub conditions: Vec<String>,
    /// Every statement: its principal and its conditions in words.
    pub statements: Vec<Statement>,
    /// What the trust policy means for pods, as a whole.
    pub summary: String,
}

/// One trust statement in words.
#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    /// The principal and what it may do.
    pub principal: String,
    /// Each condition in words; empty when unpinned.
    pub conditions: Vec<String>,
}

/// The runbook's model-derived sentences (Markdown, values escaped).
#[derive(Debug, Clone, Serialize)]
pub struct Prose {
    /// "the bucket `a`" or "the buckets `a` and `b`".
    pub buckets: String,
    /// The access level and where it applies.
    pub access: String,
    /// Each Allow statement of the permission policy in words.
    pub grants: Vec<String>,
    /// What the policy does not allow, or the risk of what it does.
    pub limits: String,
    /// Each Deny statement of the permission policy in words.
    pub denies: Vec<String>,
    /// What each KMS key's policy must allow, and how to check it.
    pub key_policies: Vec<String>,
    /// The trust policy in words, when it can be written.
    pub trust: Option<Trust>,
    /// The role options in words: path, boundary, session length, tags.
    pub role_options: Vec<String>,
    /// What the test task's mount mode does, and its caveats.
    pub mount: String,
    /// What the test task mounts.
    pub task: String,
}

/// Serializes the prose, or fails the render with the reason it could not be written.
pub fn serialize<S: Serializer>(
    prose: &Option<Result<Prose, String>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match prose {
        Some(Ok(p)) => p.serialize(s),
        Some(Err(e)) => Err(serde::ser::Error::custom(format!(
            "the runbook's sentences could not be written: {e}"
        ))),
        None => s.serialize_none(),
    }
}

impl Prose {
    /// Builds every sentence from the model and its policy documents.
    pub fn new(model: &Model) -> Result<Prose, String> {
        let trust = crate::iam::trust::trust_policy(model).ok();
        Prose::with(model, &policy::permission_policy(model), trust.as_ref())
    }

    /// [`Prose::new`] from the model's permission policy and trust policy
    /// (`None` when it cannot be built), already built.
    pub fn with(model: &Model, permission: &Value, trust: Option<&Value>) -> Result<Prose, String> {
        let buckets: Vec<&str> = model.buckets.iter().map(|b| b.as_str()).collect();
        let noun = if buckets.len() == 1 {
            "the bucket"
        } else {
            "the buckets"
        };
        Ok(Prose {
            buckets: format!("{noun} {}", code_list(&buckets, "and")?),
            access: access(model, noun, &buckets)?,
            grants: grants(permission)?,
            limits: limits(permission),
            denies: denies(permission)?,
            key_policies: crate::iam::wording::key_policy_notes(model)?,
            trust: trust.map(|t| trust_sentences(model, t)).transpose()?,
            role_options: role_options(model)?,
            mount: mount(model),
            task: task(model)?,
        })
    }
}

fn access(model: &Model, noun: &str, buckets: &[&str]) -> Result<String, String> {
    let level = match model.access {
        Level::ReadWrite => "read-write",
        Level::ReadOnly => "read-only",
    };
    let mut out = format!("{level} access to {noun} {}", code_list(buckets, "and")?);
    let prefixes: Vec<String> = model
        .prefixes
        .iter()
        .map(|p| format!("{}/", p.as_str()))
        .collect();
    if prefixes.is_empty() {
        out.push_str(if buckets.len() == 1 {
            ", all of its objects"
        } else {
            ", all of their objects"
        });
    } else {
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        out.push_str(&format!(
            ", only to object keys under {}",
            code_list(&prefixes, "or")?
        ));
    }
    if !model.kms_keys.is_empty() {
        let uses: Vec<&str> = policy::kms_actions(model)
            .iter()
            .map(|a| match *a {
                "kms:Decrypt" => "read",
                _ => "written",
            })
            .collect();
        let keys: Vec<&str> = model.kms_keys.iter().map(|k| k.as_str()).collect();
        let (noun, whose) = if keys.len() == 1 {
            ("key", "the key's")
        } else {
            ("keys", "each key's own")
        };
        out.push_str(&format!(
            "; objects encrypted with the KMS {noun} {} can be {} through S3 in {whose} region only",
            code_list(&keys, "or")?,
            uses.join(" and ")
        ));
    }
    Ok(out)
}

fn grants(permission: &Value) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for statement in statements(permission).filter(|s| s["Effect"] == "Allow") {
        let resources = strings(&statement["Resource"]);
        let resources: Vec<&str> = resources.iter().map(String::as_str).collect();
        let mut line = format!(
            "{} on {}",
            words(&strings(&statement["Action"])),
            code_list(&resources, "and")?
        );
        let conditions = condition_phrases(&statement["Condition"])?;
        if !conditions.is_empty() {
            line.push_str(&format!(", only when {}", join_and(&conditions, "and")));
        }
        out.push(line);
    }
    Ok(out)
}

fn denies(permission: &Value) -> Result<Vec<String>, String> {
    statements(permission)
        .filter(|s| s["Effect"] == "Deny")
        .map(|s| {
            let conditions = condition_phrases(&s["Condition"])?;
            Ok(format!(
                "Denied: {}, when {}.",
                words(&strings(&s["Action"])),
                join_and(&conditions, "and")
            ))
        })
        .collect()
}

fn limits(permission: &Value) -> String {
    let granted = granted_actions(permission);
    let has = |a: &str| granted.iter().any(|g| g == a);
    match (has("s3:PutObject"), has("s3:DeleteObject")) {
        (false, false) => "Nothing can be written or deleted: no uploads, no overwrites, no deletes (no `s3:PutObject`, no `s3:DeleteObject`).".to_owned(),
        (true, true) => "Pods can overwrite and delete objects: turn on bucket versioning if overwritten or deleted data must be recoverable.".to_owned(),
        (put, _) => {
            let missing = if put { "s3:DeleteObject" } else { "s3:PutObject" };
            let meaning = NOT_GRANTED
                .iter()
                .find(|(a, _)| *a == missing)
                .map_or("", |(_, m)| m);
            format!("No `{missing}`: {meaning}.")
        }
    }
}

fn trust_sentences(model: &Model, document: &Value) -> Result<Trust, String> {
    let statements = statements(document)
        .map(|statement| {
            Ok(Statement {
                principal: format!(
                    "{} may {}",
                    principal_words(&statement["Principal"])?,
                    words(&strings(&statement["Action"]))
                ),
                conditions: condition_phrases(&statement["Condition"])?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let Some(first) = statements.first().cloned() else {
        return Err("the trust policy has no statement".into());
    };
    Ok(Trust {
        principal: first.principal,
        conditions: first.conditions.clone(),
        statements,
        summary: trust_summary(model, first.conditions.is_empty())?,
    })
}

/// The bound workloads in words: `service account S in namespace N of cluster C`, joined.
pub fn workloads(model: &Model) -> Result<String, String> {
    let each = model
        .bindings
        .iter()
        .map(|b| {
            Ok(format!(
                "service account {} in namespace {} of cluster {}",
                md_code(b.service_account.as_str())?,
                md_code(b.namespace.as_str())?,
                md_code(b.cluster.as_str())?
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(crate::iam::wording::join_and(&each, "and"))
}

/// What the trust policy means for pods, as a whole.
fn trust_summary(model: &Model, unpinned: bool) -> Result<String, String> {
    let who = workloads(model)?;
    let several = model.bindings.len() > 1;
    let mut irsa = format!("Only pods that run as {who} get tokens the role accepts.");
    if model.bindings.iter().any(|b| b.is_pattern()) {
        irsa.push_str(" A name with `*` or `?` is a pattern (IAM's `StringLike`): `*` matches any run of characters and `?` exactly one; REVIEW.md names what each pattern admits.");
    }
    let pod_identity = if unpinned {
        let tie = if several {
            format!("the associations created here tie it to {who}")
        } else {
            let (sa, ns) = (
                md_code(model.service_account.as_str())?,
                md_code(model.namespace.as_str())?,
            );
            format!(
                "the association created here ties it to service account {sa} of namespace {ns}"
            )
        };
        format!(
            "The trust policy has no conditions: any Pod Identity association in this account that names the role can use it, from any cluster, namespace or service account. Only {tie}."
        )
    } else {
        let mut s = if several {
            format!(
                "Only pods that run as {who} get the role's credentials, even if another Pod Identity association names the role; each binding is admitted as a whole, never the namespace of one with the service account of another"
            )
        } else {
            format!(
                "Only pods of cluster {} that run as service account {} in namespace {} get the role's credentials, even if another Pod Identity association names the role",
                md_code(model.cluster.as_str())?,
                md_code(model.service_account.as_str())?,
                md_code(model.namespace.as_str())?
            )
        };
        if let (true, Some(account)) = (model.trust.source_account, &model.account_id) {
            s.push_str(&format!(
                "; and only through associations of account {}",
                md_code(account.as_str())?
            ));
        }
        if model.trust.source_arn {
            s.push_str(&format!("; and only through associations of {} (one report has this condition breaking Mountpoint for S3 credentials: test it)", clusters_words(model)?));
        }
        s.push('.');
        s
    };
    Ok(match model.method {
        Method::PodIdentity => pod_identity,
        Method::Irsa => irsa,
        Method::Both => format!(
            "While you migrate, the role trusts both methods. IRSA: {irsa} EKS Pod Identity: {pod_identity}"
        ),
    })
}

/// `cluster C`, or `clusters A and B`.
fn clusters_words(model: &Model) -> Result<String, String> {
    let mut names: Vec<String> = Vec::new();
    for b in &model.bindings {
        let name = md_code(b.cluster.as_str())?;
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let word = if names.len() == 1 {
        "cluster"
    } else {
        "clusters"
    };
    Ok(format!(
        "{word} {}",
        crate::iam::wording::join_and(&names, "and")
    ))
}

fn role_options(model: &Model) -> Result<Vec<String>, String> {
    let path = md_code(&model.iam_path)?;
    let chained = model.accounts.target_account.is_some();
    let policy_arn = match chained {
        true => policy::target_policy_arn(model),
        false => policy::policy_arn(model),
    };
    let arns = match (policy::role_arn(model), policy_arn) {
        (Some(role), Some(policy)) => format!(
            "the role's ARN is {} and the policy's {}{}",
            md_code(&role)?,
            md_code(&policy)?,
            if chained {
                " (in the target role's account)"
            } else {
                ""
            }
        ),
        _ => format!(
            "their ARNs end in {} and {}",
            md_code(&format!(
                ":role{}{}",
                model.iam_path,
                model.role_name.as_str()
            ))?,
            md_code(&format!(
                ":policy{}{}",
                model.iam_path,
                model.policy_name.as_str()
            ))?
        ),
    };
    let mut out = vec![format!(
        "IAM path {path} for the role and the policy: {arns}."
    )];
    out.push(match &model.permissions_boundary {
        Some(b) if chained => format!(
            "Permissions boundary {} on the source role only: it must allow `sts:AssumeRole` and `sts:TagSession` on the target role, or every pod is refused. The target role gets none (a boundary is a policy of the role's own account or an AWS managed one).",
            md_code(b)?
        ),
        Some(b) => format!(
            "Permissions boundary {}: whatever policies are attached, the role can never do more than this policy allows.",
            md_code(b)?
        ),
        None => "No permissions boundary.".to_owned(),
    });
    let default = if model.max_session_duration == 3600 {
        ", IAM's default"
    } else {
        ""
    };
    out.push(format!(
        "Maximum session duration {} seconds ({}{default}).",
        model.max_session_duration,
        duration_words(model.max_session_duration)
    ));
    let tags: Vec<String> = model
        .tags
        .iter()
        .map(|t| format!("{}={}", t.key, t.value))
        .collect();
    out.push(if tags.is_empty() {
        "No tags.".to_owned()
    } else {
        let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
        format!(
            "Tags on the role and the policy: {}.",
            code_list(&tags, "and")?
        )
    });
    Ok(out)
}

/// Seconds as hours and minutes: "2 hours", "1 hour 30 minutes".
fn duration_words(seconds: u32) -> String {
    let (hours, minutes, rest) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    let unit = |n: u32, one: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {one}s")),
    };
    [
        unit(hours, "hour"),
        unit(minutes, "minute"),
        unit(rest, "second"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ")
}

fn mount(model: &Model) -> String {
    let mut out = match model.mount_mode {
        MountMode::MountCached => format!("The test task uses the mount mode `MOUNT_CACHED` (rclone with a local cache). {}. Give the API server SSO or role credentials (`aws configure list` there shows the type), or use the mode `MOUNT` or `COPY`.", crate::iam::wording::MOUNT_CACHED_CREDENTIALS),
        MountMode::Mount => {
            let mut s = "The test task uses the mount mode `MOUNT` (goofys on x86_64 nodes, rclone on arm64 nodes), without a local cache.".to_owned();
            if model.method.pod_identity() {
                s.push_str(" A SkyPilot issue (#8357) reports goofys failing with EKS Pod Identity; if the mount fails on x86_64 nodes, use `MOUNT_CACHED` or `COPY`.");
            }
            s
        }
        MountMode::Copy => "The test task uses the mode `COPY`: SkyPilot copies the objects into the pod with `aws s3 sync` when it launches, and writes nothing back to S3.".to_owned(),
    };
    if model.access == Level::ReadOnly && model.mount_mode != MountMode::Copy {
        out.push_str(" The role is read-only, and so is the mount: the task sets `read_only: true` in the mount's `config`, so that writes fail at once instead of being cached and lost when the upload is denied.");
    }
    out
}

fn task(model: &Model) -> Result<String, String> {
    let mounts = crate::render::mounts::mounts(model);
    let (verb, at) = if model.mount_mode == MountMode::Copy {
        ("copies", "to")
    } else {
        ("mounts", "at")
    };
    let pairs: Vec<String> = mounts
        .iter()
        .map(|m| {
            Ok(format!(
                "{} {at} {}",
                md_code(&m.source)?,
                md_code(&m.path)?
            ))
        })
        .collect::<Result<_, String>>()?;
    let them = if pairs.len() == 1 { "it" } else { "each" };
    Ok(format!(
        "The task `skypilot/task.yaml` {verb} {} and lists {them}:",
        join_and(&pairs, "and")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::params::RawParams;

    fn model(extra: impl FnOnce(&mut RawParams)) -> Model {
        let mut raw = RawParams {
            cluster: Some("c".into()),
            region: Some("us-west-2".into()),
            bucket: Some(vec!["a-bucket".into()]),
            ..RawParams::default()
        };
        extra(&mut raw);
        Model::from_raw(&raw).expect("valid")
    }

    #[test]
    fn read_only_says_nothing_can_be_written_or_deleted() {
        let m = model(|r| {
            r.access = Some("read-only".into());
            r.bucket = Some(vec!["a-bucket".into(), "b-bucket".into()]);
            r.prefix = Some(vec!["team/data".into()]);
        });
        let p = Prose::new(&m).expect("prose");
        assert!(p.limits.starts_with("Nothing can be written or deleted"));
        assert_eq!(p.buckets, "the buckets `a-bucket` and `b-bucket`");
        assert!(
            p.access
                .starts_with("read-only access to the buckets `a-bucket` and `b-bucket`, only to object keys under `team/data/`"),
            "{}",
            p.access
        );
        assert!(!p.grants.iter().any(|g| g.contains("s3:PutObject")));
        let rw = Prose::new(&model(|_| {})).expect("prose");
        assert!(rw.limits.starts_with("Pods can overwrite and delete"));
        assert!(
            rw.access
                .starts_with("read-write access to the bucket `a-bucket`")
        );
    }

    #[test]
    fn trust_and_role_options_come_from_the_model() {
        let m = model(|r| {
            r.account_id = Some("123456789012".into());
            r.trust_source_account = Some(true);
            r.iam_path = Some("/sky/pilot/".into());
            r.permissions_boundary = Some("arn:aws:iam::123456789012:policy/B".into());
            r.max_session_duration = Some("5400".into());
            r.tag = Some(vec!["team=m l".into(), "k=v".into()]);
        });
        let p = Prose::new(&m).expect("prose");
        let trust = p.trust.expect("trust");
        assert_eq!(trust.conditions.len(), 4, "{:?}", trust.conditions);
        assert!(
            trust
                .summary
                .contains("associations of account `123456789012`")
        );
        let opts = p.role_options.join("\n");
        for needle in [
            "`arn:aws:iam::123456789012:role/sky/pilot/SkyPilotS3Role-a-bucket`",
            "Permissions boundary `arn:aws:iam::123456789012:policy/B`",
            "5400 seconds (1 hour 30 minutes)",
            "`team=m l` and `k=v`",
        ] {
            assert!(opts.contains(needle), "{needle} in {opts}");
        }
        let minimal = Prose::new(&model(|r| r.trust_minimal = Some(true))).expect("prose");
        let trust = minimal.trust.expect("trust");
        assert!(trust.conditions.is_empty());
        assert!(
            trust
                .summary
                .starts_with("The trust policy has no conditions")
        );
    }

    #[test]
    fn durations_read_as_hours_and_minutes() {
        assert_eq!(duration_words(3600), "1 hour");
        assert_eq!(duration_words(43200), "12 hours");
        assert_eq!(duration_words(3661), "1 hour 1 minute 1 second");
    }
}
