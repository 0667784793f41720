#!/usr/bin/env bash
# The hostile corpus (tests/data/hostile-corpus.json, shared with
# tests/integration/corpus.rs) in every free-text parameter, both methods:
# each bundle podiam accepts must mean the same to a YAML 1.1 parser (PyYAML
# yaml.safe_load, where an unquoted on/yes/no is a bool) as to a YAML 1.2
# parser (ruamel.yaml, pure, version 1.2), and carry the value intact where
# manifest.json says it goes. Refusals (exit 2) are counted. Positive
# controls (unquoted on, yes, 1e3, ~ and an escaped comment line) run first
# and must be reported. See semantic/yaml_versions.py.
set -euo pipefail
# shellcheck source=tests/conformance/lib.sh
source "$CONFORMANCE_DIR/lib.sh"
use_venv yaml

out="$(fresh_dir yaml-1-1)"
"$VENV/bin/python" "$CONFORMANCE_DIR/semantic/yaml_versions.py" "$PODIAM" \
  "$CONFORMANCE_ROOT/tests/data/hostile-corpus.json" "$out"
