#!/usr/bin/env bash
# Mutation testing (cargo-mutants) of podiam's security-relevant modules:
# escaping, input rules, policy building, drift, output writing, batch
# merging, and the shell check's memory of valid scripts (a wrong "valid"
# there would skip `bash -n`). Every mutant must be caught by a test, or be
# listed in tests/mutants-equivalent.txt with the reason it cannot change
# behaviour.
#
#   tests/mutants.sh                  # every mutant of those modules (over an hour)
#   tests/mutants.sh --in-diff D.diff # only mutants on lines of a change
#   tests/mutants.sh --iterate        # skip mutants caught by the last run
#   tests/mutants.sh --shard 1/4      # a quarter of them
#
# Results go to target/mutants/mutants.out/ (caught.txt, missed.txt, ...).
# Too slow for every push, so CI does not run it; README.md records the
# last score. Settings: .cargo/mutants.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
version=27.1.0
if ! cargo mutants --version 2>/dev/null | grep -q "$version"; then
  cargo install --locked "cargo-mutants@$version"
fi
command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
modules=(
  src/formats/escape.rs src/formats/hclwrite.rs src/formats/awscli.rs
  src/input/rules.rs src/input/names.rs src/input/access.rs
  src/input/batch_text.rs src/input/params.rs src/input/held.rs
  src/formats/shell_syntax/known.rs src/formats/shell_syntax/cursor.rs
  src/iam/policy.rs
  src/output/drift.rs src/output/write.rs src/output/pending.rs src/output/top.rs
  src/cli/targets.rs src/cli/report.rs
)
args=()
for m in "${modules[@]}"; do args+=(--file "$m"); done
status=0
cargo mutants "${args[@]}" "$@" || status=$?
out=target/mutants/mutants.out
if [ -f "$out/missed.txt" ]; then
  # A missed mutant is explained when tests/mutants-equivalent.txt lists it:
  # the line as cargo-mutants prints it, without line and column (they move
  # as code changes), then " # " and the reason.
  strip() { sed -E 's/^([^:]+):[0-9]+:[0-9]+: /\1: /; s/ # .*//' "$@"; }
  unexplained=$(grep -vxFf <(strip tests/mutants-equivalent.txt | grep -Ev '^(#|$)') <(strip "$out/missed.txt") || true)
  count() { if [ -f "$out/$1.txt" ]; then wc -l <"$out/$1.txt"; else echo 0; fi; }
  echo "mutants: $(count caught) caught, $(count timeout) timed out (the tests hung: caught)," \
    "$(count unviable) unviable, $(count missed) missed, of which unexplained:"
  echo "${unexplained:-  (none)}"
  [ -z "$unexplained" ] || exit 2
  # cargo-mutants exits 2 for missed mutants (all explained here) and 3 for
  # timeouts (a mutant that makes the tests hang is caught).
  case "$status" in 2 | 3) status=0 ;; esac
fi
exit "$status"
