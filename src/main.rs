//! The `podiam` binary: parses arguments, runs, and maps errors to exit codes.

use std::process::ExitCode;

/// mimalloc (v3, without transparent huge pages) instead of glibc's malloc:
/// a fresh batch spends a fifth of its time allocating and freeing, and
/// mimalloc's thread-local free lists take a quarter off its user time
/// (README, Benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    podiam::cli::main()
}
