//! The review sheet's "Other accounts" section: the target role that pods
//! reach S3 as (role chaining), and what the bucket owner adds to the
//! bucket and key policies. Built from the same documents the bundle holds.

use std::fmt::Write;

use serde_json::Value;

use crate::formats::escape::md_code as markdown_code;
use crate::iam::wording::{condition_lines, fmt, principal_words, statements, strings, words};
use crate::iam::{cross, policy};
use crate::input::model::Model;

/// The section, empty for a single-account bundle.
pub fn section(model: &Model, out: &mut String) -> Result<(), String> {
    let target = cross::target_trust(model);
    let grants = cross::bucket_grants(model);
    let keys = cross::foreign_keys(model);
    if target.is_none() && grants.is_empty() && keys.is_empty() {
        return Ok(());
    }
    out.push_str("## Other accounts\n\n");
    if let Some(trust) = &target {
        target_role(model, trust, out)?;
    }
    if !grants.is_empty() {
        bucket_owner(model, out)?;
    }
    if !keys.is_empty() {
        key_owner(model, out)?;
    }
    Ok(())
}

/// Who may assume the target role, and what the source role may do.
fn target_role(model: &Model, trust: &Value, out: &mut String) -> Result<(), String> {
    let target = policy::target_role_arn(model).unwrap_or_default();
    let source = policy::role_arn(model).unwrap_or_default();
    writeln!(out, "### The target role (role chaining)\n\nPods reach S3 as the target role {} (account {}): EKS assumes the source role {} (the role above, in the cluster's account) and with its credentials the target role, and hands the pod the target role's credentials. The S3 policy (`iam/s3-access-policy.json`, \"What the role can reach\" above) is attached to the target role; the source role gets only `iam/source-role-policy.json`, so it reaches no bucket itself.\n",
        markdown_code(&target)?,
        markdown_code(model.accounts.target_account.as_ref().map(|a| a.as_str()).unwrap_or_default())?,
        markdown_code(&source)?,
    ).map_err(fmt)?;
    for (i, statement) in statements(trust).enumerate() {
        let path = format!("iam/target-trust-policy.json /Statement/{i}");
        writeln!(
            out,
            "- **Principal:** {} may {}. (`{path}/Principal`)",
            principal_words(&statement["Principal"])?,
            words(&strings(&statement["Action"]))
        )
        .map_err(fmt)?;
        for c in condition_lines(&statement["Condition"])? {
            writeln!(out, "- **Condition:** {c} (`{path}/Condition`)").map_err(fmt)?;
        }
    }
    let ids: Vec<String> = model
        .bindings
        .iter()
        .filter_map(|b| cross::external_id(model, b))
        .map(|id| markdown_code(&id))
        .collect::<Result<_, _>>()?;
    writeln!(out, "- **External ids:** {}. Each is the `externalId` EKS gives the association of one binding (`<region>/<cluster account>/<cluster>/<namespace>/<service account>`, as the EKS user guide and launch post show it), and EKS sends it when it assumes the target role for that association. An external id is not a secret: whoever holds the source role's credentials can send any of them, so the boundary is who can get those credentials, the source role's pinned trust above. `scripts/apply.sh` compares each with the association's own before it writes this trust, and stops on a difference; the Terraform uses the associations' `external_id` attribute.", ids.join(", ")).map_err(fmt)?;
    writeln!(out, "- **Source role:** may `sts:AssumeRole` and `sts:TagSession` on {} and nothing else. (`iam/source-role-policy.json /Statement/0`)", markdown_code(&target)?).map_err(fmt)?;
    out.push_str("- **Risk: which AWS page holds.** The EKS API reference says to match the association's `externalId` in the target role's trust, and AWS's launch post shows it working with session tags on; the current user guide promises `sts:ExternalId` only for associations with session tags disabled. If pods are refused the target role, compare `aws eks describe-pod-identity-association` with this trust (`scripts/verify.sh` does).\n");
    out.push_str("- **Caching and session length.** The Pod Identity agent caches target-role credentials for 59 minutes, and a changed association does not reset the cache: restart pods to pick up a change sooner (EKS user guide, \"Caching considerations\"). A chained session lasts at most one hour, whatever the target role's maximum session duration.\n");
    out.push('\n');
    Ok(())
}

