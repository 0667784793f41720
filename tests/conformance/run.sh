#!/usr/bin/env bash
# Conformance suite: checks podiam's artifacts with the real tools (see
# ../shared/reference/facts.md). Installs what it needs itself: apt packages
# through `need_apt`, Python tools into one venv per tool set (`use_venv`).
#
# Each part is a file tests/conformance/check-*.sh, sourced in order with
# the helpers from lib.sh; a part fails the suite by exiting non-zero.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CONFORMANCE_ROOT="$root"
export CONFORMANCE_DIR="$here"
export CONFORMANCE_WORK="${CONFORMANCE_WORK:-$root/target/conformance}"
mkdir -p "$CONFORMANCE_WORK"

# shellcheck source=tests/conformance/lib.sh
source "$here/lib.sh"

build_podiam

failed=0
parts=("$here"/check-*.sh)
if [ ! -e "${parts[0]}" ]; then
  echo "conformance: no check-*.sh parts found" >&2
  exit 1
fi
passed=0
for part in "${parts[@]}"; do
  name="$(basename "$part" .sh)"
  echo "== conformance: $name"
  if bash "$part"; then
    echo "ok: $name"
    passed=$((passed + 1))
  else
    echo "FAILED: $name" >&2
    failed=$((failed + 1))
  fi
done
echo "conformance: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
