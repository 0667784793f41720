//! The artifact table: one row per file podiam writes. The same table drives
//! `render`, `generate`, `list`, `validate`, the checks and the README.

use crate::formats::schemas::Schema;
use crate::input::model::Model;

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
    /// A bash script, checked with `bash -n` (see [`crate::formats::script`]).
    Shell,
    /// A Markdown document, checked for balanced fences (see [`crate::formats::markdown`]).
    Markdown,
}

impl Format {
    /// The format's name, for listings.
    pub fn name(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Yaml => "yaml",
            Format::YamlStream => "yaml-stream",
            Format::Hcl => "hcl",
            Format::Shell => "shell",
            Format::Markdown => "markdown",
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
        if !model.method.irsa() {
            return Vec::new();
        }
        match self {
            Need::IrsaTrust => crate::iam::trust::irsa_missing(model),
            Need::IrsaRoleArn if model.account_id.is_none() => vec![
                "account-id: the IRSA service account annotation holds the role ARN, which holds the account id; give --account-id or set AWS_ACCOUNT_ID".to_owned(),
            ],
            Need::IrsaRoleArn => Vec::new(),
        }
    }
}

/// A bundle shape an artifact belongs to, when not every bundle has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    /// The buckets are in another account: `--bucket-account`.
    BucketPolicy,
    /// A KMS key is in another account than the role that calls S3.
    KeyPolicy,
    /// The bucket owner has something to add: a bucket policy or a key policy.
    BucketOwner,
    /// Pod Identity role chaining: `--target-account`.
    TargetRole,
}

impl Only {
    /// Whether a bundle for `model` has the artifact.
    pub fn applies(self, model: &Model) -> bool {
        let bucket = model.accounts.bucket_account.is_some();
        let keys = !crate::iam::cross::foreign_keys(model).is_empty();
        match self {
            Only::BucketPolicy => bucket,
            Only::KeyPolicy => keys,
            Only::BucketOwner => bucket || keys,
            Only::TargetRole => model.accounts.target_account.is_some(),
        }
    }

