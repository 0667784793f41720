//! The artifact table: one row per file podiam writes. The same table drives
//! `render`, `generate`, `list`, `validate`, the checks and the README.

use crate::model::{Method, Model};
use crate::policy;
use crate::schemas::Schema;

/// How an artifact is parsed back before it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON document.
    Json,
    /// One YAML document.
    Yaml,
    /// A stream of YAML documents separated by `---`, each checked on its own.
    YamlStream,
    /// Terraform HCL, parsed with hcl-rs.
    Hcl,
}

impl Format {
    /// The format's name, for listings.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::YamlStream => "yaml-stream",
            Format::Hcl => "hcl",
        }
    }
}

/// A parameter an artifact cannot do without, for some method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// IRSA's trust names the OIDC provider: account id and issuer.
    IrsaTrust,
    /// IRSA's service account annotation names the role ARN: account id.
    IrsaRoleArn,
}

impl Need {
    /// What the model lacks for this need, as sentences; empty when satisfied.
    pub fn missing(self, model: &Model) -> Vec<String> {
        if model.method != Method::Irsa {
            return Vec::new();
        }
        match self {
            Need::IrsaTrust => policy::irsa_missing(model),
            Need::IrsaRoleArn if model.account_id.is_none() => vec![
                "account-id: the IRSA service account annotation holds the role ARN, which holds the account id; give --account-id or set AWS_ACCOUNT_ID".to_owned(),
            ],
            Need::IrsaRoleArn => Vec::new(),
        }
    }
}

/// One row of the artifact table.
#[derive(Debug)]
pub struct Artifact {
    /// The name used by `render` and `validate`.
    pub name: &'static str,
    /// The template that renders it (see `templates/`).
    pub template: &'static str,
    /// Where `generate` writes it, relative to `--out`.
    pub path: &'static str,
    /// How it is parsed back.
    pub format: Format,
    /// The schema it must pass.
    pub schema: Schema,
    /// Parameters it cannot do without.
    pub needs: &'static [Need],
    /// One line on what it is.
    pub summary: &'static str,
}

/// Every artifact, in the order of the docs page's procedure.
pub const ARTIFACTS: &[Artifact] = &[
    Artifact {
        name: "s3-access-policy",
        template: "iam/s3-access-policy.json",
        path: "iam/s3-access-policy.json",
        format: Format::Json,
        schema: Schema::IamPolicy,
        needs: &[],
        summary: "IAM permission policy: the access profile's S3 actions (read-write or read-only) on the buckets, and the KMS key if given",
    },
    Artifact {
        name: "trust-policy",
        template: "iam/trust-policy.json",
        path: "iam/trust-policy.json",
        format: Format::Json,
        schema: Schema::TrustPolicy,
        needs: &[Need::IrsaTrust],
        summary: "IAM role trust policy for the chosen method (Pod Identity or IRSA)",
    },
    Artifact {
        name: "skypilot-config",
        template: "skypilot/config.yaml",
        path: "skypilot/config.yaml",
        format: Format::Yaml,
        schema: Schema::SkypilotConfig,
        needs: &[],
        summary: "lines to merge into ~/.sky/config.yaml (aws.remote_identity: NO_UPLOAD)",
    },
    Artifact {
        name: "skypilot-task",
        template: "skypilot/task.yaml",
        path: "skypilot/task.yaml",
        format: Format::Yaml,
        schema: Schema::SkypilotTask,
        needs: &[],
        summary: "SkyPilot smoke-test task that mounts the bucket and lists it",
    },
    Artifact {
        name: "serviceaccount",
        template: "kubernetes/serviceaccount.yaml",
        path: "kubernetes/serviceaccount.yaml",
        format: Format::YamlStream,
        schema: Schema::KubernetesManifest,
        needs: &[Need::IrsaRoleArn],
        summary: "Kubernetes ServiceAccount (and Namespace when not 'default'); IRSA adds the role annotation",
    },
    Artifact {
        name: "terraform-versions",
        template: "terraform/versions.tf",
        path: "terraform/versions.tf",
        format: Format::Hcl,
        schema: Schema::Terraform,
        needs: &[],
        summary: "Terraform module: required providers (aws; kubernetes for IRSA)",
    },
    Artifact {
        name: "terraform-variables",
        template: "terraform/variables.tf",
        path: "terraform/variables.tf",
        format: Format::Hcl,
        schema: Schema::Terraform,
        needs: &[],
        summary: "Terraform module: one variable per input, defaulting to the given values, validated",
    },
    Artifact {
        name: "terraform-main",
        template: "terraform/main.tf",
        path: "terraform/main.tf",
        format: Format::Hcl,
        schema: Schema::Terraform,
        needs: &[],
        summary: "Terraform module: policy, role, attachment, and the association or OIDC trust",
    },
    Artifact {
        name: "terraform-outputs",
        template: "terraform/outputs.tf",
        path: "terraform/outputs.tf",
        format: Format::Hcl,
        schema: Schema::Terraform,
        needs: &[],
        summary: "Terraform module: role ARN, policy ARN, association id or OIDC provider ARN",
    },
    Artifact {
        name: "terraform",
        template: "terraform/single.tf",
        path: "<tf-name>.tf",
        format: Format::Hcl,
        schema: Schema::Terraform,
        needs: &[],
        summary: "single Terraform file for an existing root module (render only; generate does not write it)",
    },
    Artifact {
        name: MANIFEST,
        template: "manifest.json",
        path: "manifest.json",
        format: Format::Json,
        schema: Schema::Manifest,
        needs: &[],
        summary: "what the bundle holds: podiam version, normalised parameters, each artifact's SHA-256 and schema",
    },
];

/// The manifest's name: it hashes every other artifact, so it renders last.
pub const MANIFEST: &str = "manifest";

/// Artifacts that `render` prints but `generate` does not write.
const RENDER_ONLY: &[&str] = &["terraform"];

impl Artifact {
    /// Whether `generate` writes this artifact into the bundle.
    pub fn in_bundle(&self) -> bool {
        !RENDER_ONLY.contains(&self.name)
    }
}

/// Looks an artifact up by name.
pub fn by_name(name: &str) -> Option<&'static Artifact> {
    ARTIFACTS.iter().find(|a| a.name == name)
}

/// What the model lacks to render `artifact`, as sentences.
pub fn missing(artifact: &Artifact, model: &Model) -> Vec<String> {
    artifact
        .needs
        .iter()
        .flat_map(|n| n.missing(model))
        .collect()
}
