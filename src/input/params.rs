//! Raw parameters as the user gave them: flags, environment variables or a
//! params file, merged by precedence (flag > file > env > default; an env value that
//! differs from the file is refused).
//!
//! Nothing here is trusted; [`crate::input::model`] validates every value.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::formats::schemas::Schema;
use crate::input::batch_text;

/// Every parameter podiam takes, each still a raw, unvalidated string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawParams {
    /// EKS cluster name (`EKS_CLUSTER_NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// AWS region (`AWS_REGION`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Accept regions podiam's list does not hold yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_unlisted_region: Option<bool>,
    /// S3 buckets (`S3_BUCKET`); the first names the role and policy.
    #[serde(default, deserialize_with = "one_or_many")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<Vec<String>>,
    /// Kubernetes namespace (`K8S_NAMESPACE`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kubernetes service account (`K8S_SERVICE_ACCOUNT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// kubeconfig context (`KUBE_CONTEXT`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_context: Option<String>,
    /// AWS account id (`AWS_ACCOUNT_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// The account that owns the buckets and their KMS keys (`BUCKET_ACCOUNT_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_account: Option<String>,
    /// The account of the Pod Identity target role (`TARGET_ACCOUNT_ID`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_account: Option<String>,
    /// `pod-identity` or `irsa`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// EKS OIDC issuer URL or host/path (IRSA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_issuer: Option<String>,
    /// IAM policy name (`IAM_POLICY_NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    /// IAM role name (`IAM_ROLE_NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_name: Option<String>,
    /// `read-write` or `read-only`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
    /// SkyPilot mount mode: `MOUNT_CACHED`, `MOUNT` or `COPY`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mount_mode: Option<String>,
    /// Grant `s3:AbortMultipartUpload`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multipart_cleanup: Option<bool>,
    /// Key prefixes objects are limited to.
    #[serde(default, deserialize_with = "one_or_many")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<Vec<String>>,
    /// KMS key ARNs of SSE-KMS buckets.
    #[serde(default, deserialize_with = "one_or_many")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<Vec<String>>,
    /// Use the docs page's unpinned Pod Identity trust statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_minimal: Option<bool>,
    /// Pin the Pod Identity trust to the account (`aws:SourceAccount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_source_account: Option<bool>,
    /// Pin the Pod Identity trust to the cluster's associations (`aws:SourceArn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_source_arn: Option<bool>,
    /// Permissions boundary policy ARN for the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
    /// IAM path for the role and policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_path: Option<String>,
    /// Role maximum session duration in seconds.
    #[serde(default, deserialize_with = "string_or_number")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_session_duration: Option<String>,
    /// Tags `key=value` for the role and policy.
    #[serde(default, deserialize_with = "tags")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<Vec<String>>,
    /// Terraform identifier for addresses, variables and outputs (`PODIAM_TF_NAME`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tf_name: Option<String>,
    /// The Pod Identity agent add-on: `create` or `existing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_identity_agent: Option<String>,
    /// More workloads the role admits, after the first (`--bind`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bindings: Option<Vec<RawBinding>>,
    /// The account's trust policy length quota, when raised (`--trust-policy-quota`).
    #[serde(default, deserialize_with = "string_or_number")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy_quota: Option<String>,
}

/// One more workload the role admits; a missing key takes the top-level value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBinding {
    /// EKS cluster name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Kubernetes namespace, or (IRSA) a pattern with `*` or `?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Kubernetes service account, or (IRSA) a pattern with `*` or `?`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    /// The cluster's OIDC issuer (IRSA).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_issuer: Option<String>,
}

/// A string or a list of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(Option::<OneOrMany>::deserialize(d)?.map(|v| match v {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    }))
}

/// A string or a whole number, as a string.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StringOrNumber {
        S(String),
        N(u64),
    }
    Ok(Option::<StringOrNumber>::deserialize(d)?.map(|v| match v {
        StringOrNumber::S(s) => s,
        StringOrNumber::N(n) => n.to_string(),
    }))
}