    /// Why a bundle for another model lacks it, naming what would add it.
    pub fn rule(self) -> &'static str {
        match self {
            Only::BucketPolicy => {
                "bucket-account: only a bundle whose buckets are in another account has the bucket owner's bucket policy; give --bucket-account (with --account-id)"
            }
            Only::KeyPolicy => {
                "kms-key: only a bundle with a KMS key of another account than the role's (with --account-id) has a key-policy statement"
            }
            Only::BucketOwner => {
                "bucket-account: only a bundle whose buckets or keys are in another account has the bucket owner's side; give --bucket-account (with --account-id)"
            }
            Only::TargetRole => {
                "target-account: only a Pod Identity bundle with a target role has the target role's documents; give --target-account (with --account-id)"
            }
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
    /// The schema it must pass; `None` for formats that are not data (shell, Markdown).
    pub schema: Option<Schema>,
    /// Whether it is written executable (0755).
    pub executable: bool,
    /// Parameters it cannot do without.
    pub needs: &'static [Need],
    /// The bundles that have it; `None`: every bundle.
    pub only: Option<Only>,
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
        schema: Some(Schema::IamPolicy),
        executable: false,
        only: None,
        needs: &[],
        summary: "IAM permission policy for the access profile (default: the docs page's five actions on the bucket)",
    },
    Artifact {
        name: "trust-policy",
        template: "iam/trust-policy.json",
        path: "iam/trust-policy.json",
        format: Format::Json,
        schema: Some(Schema::TrustPolicy),
        executable: false,
        only: None,
        needs: &[Need::IrsaTrust],
        summary: "IAM role trust policy for the method; Pod Identity is pinned to cluster, namespace and service account by default",
    },
    Artifact {
        name: "target-trust-policy",
        template: "iam/target-trust-policy.json",
        path: "iam/target-trust-policy.json",
        format: Format::Json,
        schema: Some(Schema::TrustPolicy),
        executable: false,
        only: Some(Only::TargetRole),
        needs: &[],
        summary: "the target role's trust (role chaining, --target-account): the source role only, with each association's sts:ExternalId",
    },
    Artifact {
        name: "source-role-policy",
        template: "iam/source-role-policy.json",
        path: "iam/source-role-policy.json",
        format: Format::Json,
        schema: Some(Schema::IamPolicy),
        executable: false,
        only: Some(Only::TargetRole),
        needs: &[],
        summary: "the source role's inline policy (role chaining): sts:AssumeRole and sts:TagSession on the target role, nothing else",
    },
    Artifact {
        name: "bucket-policy",
        template: "iam/bucket-policy.json",
        path: "iam/bucket-policy.json",
        format: Format::Json,
        schema: Some(Schema::ResourcePolicy),
        executable: false,
        only: Some(Only::BucketPolicy),
        needs: &[],
        summary: "the statements the bucket owner adds to each bucket's policy (--bucket-account): the role, the same actions on the same ARNs",
    },
    Artifact {
        name: "kms-key-policy",
        template: "iam/kms-key-policy.json",
        path: "iam/kms-key-policy.json",
        format: Format::Json,
        schema: Some(Schema::ResourcePolicy),
        executable: false,
        only: Some(Only::KeyPolicy),
        needs: &[],
        summary: "the statement the key owner adds to each key policy of another account: the KMS actions, through S3 only",
    },
    Artifact {
        name: "skypilot-config",
        template: "skypilot/config.yaml",
        path: "skypilot/config.yaml",
        format: Format::Yaml,
        schema: Some(Schema::SkypilotConfig),
        executable: false,
        only: None,
        needs: &[],
        summary: "lines to merge into ~/.sky/config.yaml (aws.remote_identity: NO_UPLOAD)",
    },
    Artifact {
        name: "skypilot-task",
        template: "skypilot/task.yaml",
        path: "skypilot/task.yaml",
        format: Format::Yaml,
        schema: Some(Schema::SkypilotTask),
        executable: false,
        only: None,
        needs: &[],
        summary: "SkyPilot smoke-test task that mounts the bucket and lists it",
    },
    Artifact {
        name: "serviceaccount",
        template: "kubernetes/serviceaccount.yaml",
        path: "kubernetes/serviceaccount.yaml",
        format: Format::YamlStream,
        schema: Some(Schema::KubernetesManifest),
        executable: false,
        only: None,
        needs: &[Need::IrsaRoleArn],
        summary: "Kubernetes ServiceAccount (and Namespace when not 'default'), labelled podiam; IRSA adds the role annotation",
    },
    Artifact {
        name: "rbac",
        template: "kubernetes/rbac.yaml",
        path: "kubernetes/rbac.yaml",
        format: Format::YamlStream,
        schema: Some(Schema::KubernetesManifest),
        executable: false,
        only: None,
        needs: &[],
        summary: "the RBAC SkyPilot documents for a custom service account (Role, ClusterRole, bindings; skypilot-system for FUSE mounts), labelled podiam",
    },
    Artifact {
        name: "apply-script",
        template: "scripts/apply.sh",
        path: "scripts/apply.sh",
        format: Format::Shell,
        schema: None,
        executable: true,
        only: None,
        needs: &[Need::IrsaTrust, Need::IrsaRoleArn],
        summary: "creates every AWS and Kubernetes resource of the docs page that is missing, checking first; idempotent; --dry-run",
    },
    Artifact {
        name: "verify-script",
        template: "scripts/verify.sh",
        path: "scripts/verify.sh",
        format: Format::Shell,
        schema: None,
        executable: true,
        only: None,
        needs: &[Need::IrsaTrust, Need::IrsaRoleArn],
        summary: "the docs page's troubleshooting as PASS/FAIL checks; exits non-zero on any failure",
    },
    Artifact {
        name: "teardown-script",
        template: "scripts/teardown.sh",
        path: "scripts/teardown.sh",
        format: Format::Shell,
        schema: None,
        executable: true,
        only: None,
        needs: &[Need::IrsaTrust, Need::IrsaRoleArn],
        summary: "deletes what apply.sh created, in reverse; asks first unless --yes",
    },
    Artifact {
        name: "bucket-owner-script",
        template: "scripts/bucket-owner.sh",
        path: "scripts/bucket-owner.sh",
        format: Format::Shell,
        schema: None,
        executable: true,
        only: Some(Only::BucketOwner),
        needs: &[],
        summary: "run with the bucket account's credentials: apply, verify or teardown podiam's statements in the bucket (and key) policies, by Sid, keeping every other statement",
    },
    Artifact {
        name: "runbook",
        template: "RUNBOOK.md",
        path: "RUNBOOK.md",
        format: Format::Markdown,
        schema: None,
        executable: false,
        only: None,
        needs: &[Need::IrsaTrust, Need::IrsaRoleArn],
        summary: "the docs page rewritten for these values and this method: what, why, JSON, commands, test, troubleshooting",
    },
    Artifact {
        name: "terraform-versions",
        template: "terraform/versions.tf",
        path: "terraform/versions.tf",
        format: Format::Hcl,
        schema: Some(Schema::Terraform),
        executable: false,
        only: None,
        needs: &[],
        summary: "Terraform module: required providers (aws; kubernetes for IRSA)",
    },
    Artifact {
        name: "terraform-variables",
        template: "terraform/variables.tf",
        path: "terraform/variables.tf",
        format: Format::Hcl,
        schema: Some(Schema::Terraform),
        executable: false,
        only: None,
        needs: &[],
        summary: "Terraform module: one variable per input, defaulting to the given values, validated",
    },
    Artifact {
        name: "terraform-main",
        template: "terraform/main.tf",
        path: "terraform/main.tf",
        format: Format::Hcl,
        schema: Some(Schema::Terraform),
        executable: false,
        only: None,
        needs: &[],
        summary: "Terraform module: policy, role, attachment, and the association or OIDC trust",
    },
    Artifact {
        name: "terraform-outputs",
        template: "terraform/outputs.tf",
        path: "terraform/outputs.tf",
        format: Format::Hcl,
        schema: Some(Schema::Terraform),
        executable: false,
        only: None,
        needs: &[],
        summary: "Terraform module: role ARN, policy ARN, association id or OIDC provider ARN",
    },
    Artifact {
        name: "terraform-bucket-owner",
        template: "terraform/bucket-owner/main.tf",
        path: "terraform/bucket-owner/main.tf",
        format: Format::Hcl,
        schema: Some(Schema::Terraform),
        executable: false,
        only: Some(Only::BucketOwner),
        needs: &[],
        summary: "Terraform module for the bucket owner's account, with its own provider: podiam's bucket (and key) policy statements",
    },
    Artifact {
        name: "terraform",
        template: "terraform/single.tf",
        path: "<tf-name>.tf",
        format: Format::Hcl,
        schema: Some(Schema::Terraform),
        executable: false,
        only: None,
        needs: &[],
        summary: "single Terraform file for an existing root module (render only; generate does not write it)",
    },
    Artifact {
        name: "review",
        template: "REVIEW.md",
        path: "REVIEW.md",
        format: Format::Markdown,
        schema: None,
        executable: false,
        only: None,
        needs: &[Need::IrsaTrust],
        summary: "review sheet in plain words (as `podiam explain`): who can assume the role, what it can reach, risks",
    },
    Artifact {
        name: PARAMS,
        template: "params.yaml",
        path: PARAMS_PATH,
        format: Format::Yaml,
        schema: Some(Schema::Params),
        executable: false,
        only: None,
        needs: &[],
        summary: "the bundle's parameters as a params file: `generate --params` and `check` reproduce the bundle from it",
    },
    Artifact {
        name: MANIFEST,
        template: "manifest.json",
        path: MANIFEST_PATH,
        format: Format::Json,
        schema: Some(Schema::Manifest),
        executable: false,
        only: None,
        needs: &[],
        summary: "what the bundle holds: podiam version, normalised parameters, each artifact's SHA-256 and schema",
    },
];

