#!/usr/bin/env bash
# Runs the generated apply/verify/teardown scripts against moto (plus the EKS
# add-on and Pod Identity endpoints it lacks, see emulator/aws_emulator.py)
# and a recording kubectl stub. For each bundle:
#   1. apply.sh succeeds            2. the emulator's state equals the bundle
#   3. verify.sh passes             4. apply.sh again changes nothing
#   5. teardown.sh --yes removes    6. verify.sh then fails
#   7. teardown.sh --yes again succeeds
# The role options the state check expects come from EXPECT_PATH,
# EXPECT_BOUNDARY, EXPECT_DURATION and EXPECT_TAGS (see emulator/state.py);
# a bundle with EXPECT_BOUNDARY gets that policy created in the emulator first.
set -euo pipefail
source "$CONFORMANCE_DIR/lib.sh"
use_venv runbook
source "$CONFORMANCE_DIR/runbook.sh"

ACCOUNT=123456789012

# sequence NAME METHOD NAMESPACE SA CONTEXT ROLE POLICY [PODIAM ARGS...]
sequence() {
  local name="$1" method="$2" ns="$3" sa="$4" ctx="$5" role="$6" policy="$7" issuer="" mark kmark
  shift 7
  OUT="$(fresh_dir "runbook/$name")"
  echo "== $name ($method, $ns/$sa, role $role)"
  start_emulator "$OUT"
  script_env "$OUT"
  kube_state "$ctx"
  issuer="$(state create-cluster my-eks-cluster)"
  if [ -n "${EXPECT_BOUNDARY:-}" ]; then
    [ "$(state create-boundary "${EXPECT_BOUNDARY##*/}")" = "$EXPECT_BOUNDARY" ] || fail "could not create the boundary policy"
  fi
  local args=(--cluster my-eks-cluster --region us-west-2 --bucket my-bucket --method "$method"
    --namespace "$ns" --service-account "$sa" --role-name "$role" --policy-name "$policy" "$@")
  [ -z "$ctx" ] || args+=(--kube-context "$ctx")
  [ "$method" = pod-identity ] || args+=(--account-id "$ACCOUNT" --oidc-issuer "$issuer")
  "$PODIAM" generate "${args[@]}" --out "$OUT/bundle" >/dev/null
  local b="$OUT/bundle"

  expect 0 1-apply "$b/scripts/apply.sh"
  state applied "$b" "$method" my-eks-cluster "$ns" "$sa" "$role" "$policy"
  [ "$(count '^created: ' "$OUT/1-apply.out")" -ge 4 ] || fail "first apply reported too few creations"
  # The static-key warning is about MOUNT_CACHED; a prefix makes the task COPY.
  if grep -q '^    mode: MOUNT_CACHED$' "$b/skypilot/task.yaml"; then
    grep -q 'WARNING: this machine.s AWS credentials are static access keys (env)' "$OUT/1-apply.out" ||
      fail "apply.sh did not warn about static keys"
  fi
  if [ "$method" = irsa ]; then
    check_kubectl_calls "$ns" "$sa" "$ctx" "arn:aws:iam::$ACCOUNT:role${EXPECT_PATH:-/}$role"
  fi

  mkdir -p "$HOME/.sky"
  cp "$b/skypilot/config.yaml" "$HOME/.sky/config.yaml"
  expect 0 3-verify "$b/scripts/verify.sh"
  local want_pass=10
  [ -z "${EXPECT_TAGS:-}" ] || want_pass=11
  [ "$(count '^PASS: ' "$OUT/3-verify.out")" = "$want_pass" ] || fail "verify.sh: expected $want_pass PASS lines"
  [ "$(count '^FAIL' "$OUT/3-verify.out")" = 0 ] || fail "verify.sh printed FAIL"

  mark="$(wc -l <"$OUT/aws.log")"
  kmark="$(wc -l <"$KUBECTL_STUB_LOG")"
  expect 0 4-apply-again "$b/scripts/apply.sh"
  [ -z "$(aws_writes "$mark")" ] || fail "second apply wrote to AWS: $(aws_writes "$mark")"
  [ -z "$(kube_writes "$kmark")" ] || fail "second apply wrote to Kubernetes: $(kube_writes "$kmark")"
  ! grep -Eq '^(created|updated): ' "$OUT/4-apply-again.out" || fail "second apply reported a change"
  local present
  present="$(count '^already present: ' "$OUT/4-apply-again.out")"
  [ "$present" -ge 5 ] || fail "second apply reported $present resources as present, expected >= 5"
  echo "  second apply: $present resources already present, 0 write calls"
  state applied "$b" "$method" my-eks-cluster "$ns" "$sa" "$role" "$policy"

  expect 0 5-teardown "$b/scripts/teardown.sh" --yes
  state gone "$b" "$method" my-eks-cluster "$ns" "$sa" "$role" "$policy"
  if [ "$method" = irsa ] && [ "$ns" != default ]; then
    grep -q '"namespaces": {' "$KUBECTL_STUB_STATE"
    ! grep -q "\"$ns\"" "$KUBECTL_STUB_STATE" || fail "teardown left namespace $ns that apply.sh created"
  fi

  expect fail 6-verify-after-teardown "$b/scripts/verify.sh"
  [ "$(count '^FAIL: ' "$OUT/6-verify-after-teardown.out")" -ge 3 ] || fail "verify.sh after teardown: too few FAIL lines"
  grep -q '^      ' "$OUT/6-verify-after-teardown.out" || fail "verify.sh printed no remedy"

  expect 0 7-teardown-again "$b/scripts/teardown.sh" --yes
  [ "$(count '^already absent: ' "$OUT/7-teardown-again.out")" -ge 3 ] || fail "second teardown: expected 'already absent' lines"
  stop_emulator
}

# check_kubectl_calls NS SA CONTEXT ROLE_ARN: the first apply's exact kubectl calls.
check_kubectl_calls() {
  "$VENV/bin/python" - "$KUBECTL_STUB_LOG" "$@" <<'PY'
import json, sys, yaml
log, ns, sa, ctx, role_arn = sys.argv[1:]
calls = [json.loads(l) for l in open(log)]
c = ["--context", ctx] if ctx else []
local = [x["argv"] for x in calls if "--local" in x["argv"] or "--dry-run=client" in x["argv"]]
server = [x for x in calls if x["argv"] not in local]
jsonpath = "jsonpath={.metadata.annotations.eks\\.amazonaws\\.com/role-arn}"
want = ([["config", "get-contexts", "-o", "name"]] if ctx else []) + [
    c + ["get", "namespace", ns, "--ignore-not-found", "-o", "name"],
] + ([c + ["create", "-f", "-"]] if ns != "default" else []) + [
    c + ["get", "serviceaccount", sa, "--namespace", ns, "--ignore-not-found", "-o", "name"],
    c + ["create", "-f", "-"],
    c + ["get", "serviceaccount", sa, "--namespace", ns, "--ignore-not-found", "-o", jsonpath],
    c + ["annotate", "serviceaccount", sa, "--namespace", ns, f"eks.amazonaws.com/role-arn={role_arn}", "--overwrite"],
]
got = [x["argv"] for x in server]
assert got == want, "kubectl calls differ:\n" + "\n".join(map(str, got)) + "\nwanted:\n" + "\n".join(map(str, want))
label = ["label", "--local", "-f", "-", "app.kubernetes.io/created-by=podiam", "-o", "yaml"]
want_local = ([["create", "namespace", ns, "--dry-run=client", "-o", "yaml"], label] if ns != "default" else []) + [
    ["create", "serviceaccount", sa, "--namespace", ns, "--dry-run=client", "-o", "yaml"], label]
assert sorted(local) == sorted(want_local), f"local kubectl calls differ: {local}"
created = [yaml.safe_load(x["stdin"]) for x in server if x["argv"][-3:] == ["create", "-f", "-"]]
kinds = [(d["kind"], d["metadata"]["name"], d["metadata"].get("namespace"), d["metadata"]["labels"]) for d in created]
mark = {"app.kubernetes.io/created-by": "podiam"}
want_kinds = ([("Namespace", ns, None, mark)] if ns != "default" else []) + [("ServiceAccount", sa, ns, mark)]
assert kinds == want_kinds, kinds
print(f"  kubectl: {len(got)} server calls and {len(local)} local calls as expected")
PY
}

sequence pod-identity pod-identity default skypilot-service-account "" \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket
sequence irsa-custom irsa ml-team s3-reader "arn:aws:eks:us-west-2:$ACCOUNT:cluster/my-eks-cluster" \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket
# IAM allows +=,.@_- in names; the shell must not mangle them on the way.
sequence odd-names-irsa irsa default skypilot-service-account "" \
  'a+b=c,d.e@f_g-h' 'p+q=r,s.t@u_v-w'
sequence odd-names-pod-identity pod-identity team-a sa.with.dots "kind-ctx" \
  'a+b=c,d.e@f_g-h' 'p+q=r,s.t@u_v-w'
# Role options, two buckets, read-only and a prefix, for both methods. The
# tag values hold a space, '=', ':', '/', '@' and '+' (all allowed by IAM).
export EXPECT_PATH=/skypilot/team-a/ EXPECT_DURATION=7200
export EXPECT_BOUNDARY="arn:aws:iam::$ACCOUNT:policy/TeamBoundary"
export EXPECT_TAGS="team=ml;owner=a b=c:d/e@f+g"
options=(--bucket other-bucket --access read-only --prefix team-a/data --iam-path "$EXPECT_PATH"
  --permissions-boundary "$EXPECT_BOUNDARY" --max-session-duration "$EXPECT_DURATION"
  --tag team=ml --tag "owner=a b=c:d/e@f+g")
sequence options-pod-identity pod-identity default skypilot-service-account "" \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket "${options[@]}" --account-id "$ACCOUNT" --trust-source-account
sequence options-irsa irsa ml-team s3-reader "" \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket "${options[@]}"
unset EXPECT_PATH EXPECT_DURATION EXPECT_BOUNDARY EXPECT_TAGS
echo "runbook sequences: 6 bundles applied, verified, re-applied, torn down twice"
