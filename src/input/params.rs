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
use crate::input::held::{Held, Holder};

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
        // A regular file is read a line at a time first; when that gives
        // up, the same handle is read again from its start (on some
        // systems, opening /dev/stdin again would share the spent position).
        // Standard input and pipes cannot be read twice: read whole.
        let text = match regular_file(path) {
            Some(mut file) => match load_streamed(&file) {
                Some(loaded) => return Ok(loaded),
                None => reread(&mut file),
            },
            None => read_source(path),
        }
        .map_err(|source| Error::ParamsRead {
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
        let mut holder = Holder::default();
        let targets =
            serde_json::from_value::<Vec<serde_json::Map<String, serde_json::Value>>>(targets)
                .map_err(|e| parse_err(e.to_string()))?
                .into_iter()
                .map(|fields| target_of(&mut holder, fields).map_err(|e| parse_err(e.to_string())))
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
    let cut = batch_text::cut(text)?;
    let (rest, defaults) = rest_of(&cut.rest)?;
    let mut holder = Holder::default();
    let targets = cut
        .items
        .iter()
        .map(|item| target_in(&mut holder, &rest, item))
        .collect::<Option<Vec<Target>>>()?;
    Some(ParamsFile::Batch { defaults, targets })
}

/// [`load_cut`] of a file read a line at a time, holding only the lines of
/// the target being read (a 10,000-target batch's own `params.yaml` is
/// 2.7 MB). `None` in the same cases, and when top-level lines follow the
/// list: the rest each target is checked with is complete only then, so
/// the caller reads such a file whole. Such a file, and a params file that
/// is not a batch, are read twice: small files, or rare forms.
fn load_streamed(file: &std::fs::File) -> Option<ParamsFile> {
    use std::io::BufRead;
    let mut reader = std::io::BufReader::new(file);
    let mut cutter = batch_text::Cutter::default();
    let mut context: Option<(serde_json::Value, RawParams)> = None;
    let mut targets = Vec::new();
    let mut holder = Holder::default();
    let mut line = String::new();
    while {
        line.clear();
        reader.read_line(&mut line).ok()? > 0
    } {
        let ended = cutter.push(&line)?;
        if cutter.in_tail() {
            return None;
        }
        if let Some(item) = ended {
            let (rest, _) = match &context {
                Some(c) => c,
                None => context.insert(rest_of(cutter.head()?)?),
            };
            targets.push(target_in(&mut holder, rest, &item)?);
        }
    }
    let (rest, last) = cutter.finish()?;
    let (rest, defaults) = match context {
        Some(c) => c,
        None => rest_of(&rest)?,
    };
    targets.push(target_in(&mut holder, &rest, &last?)?);
    Some(ParamsFile::Batch { defaults, targets })
}

/// The rest of a cut batch file parsed: the document each target is
/// checked in, and the defaults; `None` when it is not a mapping whose
/// `targets` is empty, or holds a misread account id.
fn rest_of(text: &str) -> Option<(serde_json::Value, RawParams)> {
    use serde_json::Value;
    let rest = match serde_yaml::from_str::<Value>(text).ok()? {
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
    Some((rest, defaults))
}

/// One target's lines, parsed alone, checked against the schema in `rest`
/// and converted; `None` on any problem.
fn target_in(holder: &mut Holder, rest: &serde_json::Value, item: &str) -> Option<Target> {
    use serde_json::Value;
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
    target_of(holder, fields).ok()
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
    holder: &mut Holder,
    mut fields: serde_json::Map<String, serde_json::Value>,
) -> Result<Target, serde_json::Error> {
    let name = fields
        .remove("name")
        .and_then(|n| n.as_str().map(str::to_owned))
        .unwrap_or_default();
    let params: RawParams = serde_json::from_value(serde_json::Value::Object(fields))?;
    Ok(Target {
        name,
        params: holder.hold(&params)?,
    })
}

/// `path` opened, when it is a regular file (not `-`, a pipe or a device).
fn regular_file(path: &Path) -> Option<std::fs::File> {
    // Looked at before it is opened: opening a named pipe would wait for a
    // writer, and closing it again could fail that writer.
    if path.as_os_str() == "-" || !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

/// All of `file`, from its start.
fn reread(file: &mut std::fs::File) -> std::io::Result<String> {
    use std::io::Seek;
    file.rewind()?;
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
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
mod tests;
