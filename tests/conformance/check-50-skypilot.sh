#!/usr/bin/env bash
# Semantic check of the SkyPilot files with SkyPilot's own code (0.14.1):
# every generated skypilot/config.yaml goes through SkyPilot's config schema
# and loader in the API server's strict mode, and its look-ups must give
# aws.remote_identity NO_UPLOAD and the namespace, service account and
# context passed; every skypilot/task.yaml goes through sky.Task.from_yaml and
# each storage mount through the validation the API server runs in
# Storage.construct() (offline parts only). Expectations come from the
# parameters (semantic/skypilot_check.py), with positive controls first.
# Then override-style files (semantic/skypilot_agreement.py): `podiam
# validate` accepts those SkyPilot accepts, refuses those it refuses, and
# names its own rules when only they refuse a file.
set -euo pipefail
# shellcheck source=tests/conformance/lib.sh
source "$CONFORMANCE_DIR/lib.sh"
use_venv skypilot

out="$(fresh_dir skypilot)"
# SkyPilot writes ~/.sky and ~/sky_logs: keep them in the work area.
HOME="$(fresh_dir skypilot-home)" PYTHONDONTWRITEBYTECODE=1 SKYPILOT_DISABLE_USAGE_COLLECTION=1 \
  "$VENV/bin/python" "$CONFORMANCE_DIR/semantic/skypilot_check.py" "$PODIAM" "$out"
# Override-style files: `podiam validate` accepts what SkyPilot accepts and
# refuses what it refuses, naming the JSON path; podiam's own rules are named.
HOME="$(fresh_dir skypilot-home)" PYTHONDONTWRITEBYTECODE=1 SKYPILOT_DISABLE_USAGE_COLLECTION=1 \
  "$VENV/bin/python" "$CONFORMANCE_DIR/semantic/skypilot_agreement.py" "$PODIAM" "$(fresh_dir skypilot-agreement)"
