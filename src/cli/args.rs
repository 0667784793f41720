//! The command line's arguments (clap): the subcommands, and the parameters
//! as flags and environment variables, turned into raw parameters and then
//! validated targets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, Parser, Subcommand};

use crate::artifacts::artifact::{self, Artifact};
use crate::cli::own_params;
use crate::cli::sources::{self, Given};
use crate::cli::targets::{self, Target};
use crate::cli::ui::Ui;
use crate::error::Error;
use crate::input::params::{ParamsFile, RawBinding, RawParams};
use crate::render::templates::Engine;

const EXAMPLES: &str = "\
Examples:
  # The Pod Identity bundle for the docs page's values
  podiam generate --cluster my-eks-cluster --region us-west-2 \\
    --bucket my-bucket --out bundle

  # IRSA needs the account id and the cluster's OIDC issuer
  podiam generate --cluster my-eks-cluster --region us-west-2 \\
    --bucket my-bucket --method irsa --account-id 123456789012 \\
    --oidc-issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE \\
    --out bundle

  # The docs page's environment variables work too
  EKS_CLUSTER_NAME=c AWS_REGION=us-west-2 S3_BUCKET=my-bucket \\
    podiam render trust-policy

Exit codes: 0 success; 1 an output or check failed; 2 usage or input error.";

/// podiam: IAM roles for S3 access from EKS pods, rendered offline.
#[derive(Debug, Parser)]
#[command(name = "podiam", version, about, after_help = EXAMPLES)]
#[command(
    long_about = "Renders, offline, every artifact needed to give pods on Amazon EKS access to an S3 bucket \
through an IAM role, by EKS Pod Identity or IRSA: IAM policies, SkyPilot config and task, Kubernetes manifests. \
Every artifact is parsed back and checked against its schema before anything is written. podiam never calls AWS or Kubernetes."
)]
pub struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Print only errors: no notes, no list of written files.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,
    /// Also print each artifact as it is rendered and checked.
    #[arg(long, short, global = true)]
    pub(crate) verbose: bool,
}