/// Tags as a `{key: value}` map or a list of `key=value` strings.
fn tags<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Tags {
        Map(std::collections::BTreeMap<String, String>),
        List(Vec<String>),
    }
    match Option::<Tags>::deserialize(d)? {
        Some(Tags::Map(m)) => match m.keys().find(|k| k.contains('=')) {
            Some(k) => Err(serde::de::Error::custom(format!(
                "tag key {k:?}: podiam does not take '=' in tag keys (tags are key=value)"
            ))),
            None => Ok(Some(
                m.into_iter().map(|(k, v)| format!("{k}={v}")).collect(),
            )),
        },
        Some(Tags::List(l)) => Ok(Some(l)),
        None => Ok(None),
    }
}

impl RawParams {
    /// The parameters as a JSON object, field by field, unset fields left out.
    pub fn fields(params: &RawParams) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(params) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        }
    }

    /// Fills every field this set lacks from `lower` (a lower-precedence source).
    pub fn or(self, lower: RawParams) -> RawParams {
        RawParams {
            cluster: self.cluster.or(lower.cluster),
            region: self.region.or(lower.region),
            allow_unlisted_region: self.allow_unlisted_region.or(lower.allow_unlisted_region),
            bucket: self.bucket.or(lower.bucket),
            namespace: self.namespace.or(lower.namespace),
            service_account: self.service_account.or(lower.service_account),
            kube_context: self.kube_context.or(lower.kube_context),
            account_id: self.account_id.or(lower.account_id),
            bucket_account: self.bucket_account.or(lower.bucket_account),
            target_account: self.target_account.or(lower.target_account),
            method: self.method.or(lower.method),
            oidc_issuer: self.oidc_issuer.or(lower.oidc_issuer),
            policy_name: self.policy_name.or(lower.policy_name),
            role_name: self.role_name.or(lower.role_name),
            access: self.access.or(lower.access),
            mount_mode: self.mount_mode.or(lower.mount_mode),
            multipart_cleanup: self.multipart_cleanup.or(lower.multipart_cleanup),
            prefix: self.prefix.or(lower.prefix),
            kms_key: self.kms_key.or(lower.kms_key),
            trust_minimal: self.trust_minimal.or(lower.trust_minimal),
            trust_source_account: self.trust_source_account.or(lower.trust_source_account),
            trust_source_arn: self.trust_source_arn.or(lower.trust_source_arn),
            permissions_boundary: self.permissions_boundary.or(lower.permissions_boundary),
            iam_path: self.iam_path.or(lower.iam_path),
            max_session_duration: self.max_session_duration.or(lower.max_session_duration),
            tag: self.tag.or(lower.tag),
            bindings: self.bindings.or(lower.bindings),
            trust_policy_quota: self.trust_policy_quota.or(lower.trust_policy_quota),
            tf_name: self.tf_name.or(lower.tf_name),
            pod_identity_agent: self.pod_identity_agent.or(lower.pod_identity_agent),
        }
    }
}

/// One named target of a batch params file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The target's name: its folder below `--out`.
    pub name: String,
    /// Its own parameters (over the file's `defaults`), held as JSON text:
    /// a batch of 10,000 targets holds 10,000 of these.
    pub params: Held,
}

/// Raw parameters held as their JSON text, read back when needed: about a
/// hundred bytes for a typical target, where the parsed parameters take
/// over 600, so a batch of 10,000 targets is held in little memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held(Box<str>);

impl Held {
    /// Holds `params`.
    pub fn new(params: &RawParams) -> Result<Held, serde_json::Error> {
        serde_json::to_string(params).map(|text| Held(text.into_boxed_str()))
    }

