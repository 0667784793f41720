//! The command line: clap's arguments ([`args`]) become raw parameters, then
//! validated targets ([`targets`]), then one of the [`commands`]; [`main`]
//! maps errors to exit codes, and [`ui`] owns what reaches the terminal.
//!
//! This is the top layer: it may use every layer below it, and none of them
//! uses it.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::error::Error;
use args::{Cli, Command, TemplatesCommand};
use ui::Ui;

pub mod args;
pub mod batch_index;
pub mod commands;
pub mod merge;
pub mod own_params;
pub mod parallel;
pub mod report;
pub mod sources;
pub mod targets;
pub mod ui;

/// Parses the command line, runs it, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let ui = Ui::new(cli.quiet, cli.verbose);
    match run(cli.command, &ui) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            ui.error(&e.to_string());
            ExitCode::from(e.exit_code())
        }
    }
}

/// The command line, noting which parameters came from the environment.
fn parse() -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let matches = command.try_get_matches_from_mut(std::env::args_os())?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    if let Some(params) = cli.command.params_mut() {
        params.from_env = args::from_env(&command, &matches);
    }
    Ok(cli)
}

/// Runs one parsed command.
fn run(command: Command, ui: &Ui) -> Result<(), Error> {
    match command {
        Command::Generate { params, out, force } => commands::generate(&params, &out, force, ui),
        Command::Check {
            dir,
            params,
            format,
        } => commands::check_dir(&dir, &params, &format, ui),
        Command::Explain { params } => commands::explain(&params, ui),
        Command::Render { artifact, params } => commands::render(&artifact, &params, ui),
        Command::List { markdown } => {
            ui.detail(&format!(
                "{} artifacts, from the table in src/artifacts/artifact.rs",
                crate::artifacts::artifact::ARTIFACTS.len()
            ));
            commands::print(&if markdown {
                commands::list_markdown()
            } else {
                commands::list()
            });
            Ok(())
        }
        Command::Schema { name } => commands::schema(&name, ui),
        Command::Validate { artifact, file } => commands::validate(&artifact, &file, ui),
        Command::Templates(TemplatesCommand::Export { dir, force }) => {
            commands::export_templates(&dir, force, ui)
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "podiam", &mut out);
            ui.detail(&format!(
                "completion script for {shell}: subcommands, flags, and the artifact and schema names"
            ));
            commands::print(&String::from_utf8_lossy(&out));
            Ok(())
        }
        Command::Man { page } => commands::man(page.as_deref(), ui),
    }
}
