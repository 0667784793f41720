//! The `podiam` binary: parses arguments, runs, and maps errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    podiam::cli::main()
}
