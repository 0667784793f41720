#!/usr/bin/env bash
# Semantic check of the IAM documents: every generated permission policy and
# trust policy (iam/s3-access-policy.json, iam/trust-policy.json) is evaluated
# by an independent IAM engine, principalmapper, against a matrix of requests
# (S3 actions in and out of the bucket, prefixes, partition; KMS through S3
# of the key's region; Pod Identity session tags; IRSA tokens). The expected
# outcome of each request is derived from the parameters passed to podiam
# (semantic/iam_matrix.py), never from podiam's code. Positive controls first:
# hand-written reference documents pass and each broken copy fails.
set -euo pipefail
# shellcheck source=tests/conformance/lib.sh
source "$CONFORMANCE_DIR/lib.sh"
use_venv semantics

out="$(fresh_dir iam-semantics)"
PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" "$CONFORMANCE_DIR/semantic/iam_check.py" "$PODIAM" "$out"