/// The parameters, from flags or the docs page's environment variables.
/// Precedence: flag > params file > environment > default.
#[derive(Debug, Args)]
#[command(next_help_heading = "Parameters")]
pub struct ParamArgs {
    /// EKS cluster name.
    #[arg(long, env = "EKS_CLUSTER_NAME", value_name = "NAME")]
    cluster: Option<String>,
    /// AWS region; the partition (aws, aws-cn, aws-us-gov) follows from it.
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    region: Option<String>,
    /// Accept a region (or a KMS key's region) that podiam's list of regions does not hold yet.
    #[arg(long)]
    allow_unlisted_region: bool,
    /// S3 bucket name; repeat for more buckets (the first names the role and policy).
    #[arg(long, env = "S3_BUCKET", value_name = "BUCKET")]
    bucket: Vec<String>,
    /// Kubernetes namespace [default: default].
    #[arg(long, env = "K8S_NAMESPACE", value_name = "NAMESPACE")]
    namespace: Option<String>,
    /// Kubernetes service account [default: skypilot-service-account].
    #[arg(long, env = "K8S_SERVICE_ACCOUNT", value_name = "NAME")]
    service_account: Option<String>,
    /// kubeconfig context to pin SkyPilot to.
    #[arg(long, env = "KUBE_CONTEXT", value_name = "CONTEXT")]
    kube_context: Option<String>,
    /// AWS account id (12 digits); IRSA artifacts need it.
    #[arg(long, env = "AWS_ACCOUNT_ID", value_name = "ID")]
    account_id: Option<String>,
    /// The account that owns the buckets and their KMS keys, when not that of the role reaching S3 (the cluster's, or with --target-account the target's): adds the bucket owner's side (bucket policy, key policy, scripts/bucket-owner.sh).
    #[arg(
        long,
        env = "BUCKET_ACCOUNT_ID",
        value_name = "ID",
        help_heading = "Other accounts"
    )]
    bucket_account: Option<String>,
    /// Pod Identity role chaining: the account of a target role that holds the S3 policy (the association's targetRoleArn).
    #[arg(
        long,
        env = "TARGET_ACCOUNT_ID",
        value_name = "ID",
        help_heading = "Other accounts"
    )]
    target_account: Option<String>,
    /// How pods get the role [default: pod-identity]; both: IRSA and Pod Identity at once, to migrate.
    #[arg(long, value_parser = ["pod-identity", "irsa", "both"])]
    method: Option<String>,
    /// Another workload the role admits, NAMESPACE:SERVICE_ACCOUNT on the same cluster; repeatable (IRSA: '*' and '?' match names).
    #[arg(long, value_name = "NAMESPACE:SERVICE_ACCOUNT", value_parser = bind_pair)]
    bind: Vec<(String, String)>,
    /// The account's raised quota for the trust policy length, in characters [default: 2048; IAM's maximum: 8192].
    #[arg(long, value_name = "N", help_heading = "Trust")]
    trust_policy_quota: Option<String>,
    /// The cluster's OIDC issuer URL (IRSA), from `aws eks describe-cluster`.
    #[arg(long, value_name = "URL")]
    oidc_issuer: Option<String>,
    /// IAM policy name [default: SkyPilotS3Access-<bucket>].
    #[arg(long, env = "IAM_POLICY_NAME", value_name = "NAME")]
    policy_name: Option<String>,
    /// IAM role name [default: SkyPilotS3Role-<bucket>].
    #[arg(long, env = "IAM_ROLE_NAME", value_name = "NAME")]
    role_name: Option<String>,
    /// What pods may do with objects [default: read-write; read-only for COPY].
    #[arg(long, value_parser = ["read-write", "read-only"], help_heading = "Access")]
    access: Option<String>,
    /// SkyPilot mount mode of the test task [default: MOUNT_CACHED].
    #[arg(long, value_parser = ["MOUNT_CACHED", "MOUNT", "COPY"], help_heading = "Access")]
    mount_mode: Option<String>,
    /// Also grant s3:AbortMultipartUpload (rclone cleans up failed uploads with it).
    #[arg(long, help_heading = "Access")]
    multipart_cleanup: bool,
    /// Limit objects to this key prefix, and listing to it; repeatable.
    #[arg(long, value_name = "PREFIX", help_heading = "Access")]
    prefix: Vec<String>,
    /// KMS key ARN of an SSE-KMS bucket: adds kms:Decrypt (and GenerateDataKey for read-write) via S3 in the key's region only; repeatable.
    #[arg(long, value_name = "ARN", help_heading = "Access")]
    kms_key: Vec<String>,
    /// Pod Identity: the docs page's trust statement exactly, without the default pinning.
    #[arg(long, help_heading = "Trust", conflicts_with_all = ["trust_source_account", "trust_source_arn"])]
    trust_minimal: bool,
    /// Pod Identity: also pin the trust to the account (aws:SourceAccount); needs --account-id.
    #[arg(long, help_heading = "Trust")]
    trust_source_account: bool,
    /// Pod Identity: also pin the trust to this cluster's associations (ArnLike aws:SourceArn); opt-in.
    #[arg(long, help_heading = "Trust")]
    trust_source_arn: bool,
    /// Permissions boundary (managed policy ARN) for the role.
    #[arg(long, value_name = "ARN", help_heading = "Role")]
    permissions_boundary: Option<String>,
    /// IAM path for the role and policy [default: /].
    #[arg(long, value_name = "PATH", help_heading = "Role")]
    iam_path: Option<String>,
    /// The role's maximum session duration in seconds, 3600-43200 [default: 3600].
    #[arg(long, value_name = "SECONDS", help_heading = "Role")]
    max_session_duration: Option<String>,
    /// Tag for the role and policy, key=value; repeatable.
    #[arg(long, value_name = "KEY=VALUE", help_heading = "Role")]
    tag: Vec<String>,
    /// Pod Identity: install the eks-pod-identity-agent add-on when missing (create), or only check it (existing) [default: create].
    #[arg(long, value_name = "HOW", value_parser = ["create", "existing"], help_heading = "Trust")]
    pod_identity_agent: Option<String>,
    /// Terraform identifier for addresses, variables and outputs [default: s3_<bucket>[_<namespace>]].
    #[arg(
        long,
        env = "PODIAM_TF_NAME",
        value_name = "IDENT",
        help_heading = "Terraform"
    )]
    tf_name: Option<String>,
    /// Params file (YAML or JSON, `-` for stdin): flags override it; environment variables only
    /// fill what it leaves unset (none at all for a params.yaml podiam wrote).
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
    /// Select one target of a batch params file.
    #[arg(long, value_name = "NAME", help_heading = "Rendering")]
    target: Option<String>,
    /// Directory of template overrides: `<name>.tera` replaces the built-in of that name.
    #[arg(long, value_name = "DIR", help_heading = "Rendering")]
    templates: Option<PathBuf>,
    /// The parameters that came from environment variables: field → variable.
    #[arg(skip)]
    pub(crate) from_env: BTreeMap<String, String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Render, check and write every artifact below --out.
    Generate {
        #[command(flatten)]
        params: ParamArgs,
        /// Directory to write the bundle into.
        #[arg(long, short, value_name = "DIR")]
        out: PathBuf,
        /// Replace existing files whose content differs.
        #[arg(long)]
        force: bool,
    },
    /// Re-render in memory and compare with DIR: exit 0 if identical, 1 with a diff if not.
    ///
    /// With no --params, the parameters are DIR/params.yaml (a bundle's, or a batch's, which
    /// lists every target), with flags over them; environment variables are then ignored.
    Check {
        /// The bundle directory to compare.
        dir: PathBuf,
        #[command(flatten)]
        params: ParamArgs,
        /// Output format.
        #[arg(long, value_parser = ["text", "json"], default_value = "text")]
        format: String,
    },
    /// A review sheet in plain words (Markdown): who can assume the role, what it can reach, the risks.
    Explain {
        #[command(flatten)]
        params: ParamArgs,
    },
    /// Render one artifact to standard output.
    Render {
        /// The artifact's name (see `podiam list`).
        #[arg(value_parser = artifact_names())]
        artifact: String,
        #[command(flatten)]
        params: ParamArgs,
    },
    /// List the artifacts: name, path, format, schema.
    List {
        /// Print a Markdown table (as in the README) instead of columns.
        #[arg(long)]
        markdown: bool,
    },
    /// Print one of the JSON Schemas podiam checks against.
    Schema {
        /// The schema's name (params, iam-policy, trust-policy, ...).
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(crate::formats::schemas::Schema::names()))]
        name: String,
    },
    /// Check an existing file against an artifact's format and schema.
    Validate {
        /// The artifact's name (see `podiam list`).
        #[arg(value_parser = artifact_names())]
        artifact: String,
        /// The file to check.
        file: PathBuf,
    },
    /// Work with the built-in templates.
    #[command(subcommand)]
    Templates(TemplatesCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print podiam's man page (roff), or one subcommand's.
    Man {
        /// A subcommand's page: `generate`, `templates-export`, ... (the
        /// pages that `podiam man` names as podiam-<page>(1)).
        page: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TemplatesCommand {
    /// Write the built-in templates below DIR, as a starting point for --templates.
    Export {
        /// Where to write them.
        dir: PathBuf,
        /// Replace existing files whose content differs.
        #[arg(long)]
        force: bool,
    },
}

impl Command {
    /// The parameters of a command that takes them.
    pub(crate) fn params_mut(&mut self) -> Option<&mut ParamArgs> {
        match self {
            Command::Generate { params, .. }
            | Command::Check { params, .. }
            | Command::Explain { params }
            | Command::Render { params, .. } => Some(params),
            _ => None,
        }
    }
}

/// Which parameters of the chosen subcommand took their value from an
/// environment variable (clap records each value's source).
pub(crate) fn from_env(command: &clap::Command, matches: &ArgMatches) -> BTreeMap<String, String> {
    let Some((name, sub)) = matches.subcommand() else {
        return BTreeMap::new();
    };
    let Some(definition) = command.find_subcommand(name) else {
        return BTreeMap::new();
    };
    definition
        .get_arguments()
        .filter_map(|arg| {
            let var = arg.get_env()?;
            let id = arg.get_id().as_str();
            (sub.value_source(id) == Some(ValueSource::EnvVariable))
                .then(|| (id.to_owned(), var.to_string_lossy().into_owned()))
        })
        .collect()
}

/// Splits `--bind NAMESPACE:SERVICE_ACCOUNT` at its colon; the model checks both names.
fn bind_pair(value: &str) -> Result<(String, String), String> {
    match value.split_once(':') {
        Some((ns, sa)) if !ns.is_empty() && !sa.is_empty() => Ok((ns.to_owned(), sa.to_owned())),
        _ => Err(format!(
            "{value:?}: a binding is NAMESPACE:SERVICE_ACCOUNT, for example team-a:runner"
        )),
    }
}

impl ParamArgs {
    /// Flags and environment as one raw set, with the variables used.
    fn given(&self) -> Given {
        Given {
            params: self.raw(),
            from_env: self.from_env.clone(),
        }
    }

    fn raw(&self) -> RawParams {
        RawParams {
            cluster: self.cluster.clone(),
            region: self.region.clone(),
            allow_unlisted_region: self.allow_unlisted_region.then_some(true),
            bucket: non_empty(&self.bucket),
            namespace: self.namespace.clone(),
            service_account: self.service_account.clone(),
            kube_context: self.kube_context.clone(),
            account_id: self.account_id.clone(),
            bucket_account: self.bucket_account.clone(),
            target_account: self.target_account.clone(),
            method: self.method.clone(),
            oidc_issuer: self.oidc_issuer.clone(),
            policy_name: self.policy_name.clone(),
            role_name: self.role_name.clone(),
            access: self.access.clone(),
            mount_mode: self.mount_mode.clone(),
            multipart_cleanup: self.multipart_cleanup.then_some(true),
            prefix: non_empty(&self.prefix),
            kms_key: non_empty(&self.kms_key),
            trust_minimal: self.trust_minimal.then_some(true),
            trust_source_account: self.trust_source_account.then_some(true),
            trust_source_arn: self.trust_source_arn.then_some(true),
            permissions_boundary: self.permissions_boundary.clone(),
            iam_path: self.iam_path.clone(),
            max_session_duration: self.max_session_duration.clone(),
            tag: non_empty(&self.tag),
            tf_name: self.tf_name.clone(),
            pod_identity_agent: self.pod_identity_agent.clone(),
            bindings: (!self.bind.is_empty()).then(|| {
                self.bind
                    .iter()
                    .map(|(namespace, service_account)| RawBinding {
                        namespace: Some(namespace.clone()),
                        service_account: Some(service_account.clone()),
                        ..RawBinding::default()
                    })
                    .collect()
            }),
            trust_policy_quota: self.trust_policy_quota.clone(),
        }
    }

    /// Every target, validated: flags and environment over the params file.
    /// Notices go to stderr, naming their target in a batch.
    pub fn targets(&self, ui: &Ui) -> Result<Vec<Target>, Error> {
        targets::build(&self.validated(ui)?)
    }

    /// Every target, validated, as raw parameters for [`targets::stream`];
    /// notices go to stderr, naming their target in a batch.
    pub fn validated(&self, ui: &Ui) -> Result<Vec<targets::Valid>, Error> {
        let file = self.params.as_deref().map(ParamsFile::load).transpose()?;
        if let Some(path) = self
            .params
            .as_deref()
            .filter(|p| own_params::written_by_podiam(p))
        {
            self.ignoring_env(&format!("{}, which podiam wrote,", path.display()), ui);
            let given = Given {
                params: self.flags_only(),
                from_env: BTreeMap::new(),
            };
            return self.validate(given, file, ui);
        }
        let given = self.given();
        let note = given.note();
        let valid = self.validate(given, file, ui)?;
        note.iter().for_each(|n| ui.note(n));
        Ok(valid)
    }

    /// Notes the environment variables a run ignores because its parameters
    /// come from `source` (and the flags).
    fn ignoring_env(&self, source: &str, ui: &Ui) {
        if self.from_env.is_empty() {
            return;
        }
        let vars: Vec<&str> = self.from_env.values().map(String::as_str).collect();
        ui.note(&format!(
            "the parameters come from {source} and the flags; ignored from the environment: {}",
            vars.join(", ")
        ));
    }

    /// As [`ParamArgs::validated`], for `check DIR`: with no `--params`, the
    /// parameters are DIR's own `params.yaml` (or each target folder's),
    /// with flags over them and environment variables ignored, so that a
    /// CI job's `AWS_REGION` cannot change what is compared.
    pub fn validated_in(&self, dir: &Path, ui: &Ui) -> Result<Vec<targets::Valid>, Error> {
        if self.params.is_some() {
            return self.validated(ui);
        }
        if !dir.is_dir() {
            let why = if dir.exists() {
                "not a directory"
            } else {
                "no such directory"
            };
            return Err(Error::InputRead {
                path: dir.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, why),
            });
        }
        let Some(file) = own_params::find(dir)? else {
            if self.raw() == RawParams::default() {
                return Err(no_params(dir));
            }
            return self.validated(ui);
        };
        let own = dir.join(artifact::PARAMS_PATH);
        let source = match own.is_file() {
            true => own.display().to_string(),
            false => format!("the target folders' params.yaml below {}", dir.display()),
        };
        self.ignoring_env(&source, ui);
        let given = Given {
            params: self.flags_only(),
            from_env: BTreeMap::new(),
        };
        self.validate(given, Some(file), ui)
    }

    /// Whether `--params` was given.
    pub fn has_params_file(&self) -> bool {
        self.params.is_some()
    }

    /// Whether `--target` picks one target of a batch.
    pub fn one_target(&self) -> bool {
        self.target.is_some()
    }

    /// The flags alone: every value that came from a variable left out.
    fn flags_only(&self) -> RawParams {
        self.given().split().0
    }

    fn validate(
        &self,
        given: Given,
        file: Option<ParamsFile>,
        ui: &Ui,
    ) -> Result<Vec<targets::Valid>, Error> {
        let only = self.target.as_deref();
        let raws = sources::raw_targets(given, file, only)?;
        targets::validate(raws, only, |t| {
            let prefix = targets::prefix(t.name.as_deref());
            t.model
                .notices
                .iter()
                .for_each(|n| ui.note(&format!("{prefix}{n}")));
        })
    }

    /// The template engine for `selection` alone: with no overrides, only the
    /// templates it needs are parsed (the manifest needs the whole bundle).
    pub fn engine_for(&self, selection: &[&'static Artifact]) -> Result<EngineRef, Error> {
        let whole = selection.iter().any(|a| a.name == artifact::MANIFEST);
        if self.templates.is_some() || whole {
            return self.engine();
        }
        let names: Vec<&str> = selection.iter().map(|a| a.template).collect();
        Ok(EngineRef::Owned(Box::new(Engine::builtin_for(&names)?)))
    }

    /// The template engine: built-ins, or built-ins with overrides.
    pub fn engine(&self) -> Result<EngineRef, Error> {
        match &self.templates {
            Some(dir) => Ok(EngineRef::Owned(Box::new(Engine::with_overrides(dir)?))),
            None => Ok(EngineRef::Builtin(Engine::builtin()?)),
        }
    }
}

/// The artifact names, each with its summary, for validation and completion.
fn artifact_names() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(
        artifact::ARTIFACTS
            .iter()
            .map(|a| clap::builder::PossibleValue::new(a.name).help(a.summary)),
    )
}

/// The man page `page` names (`generate`, `templates-export`; none for
/// podiam's own), as a command named `podiam-<page>`, or `None`.
pub(crate) fn man_command(page: Option<&str>) -> Option<clap::Command> {
    let mut command = Cli::command();
    command.build();
    let Some(page) = page else {
        return Some(command);
    };
    let page = page.strip_prefix("podiam-").unwrap_or(page);
    for part in page.split('-') {
        command = command.find_subcommand(part)?.clone();
    }
    Some(
        command
            .name(format!("podiam-{page}"))
            .version(env!("CARGO_PKG_VERSION")),
    )
}

/// A repeated flag: `None` when not given, so lower sources can fill it.
fn non_empty(values: &[String]) -> Option<Vec<String>> {
    (!values.is_empty()).then(|| values.to_vec())
}

/// The built-in engine (shared) or one with overrides (owned).
pub enum EngineRef {
    /// The process-wide built-in templates.
    Builtin(&'static Engine),
    /// Built-ins with overrides from `--templates`.
    Owned(Box<Engine>),
}

impl std::ops::Deref for EngineRef {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        match self {
            EngineRef::Builtin(engine) => engine,
            EngineRef::Owned(engine) => engine,
        }
    }
}

/// `check DIR` was given no parameters and DIR holds no `params.yaml`.
fn no_params(dir: &Path) -> Error {
    let shown = dir.join(artifact::PARAMS_PATH).display().to_string();
    let rule = "not found, and no parameters were given: give --params FILE or the flags, or regenerate the bundle with this podiam, which writes params.yaml into every bundle";
    Error::Invalid(vec![crate::error::Violation::new(
        "params",
        Some(&shown),
        rule,
    )])
}
