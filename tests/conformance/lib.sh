#!/usr/bin/env bash
# Helpers shared by the conformance parts. Sourced by run.sh; each part
# sources it again (parts run in their own bash).
set -euo pipefail
: "${CONFORMANCE_ROOT:?run through tests/conformance/run.sh}"
: "${CONFORMANCE_WORK:?run through tests/conformance/run.sh}"

export PODIAM="$CONFORMANCE_ROOT/target/release/podiam"
export VENV="$CONFORMANCE_WORK/venv"

# build_podiam: the binary under test.
build_podiam() {
  (cd "$CONFORMANCE_ROOT" && cargo build --release --locked --quiet)
}

# need_apt PACKAGE COMMAND: installs a Debian package unless COMMAND exists.
need_apt() {
  local package="$1" command="$2"
  if command -v "$command" >/dev/null 2>&1; then
    return 0
  fi
  if [ ! -f "$CONFORMANCE_WORK/.apt-updated" ]; then
    apt-get update -qq >/dev/null
    touch "$CONFORMANCE_WORK/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
}

# setup_venv: one venv with every tests/conformance/requirements-*.txt,
# reinstalled only when those files change.
setup_venv() {
  local stamp="$VENV/.requirements" wanted
  wanted="$(cat "$CONFORMANCE_DIR"/requirements-*.txt 2>/dev/null | sort)"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    return 0
  fi
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  if [ -n "$wanted" ]; then
    local args=()
    for f in "$CONFORMANCE_DIR"/requirements-*.txt; do args+=(-r "$f"); done
    "$VENV/bin/pip" install --quiet "${args[@]}"
  fi
  printf '%s' "$wanted" >"$stamp"
}

# fresh_dir NAME: an empty directory below the work area.
fresh_dir() {
  local dir="$CONFORMANCE_WORK/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  printf '%s\n' "$dir"
}

# fail MESSAGE: prints and exits the part.
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