    /// The parameters held.
    pub fn get(&self) -> Result<RawParams, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

/// What a params file holds: one set of parameters, or a batch of targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamsFile {
    /// One set of parameters.
    Single(RawParams),
    /// `defaults:` for every target, and the `targets:` list.
    Batch {
        /// Values every target inherits unless it sets its own.
        defaults: RawParams,
        /// The targets, in file order.
        targets: Vec<Target>,
    },
}

impl ParamsFile {
    /// Reads a params file (YAML or JSON; `-` is standard input), checks it
    /// against `schemas/params.schema.json` and returns its values.
    pub fn load(path: &Path) -> Result<ParamsFile, Error> {
        let shown = path.display().to_string();
        let text = read_source(path).map_err(|source| Error::ParamsRead {
            path: shown.clone(),
            source,
        })?;
        match load_cut(&text) {
            Some(file) => Ok(file),
            None => ParamsFile::load_whole(text, shown),
        }
    }

    /// [`ParamsFile::load`] of `text` parsed as one document.
    fn load_whole(text: String, shown: String) -> Result<ParamsFile, Error> {
        let parse_err = |message: String| Error::ParamsParse {
            path: shown.clone(),
            message,
        };
        let value: serde_json::Value =
            serde_yaml::from_str(&text).map_err(|e| parse_err(e.to_string()))?;
        drop(text);
        if let Some(message) = misread(&value) {
            return Err(parse_err(message));
        }
        let problems = crate::formats::schemas::check(Schema::Params, &value);
        if !problems.is_empty() {
            return Err(Error::ParamsSchema {
                path: shown,
                problems,
            });
        }
        let mut value = value;
        let Some(targets) = value.as_object_mut().and_then(|o| o.remove("targets")) else {
            return serde_json::from_value(value)
                .map(ParamsFile::Single)
                .map_err(|e| parse_err(e.to_string()));
        };
        let defaults = value
            .as_object_mut()
            .and_then(|o| o.remove("defaults"))
            .unwrap_or_else(|| serde_json::json!({}));
        let defaults = serde_json::from_value(defaults).map_err(|e| parse_err(e.to_string()))?;
        let targets =
            serde_json::from_value::<Vec<serde_json::Map<String, serde_json::Value>>>(targets)
                .map_err(|e| parse_err(e.to_string()))?
                .into_iter()
                .map(|fields| target_of(fields).map_err(|e| parse_err(e.to_string())))
                .collect::<Result<Vec<_>, Error>>()?;
        Ok(ParamsFile::Batch { defaults, targets })
    }
}

/// A mistake the schema would report obscurely: an unquoted account id
/// (YAML reads a number, and leading zeros are lost), or a bundle's
/// `manifest.json` given instead of its `params.yaml`.
fn misread(value: &serde_json::Value) -> Option<String> {
    if value.get("artifacts").is_some() && value.get("parameters").is_some() {
        return Some("this is a bundle's manifest.json, not a params file: give the bundle's params.yaml (or run `podiam check DIR` with no parameters)".to_owned());
    }
    let targets = value.get("targets").and_then(|t| t.as_array());
    let mut places: Vec<(String, &serde_json::Value)> = vec![("".to_owned(), value)];
    places.extend(value.get("defaults").map(|d| ("defaults.".to_owned(), d)));
    places.extend(
        targets
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, t)| (format!("targets[{i}]."), t)),
    );
    places
        .into_iter()
        .find_map(|(at, place)| misread_id(&at, place))
}

/// An account id at `place` that YAML read as a number.
fn misread_id(at: &str, place: &serde_json::Value) -> Option<String> {
    let id = place.get("account_id").filter(|v| v.is_number())?;
    Some(format!(
        "{at}account_id: YAML read a number ({id}), not the digits as written (it drops leading zeros, and reads octal and exponent forms); quote the account id, as in account_id: \"012345678901\""
    ))
}

