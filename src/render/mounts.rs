//! The test task's SkyPilot file mounts, derived from the model's buckets and
//! prefixes; the task template and the runbook prose both read them.

use serde::Serialize;

use crate::input::access::{Level, MountMode};
use crate::input::model::Model;

/// One SkyPilot file mount.
#[derive(Debug, Serialize)]
pub struct Mount {
    /// Where it appears in the pod.
    pub path: String,
    /// `s3://<bucket>/` or `s3://<bucket>/<prefix>/`.
    pub source: String,
    /// The storage `config` section that makes a read-only mount read-only
    /// in SkyPilot too (`mount_cached` or `mount`); none for COPY or writes.
    pub read_only: Option<&'static str>,
}

/// The `config` key of a read-only mount in SkyPilot 0.14.1's storage schema.
fn read_only_key(model: &Model) -> Option<&'static str> {
    match (model.access, model.mount_mode) {
        (Level::ReadOnly, MountMode::MountCached) => Some("mount_cached"),
        (Level::ReadOnly, MountMode::Mount) => Some("mount"),
        _ => None,
    }
}

/// The test task's mounts: `/s3/data` for one, `/s3/<bucket>[/<prefix>]` for several.
pub fn mounts(model: &Model) -> Vec<Mount> {
    let mut sources: Vec<(String, String)> = Vec::new();
    for bucket in &model.buckets {
        let b = bucket.as_str();
        if model.prefixes.is_empty() {
            sources.push((format!("/s3/{b}"), format!("s3://{b}/")));
        }
        for p in &model.prefixes {
            sources.push((
                format!("/s3/{b}/{}", p.as_str()),
                format!("s3://{b}/{}/", p.as_str()),
            ));
        }
    }
    if let [(_, source)] = sources.as_slice() {
        return vec![Mount {
            path: "/s3/data".into(),
            source: source.clone(),
            read_only: read_only_key(model),
        }];
    }
    sources
        .into_iter()
        .map(|(path, source)| Mount {
            path,
            source,
            read_only: read_only_key(model),
        })
        .collect()
}