/// The bucket policy statements, bucket by bucket.
fn bucket_owner(model: &Model, out: &mut String) -> Result<(), String> {
    let owner = model
        .accounts
        .bucket_account
        .as_ref()
        .map(|a| a.as_str())
        .unwrap_or_default();
    writeln!(out, "### The bucket owner's side (account {})\n\nA request from another account needs two yeses: the caller's identity policy (`iam/s3-access-policy.json`) and the bucket's own policy. The bucket owner adds these statements to each bucket's policy with `scripts/bucket-owner.sh apply` (the bucket account's credentials), which replaces podiam's earlier statements for this role (a `Sid` that starts with `Podiam` and ends with the same `For…` digest) and keeps every other statement, or with `terraform/bucket-owner/`, which then owns the whole policy: the statements it is given plus these. A Deny of the bucket owner's still wins.\n\n| statement | bucket | principal | may | source |\n|---|---|---|---|---|", markdown_code(owner)?).map_err(fmt)?;
    let document = cross::bucket_policy(model);
    for (i, statement) in statements(&document).enumerate() {
        let mut may = words(&strings(&statement["Action"]));
        let conditions = condition_lines(&statement["Condition"])?;
        if !conditions.is_empty() {
            may.push_str(&format!(", only when {}", conditions.join(" and ")));
        }
        let resources: Vec<String> = strings(&statement["Resource"])
            .iter()
            .map(|r| markdown_code(r))
            .collect::<Result<_, _>>()?;
        writeln!(
            out,
            "| {} | {} | {} | {may} | `iam/bucket-policy.json /Statement/{i}` |",
            markdown_code(statement["Sid"].as_str().unwrap_or_default())?,
            resources.join("<br>"),
            markdown_code(statement["Principal"]["AWS"].as_str().unwrap_or_default())?
        )
        .map_err(fmt)?;
    }
    out.push_str("\n- **Exactly the role's own grants.** The statements repeat the identity policy's S3 Allow statements for each bucket, with the role as the only principal: no bucket administration (no `s3:PutBucketPolicy`, `s3:PutBucketAcl`, `s3:DeleteBucket`), no other principal, and under read-only access no write.\n");
    if policy::object_actions(model).contains(&"s3:PutObject") {
        out.push_str("- **Object ownership.** Objects the role writes into the bucket belong to the bucket's account only if the bucket's Object Ownership is \"bucket owner enforced\" (ACLs disabled; the default for buckets created since April 2023); with \"object writer\" they stay the role's account's, and the bucket owner cannot read them.\n");
    }
    out.push_str("- **Risk: the role's ARN is the principal.** IAM stores it as the role's unique id: if the role is deleted and created again, the bucket policy names a role that no longer exists and refuses the new one; run `scripts/bucket-owner.sh apply` again after recreating the role.\n\n");
    Ok(())
}

/// The key-policy statements.
fn key_owner(model: &Model, out: &mut String) -> Result<(), String> {
    out.push_str("### KMS keys of another account\n\nA key of another account than the role's can be used only if its key policy names the role; IAM policies of the role's account cannot grant it alone. `scripts/bucket-owner.sh apply` adds the statement to each key's policy (`iam/kms-key-policy.json`), replacing podiam's earlier one for this role and keeping the others.\n\n");
    for key in cross::foreign_keys(model) {
        let Some(statement) = cross::key_statement(model, key.region()) else {
            continue;
        };
        writeln!(
            out,
            "- {}: statement {}: {} may {}, only when {}.",
            markdown_code(key.as_str())?,
            markdown_code(statement["Sid"].as_str().unwrap_or_default())?,
            markdown_code(statement["Principal"]["AWS"].as_str().unwrap_or_default())?,
            words(&strings(&statement["Action"])),
            condition_lines(&statement["Condition"])?.join(" and ")
        )
        .map_err(fmt)?;
    }
    out.push('\n');
    Ok(())
}
