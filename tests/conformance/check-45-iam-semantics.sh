#!/usr/bin/env bash
# Semantic check of the IAM documents: every generated permission policy and
# trust policy (iam/s3-access-policy.json, iam/trust-policy.json) is evaluated
# by independent IAM engines against a matrix of requests (S3 actions in and
# out of the buckets, prefixes and partition; KMS through S3 of the key's
# region; Pod Identity session tags; IRSA tokens). The expected outcome of
# each request is derived from the parameters passed to podiam
# (semantic/iam_matrix.py), never from podiam's code. principalmapper judges
# every request; @cloud-copilot/iam-simulate (npm, pinned by
# semantic/iam-simulate/package-lock.json) judges again each request it can.
# Bindings (issue 11): for each shape (several namespaces, several clusters
# under Pod Identity and IRSA, IRSA wildcards, migration with --method both)
# every bound workload must be admitted and every near miss refused (another
# namespace, service account or cluster, a swapped pair, a name outside a
# wildcard, a wrong audience, one method's caller through the other's
# statement); expectations come from the bindings and an own StringLike
# matcher. Cross-account (issue 12, semantic/iam_cross.py): for bundles with
# --bucket-account and/or --target-account, the bucket policy and the KMS key
# policy (each judged with the role's identity policy, as a cross-account
# request needs both, and alone), the target role's trust (sts:ExternalId
# per association, aws:PrincipalArn of the source role) and the source
# role's inline policy admit exactly the role, actions and ARNs the
# parameters grant. Positive controls first: hand-written reference
# documents pass and each broken copy fails (semantic/iam_cross_controls.py
# for the cross-account ones).
set -euo pipefail
# shellcheck source=tests/conformance/lib.sh
source "$CONFORMANCE_DIR/lib.sh"
use_venv semantics
need_apt nodejs node
need_apt npm npm

# The second engine: `npm ci` of the pinned lock file, redone when it changes.
sim="$CONFORMANCE_WORK/iam-simulate"
lock="$CONFORMANCE_DIR/semantic/iam-simulate/package-lock.json"
if ! cmp -s "$lock" "$sim/.installed-lock"; then
  rm -rf "$sim"
  mkdir -p "$sim"
  cp "$CONFORMANCE_DIR/semantic/iam-simulate/package.json" "$lock" "$sim/"
  (cd "$sim" && npm ci --no-audit --no-fund --silent)
  cp "$lock" "$sim/.installed-lock"
fi

out="$(fresh_dir iam-semantics)"
PYTHONDONTWRITEBYTECODE=1 "$VENV/bin/python" "$CONFORMANCE_DIR/semantic/iam_check.py" "$PODIAM" "$out" "$sim"
