//! The command line: raw arguments (clap) first, then a validated model, then
//! one of the commands. `main` maps errors to exit codes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::artifact::{self, ARTIFACTS};
use crate::bundle;
use crate::check;
use crate::error::Error;
use crate::model::Model;
use crate::output;
use crate::params::RawParams;
use crate::schemas::Schema;

const EXAMPLES: &str = "\
Examples:
  # The Pod Identity bundle for the docs page's values
  podiam generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --out bundle

  # IRSA needs the account id and the cluster's OIDC issuer
  podiam generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket \\
    --method irsa --account-id 123456789012 \\
    --oidc-issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE --out bundle

  # The docs page's environment variables work too
  EKS_CLUSTER_NAME=c AWS_REGION=us-west-2 S3_BUCKET=my-bucket podiam render trust-policy

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
    command: Command,
}

/// The parameters, from flags or the docs page's environment variables.
/// Precedence: flag > environment > params file > default.
#[derive(Debug, Args)]
#[command(next_help_heading = "Parameters")]
pub struct ParamArgs {
    /// EKS cluster name.
    #[arg(long, env = "EKS_CLUSTER_NAME", value_name = "NAME")]
    cluster: Option<String>,
    /// AWS region; the partition (aws, aws-cn, aws-us-gov) follows from it.
    #[arg(long, env = "AWS_REGION", value_name = "REGION")]
    region: Option<String>,
    /// S3 bucket name.
    #[arg(long, env = "S3_BUCKET", value_name = "BUCKET")]
    bucket: Option<String>,
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
    /// How pods get the role [default: pod-identity].
    #[arg(long, value_parser = ["pod-identity", "irsa"])]
    method: Option<String>,
    /// The cluster's OIDC issuer URL (IRSA), from `aws eks describe-cluster`.
    #[arg(long, value_name = "URL")]
    oidc_issuer: Option<String>,
    /// IAM policy name [default: SkyPilotS3Access-<bucket>].
    #[arg(long, env = "IAM_POLICY_NAME", value_name = "NAME")]
    policy_name: Option<String>,
    /// IAM role name [default: SkyPilotS3Role-<bucket>].
    #[arg(long, env = "IAM_ROLE_NAME", value_name = "NAME")]
    role_name: Option<String>,
    /// Params file (YAML or JSON, `-` for stdin), below flags and environment.
    #[arg(long, value_name = "FILE")]
    params: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    /// Render one artifact to standard output.
    Render {
        /// The artifact's name (see `podiam list`).
        artifact: String,
        #[command(flatten)]
        params: ParamArgs,
    },
    /// List the artifacts: name, path, format, schema.
    List,
    /// Print one of the JSON Schemas podiam checks against.
    Schema {
        /// The schema's name (params, iam-policy, trust-policy, ...).
        name: String,
    },
    /// Check an existing file against an artifact's format and schema.
    Validate {
        /// The artifact's name (see `podiam list`).
        artifact: String,
        /// The file to check.
        file: PathBuf,
    },
}

impl ParamArgs {
    /// Flags and environment, over the params file, as one raw set.
    fn raw(self) -> Result<RawParams, Error> {
        let file = match &self.params {
            Some(path) => RawParams::from_file(path)?,
            None => RawParams::default(),
        };
        let given = RawParams {
            cluster: self.cluster,
            region: self.region,
            bucket: self.bucket,
            namespace: self.namespace,
            service_account: self.service_account,
            kube_context: self.kube_context,
            account_id: self.account_id,
            method: self.method,
            oidc_issuer: self.oidc_issuer,
            policy_name: self.policy_name,
            role_name: self.role_name,
        };
        Ok(given.or(file))
    }

    /// The validated model; notices go to stderr.
    fn model(self) -> Result<Model, Error> {
        let model = Model::from_raw(&self.raw()?)?;
        for notice in &model.notices {
            eprintln!("podiam: note: {notice}");
        }
        Ok(model)
    }
}

/// Parses the command line, runs it, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("podiam: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Runs one parsed command.
pub fn run(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Generate { params, out, force } => generate(params, out, force),
        Command::Render { artifact, params } => render(&artifact, params),
        Command::List => {
            print(&list());
            Ok(())
        }
        Command::Schema { name } => {
            let schema = Schema::by_name(&name).ok_or_else(|| {
                Error::UnknownSchema(name, Schema::names().collect::<Vec<_>>().join(", "))
            })?;
            print(schema.text());
            Ok(())
        }
        Command::Validate { artifact, file } => validate(&artifact, &file),
    }
}

fn generate(params: ParamArgs, out: PathBuf, force: bool) -> Result<(), Error> {
    let model = params.model()?;
    let rendered = bundle::render(&model, &bundle::all())?;
    let report = output::write_bundle(&out, &rendered, force)?;
    let lines: String = report
        .iter()
        .map(|(path, status)| format!("{:<9} {}\n", status.word(), path.display()))
        .collect();
    print(&lines);
    Ok(())
}

fn render(name: &str, params: ParamArgs) -> Result<(), Error> {
    let artifact =
        artifact::by_name(name).ok_or_else(|| Error::UnknownArtifact(name.to_owned()))?;
    let model = params.model()?;
    let rendered = bundle::render(&model, &[artifact])?;
    rendered.iter().for_each(|r| print(&r.text));
    Ok(())
}

fn validate(name: &str, file: &std::path::Path) -> Result<(), Error> {
    let artifact =
        artifact::by_name(name).ok_or_else(|| Error::UnknownArtifact(name.to_owned()))?;
    let path = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| Error::InputRead {
        path: path.clone(),
        source,
    })?;
    let problems = check::check(artifact, &text);
    if !problems.is_empty() {
        return Err(Error::InvalidFile {
            path,
            artifact: artifact.name,
            problems,
        });
    }
    let by = artifact.schema.map_or_else(
        || artifact.format.name().to_owned(),
        |s| format!("schema {}", s.name()),
    );
    print(&format!("{path}: valid {name} ({by})\n"));
    Ok(())
}

/// The artifact table as text.
pub fn list() -> String {
    let mut text = format!(
        "{:<18} {:<32} {:<12} {:<20} {}\n",
        "NAME", "PATH", "FORMAT", "SCHEMA", "WHAT"
    );
    for a in ARTIFACTS {
        text.push_str(&format!(
            "{:<18} {:<32} {:<12} {:<20} {}\n",
            a.name,
            a.path,
            a.format.name(),
            a.schema.map_or("-", |s| s.name()),
            a.summary
        ));
    }
    text
}

/// Writes to stdout, ignoring a closed pipe (as `podiam render … | head` does).
fn print(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