/// A batch file read target by target ([`batch_text`]), each target parsed,
/// checked against the schema and converted on its own: the same result as
/// reading it whole, without holding the whole document. `None` when the
/// text is not cut, a piece does not parse on its own, or anything is wrong
/// with it: the caller then reads the document whole, which reports every
/// problem exactly as before. (The schema has no rule across targets, so
/// each target passing on its own is the whole list passing.)
fn load_cut(text: &str) -> Option<ParamsFile> {
    use serde_json::Value;
    let cut = batch_text::cut(text)?;
    let rest = match serde_yaml::from_str::<Value>(&cut.rest).ok()? {
        Value::Object(rest) if rest.get("targets") == Some(&Value::Null) => Value::Object(rest),
        _ => return None,
    };
    if misread(&rest).is_some() {
        return None;
    }
    let defaults = rest
        .get("defaults")
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    let defaults: RawParams = serde_json::from_value(defaults).ok()?;
    let mut targets = Vec::with_capacity(cut.items.len());
    for item in &cut.items {
        let value = item_value(item)?;
        if misread_id("", &value).is_some() {
            return None;
        }
        let mut doc = rest.clone();
        doc["targets"] = Value::Array(vec![value]);
        if !crate::formats::schemas::check(Schema::Params, &doc).is_empty() {
            return None;
        }
        let Value::Array(mut one) = doc["targets"].take() else {
            return None;
        };
        let Value::Object(fields) = one.pop()? else {
            return None;
        };
        targets.push(target_of(fields).ok()?);
    }
    Some(ParamsFile::Batch { defaults, targets })
}

/// One target's lines parsed back on their own, under `targets:`: its value,
/// or `None` when they do not parse alone or hold other than one target.
fn item_value(item: &str) -> Option<serde_json::Value> {
    let text = format!("targets:\n{item}");
    let mut value: serde_json::Value = serde_yaml::from_str(&text).ok()?;
    let object = value.as_object_mut()?;
    if object.len() != 1 {
        return None;
    }
    match object.remove("targets")? {
        serde_json::Value::Array(mut one) if one.len() == 1 => one.pop(),
        _ => None,
    }
}

/// A target of a batch file, from its checked fields (both readings use it).
fn target_of(
    mut fields: serde_json::Map<String, serde_json::Value>,
) -> Result<Target, serde_json::Error> {
    let name = fields
        .remove("name")
        .and_then(|n| n.as_str().map(str::to_owned))
        .unwrap_or_default();
    let params: RawParams = serde_json::from_value(serde_json::Value::Object(fields))?;
    Ok(Target {
        name,
        params: Held::new(&params)?,
    })
}