/// The manifest's name: it hashes every other artifact, so it renders last.
pub const MANIFEST: &str = "manifest";

/// The manifest's path in a bundle.
pub const MANIFEST_PATH: &str = "manifest.json";

/// The name of the artifact that holds a bundle's own parameters.
pub const PARAMS: &str = "params";

/// Its path in a bundle; a batch's own list of targets sits at the same
/// path at the top of its output directory.
pub const PARAMS_PATH: &str = "params.yaml";

/// Artifacts that `render` prints but `generate` does not write.
const RENDER_ONLY: &[&str] = &["terraform"];

impl Artifact {
    /// Whether `generate` writes this artifact into some bundle.
    pub fn in_bundle(&self) -> bool {
        !RENDER_ONLY.contains(&self.name)
    }

    /// Whether a bundle for `model` has this artifact.
    pub fn applies(&self, model: &Model) -> bool {
        self.only.is_none_or(|o| o.applies(model))
    }
}

impl Artifact {
    /// What the artifact is checked against before it is written: its
    /// schema, or for formats without one, the parse-back check.
    pub fn check_name(&self) -> &'static str {
        match (self.schema, self.format) {
            (Some(schema), _) => schema.name(),
            (None, Format::Shell) => "bash -n",
            (None, Format::Markdown) => "markdown structure",
            (None, format) => format.name(),
        }
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

/// One rendered, checked artifact.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The table row it came from.
    pub artifact: &'static Artifact,
    /// Its text, ready to write.
    pub text: String,
}

#[cfg(test)]
mod tests {
    use crate::render::kube::{ACCOUNT_FILE, RBAC_FILE};

    #[test]
    fn every_manifest_the_scripts_create_from_is_in_the_bundle() {
        for file in [ACCOUNT_FILE, RBAC_FILE] {
            let row = super::ARTIFACTS.iter().find(|a| a.path == file);
            assert!(row.is_some_and(|a| a.in_bundle()), "{file}");
        }
    }
}
