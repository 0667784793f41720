#!/usr/bin/env bash
# Helpers shared by the conformance parts. Sourced by run.sh; each part
# sources it again (parts run in their own bash).
set -euo pipefail
: "${CONFORMANCE_ROOT:?run through tests/conformance/run.sh}"
: "${CONFORMANCE_WORK:?run through tests/conformance/run.sh}"

export PODIAM="$CONFORMANCE_ROOT/target/release/podiam"

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

# use_venv NAME: points VENV at a venv holding requirements-base.txt and
# requirements-NAME.txt, built (or rebuilt when those files change) on first
# use. Each tool set gets its own venv: their pins conflict with each other
# (checkov, parliament and moto want different botocore ranges).
use_venv() {
  local name="$1" wanted stamp
  local files=("$CONFORMANCE_DIR/requirements-base.txt")
  [ "$name" = base ] || files+=("$CONFORMANCE_DIR/requirements-$name.txt")
  export VENV="$CONFORMANCE_WORK/venv-$name"
  stamp="$VENV/.requirements"
  wanted="$(cat "${files[@]}")"
  if [ -x "$VENV/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    return 0
  fi
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  local args=()
  for f in "${files[@]}"; do args+=(-r "$f"); done
  "$VENV/bin/pip" install --quiet "${args[@]}"
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