fn read_source(path: &Path) -> std::io::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(text);
    }
    std::fs::read_to_string(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_precedence_wins_and_gaps_fill_from_below() {
        let flags = RawParams {
            bucket: Some(vec!["flag".into()]),
            ..RawParams::default()
        };
        let file = RawParams {
            bucket: Some(vec!["file".into()]),
            region: Some("us-west-2".into()),
            ..RawParams::default()
        };
        let merged = flags.or(file);
        assert_eq!(merged.bucket, Some(vec!["flag".to_owned()]));
        assert_eq!(merged.region.as_deref(), Some("us-west-2"));
        assert_eq!(merged.cluster, None);
    }

    /// The same file read target by target and whole: the same result;
    /// a file the whole reading refuses is never read target by target (its
    /// errors come from the whole reading); and the plain forms really are
    /// read target by target.
    #[test]
    fn a_batch_read_target_by_target_reads_as_it_does_whole() {
        let head = "defaults:\n  cluster: c\n  region: us-west-2\n";
        let cut_forms = [
            format!(
                "# batch\n{head}targets:\n  - name: a\n    bucket: b-1\n\n  # two\n  - name: b\n    bucket:\n      - b-2\n      - b-3\n    prefix: [x/, y/]\n"
            ),
            format!("{head}targets:\n- name: a\n  bucket: b-1\n- name: b\n  bucket: b-2\n"),
            format!("{head}targets:\n  - name: a\n    bucket: >-\n      b-1\n  - name: b\n"),
            format!("{head}targets:  \r\n  - name: a\r\n    bucket: b-1\r\n  -\n    name: b\n"),
            format!("targets:\n  - name: a\n    bucket: b-1\n{head}"),
            format!(
                "{head}targets:\n  - name: a\n  - {{name: b, bucket: b-2}}\n  - name: c\n    account_id: \"012345678901\"\n"
            ),
        ];
        let others = [
            format!("{head}targets:\n  - name: a\n    bucket: b-1\n  - name: b\n    account_id: 012345678901\n"),
            format!("{head}targets:\n  - name: a\n    buckets: b-1\n  - name: b\n    bucket: 5\n  - name: c\n    colour: red\n"),
            "defaults:\n  colour: red\ntargets:\n  - name: a\n    bucket: b-1\n".to_owned(),
            format!("{head}targets:\n  - name: a\n    bucket: b-1\nextra: 1\n"),
            "cluster: c\ntargets:\n  - name: a\n    bucket: b-1\n".to_owned(),
            format!("{head}targets:\n  - name: a\n    bucket: b-1\n    bucket: b-2\n"),
            format!("{head}targets:\n  - name: a\n    bucket: \"b-1\n  - name: b\"\n"),
            "defaults: &d\n  cluster: c\ntargets:\n  - name: a\n    bucket: b\n  - <<: *d\n    name: b\n".to_owned(),
            format!("{head}targets:\n  - name: a\n    bucket: b-1\n  - name: b\n    account_id: 1e3\n"),
            // Found by review: pieces that parse alone but not together.
            "defaults:\n  cluster: \"c\ntargets:\n  - name: a\n    bucket: b\n\"\n".to_owned(),
            "defaults:\n  cluster: 'c\ntargets:\n  - name: a\n    bucket: b\n'\n".to_owned(),
            "defaults: {cluster: c,\ntargets:\n  - name: a\n    bucket: b\nregion: r}\n".to_owned(),
            "? defaults\ntargets:\n  - name: a\n    bucket: b\n: {cluster: c}\n".to_owned(),
            "targets:\u{a0}\n  - name: a\n    bucket: b\n".to_owned(),
            "targets:\u{c}\n  - name: a\n    bucket: b\n".to_owned(),
            "\u{feff}targets:\n  - name: a\n    bucket: b\n".to_owned(),
            "targets:\n  - name: a\n    bucket: 5\n  - name: b\n    bucket: 6\ndefaults:\n  region: 7\n".to_owned(),
            "defaults:\n  tag: {a=b: x}\ntargets:\n  - name: a\n    tag: {c=d: y}\n".to_owned(),
            "x: &a {account_id: \"012345678901\"}\ntargets:\n  - name: t\n    tag: &a {account_id: 12}\ndefaults: *a\n".to_owned(),
            "targets:\n  - name: a\n    bucket: b\ntargets:\n  - name: c\n".to_owned(),
            // A tab after the dash: not an item line the cut knows, so the
            // whole reading decides.
            "targets:\n  - name: a\n    bucket: b\n  -\tname: c\n    bucket: d\n".to_owned(),
        ];
        for text in &cut_forms {
            let whole = ParamsFile::load_whole(text.clone(), "f".into()).map_err(|e| e.to_string());
            assert!(whole.is_ok(), "{text}: {whole:?}");
            assert_eq!(
                load_cut(text).ok_or("not cut"),
                whole.map_err(|_| "refused"),
                "{text}"
            );
        }
        for text in &others {
            let whole = ParamsFile::load_whole(text.clone(), "f".into()).map_err(|e| e.to_string());
            match load_cut(text) {
                None => {}
                Some(file) => assert_eq!(Ok(file), whole, "{text}"),
            }
        }
    }
}
