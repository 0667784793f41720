#!/usr/bin/env bash
# Runs the generated apply/verify/teardown scripts against moto (plus the EKS
# add-on and Pod Identity endpoints it lacks, see emulator/aws_emulator.py)
# and a recording kubectl stub. For each bundle:
#   1. apply.sh succeeds            2. the emulator's state equals the bundle,
#                                      the Kubernetes objects too (state.py kube-applied)
#   3. verify.sh passes             4. apply.sh again changes nothing
#   5. teardown.sh --yes removes    6. verify.sh then fails
#   7. teardown.sh --yes again succeeds
# A custom namespace and service account get the namespace, the account and
# SkyPilot's documented RBAC, for both methods; a namespace that existed
# before apply.sh survives teardown.sh. An association with session tags
# disabled stops apply.sh before it writes, and fails verify.sh.
# Bindings: a Pod Identity bundle whose role admits four service accounts in
# two namespaces gets exactly one association per binding, and none after
# teardown.sh, and so does one with bindings on two clusters (an agent each);
# an IRSA bundle with a pattern and a second issuer gets both OIDC providers; a --method both bundle (the migration from IRSA) with an extra
# binding gets the OIDC provider, the annotation of SkyPilot's service
# account and the associations, all kept by a second apply.sh.
# EXPECT_BINDINGS ("cluster/namespace/sa;...", the first included) names the
# bindings a bundle was generated with (see emulator/state.py).
# The role options the state check expects come from EXPECT_PATH,
# EXPECT_BOUNDARY, EXPECT_DURATION and EXPECT_TAGS (see emulator/state.py);
# a bundle with EXPECT_BOUNDARY gets that policy created in the emulator first.
set -euo pipefail
source "$CONFORMANCE_DIR/lib.sh"
use_venv runbook
source "$CONFORMANCE_DIR/runbook.sh"
source "$CONFORMANCE_DIR/runbook-cross.sh"

ACCOUNT=123456789012

# mode_of PODIAM ARGS...: the --mount-mode among the arguments; without one,
# COPY when a --prefix is given (SkyPilot mounts only whole buckets), else
# MOUNT_CACHED.
mode_of() {
  local mode="" prefix=""
  while [ "$#" -gt 0 ]; do
    [ "$1" != --mount-mode ] || mode="$2"
    [ "$1" != --prefix ] || prefix=1
    shift
  done
  [ -n "$mode" ] || mode="$([ -n "$prefix" ] && echo COPY || echo MOUNT_CACHED)"
  printf '%s\n' "$mode"
}

# sequence NAME METHOD NAMESPACE SA CONTEXT ROLE POLICY [PODIAM ARGS...]
# With PREEXISTING_NAMESPACE=1 the namespace exists (unlabelled) before apply.sh.
sequence() {
  local name="$1" method="$2" ns="$3" sa="$4" ctx="$5" role="$6" policy="$7" issuer="" mark kmark mode objects
  shift 7
  mode="$(mode_of "$@")"
  OUT="$(fresh_dir "runbook/$name")"
  echo "== $name ($method, $ns/$sa, $mode, role $role)"
  start_emulator "$OUT"
  script_env "$OUT"
  kube_state "$ctx"
  export EXPECT_PREEXISTING=""
  if [ "${PREEXISTING_NAMESPACE:-0}" = 1 ]; then
    kube_namespace "$ns"
    EXPECT_PREEXISTING="namespace//$ns"
  fi
  issuer="$(state create-cluster my-eks-cluster)"
  for c in ${EXTRA_CLUSTERS:-}; do
    state create-cluster "$c" >/dev/null
  done
  if [ -n "${EXPECT_BOUNDARY:-}" ]; then
    [ "$(state create-boundary "${EXPECT_BOUNDARY##*/}")" = "$EXPECT_BOUNDARY" ] || fail "could not create the boundary policy"
  fi
  local args=(--cluster my-eks-cluster --region us-west-2 --bucket my-bucket --method "$method"
    --namespace "$ns" --service-account "$sa" --role-name "$role" --policy-name "$policy" "$@")
  [ -z "$ctx" ] || args+=(--kube-context "$ctx")
  [ "$method" = pod-identity ] || args+=(--account-id "$ACCOUNT" --oidc-issuer "$issuer")
  "$PODIAM" generate "${args[@]}" --out "$OUT/bundle" >/dev/null
  local b="$OUT/bundle" first created
  objects="$(kube_objects "$b" "$method" "$ns" "$sa" "$mode")"

  mark="$(wc -l <"$OUT/aws.log")"
  kmark="$(wc -l <"$KUBECTL_STUB_LOG")"
  expect 0 1-apply "$b/scripts/apply.sh"
  # The counters that must find no write in the second apply find the first
  # apply's: the policy, the role and the attachment at least, and one
  # kubectl write per Kubernetes object created (not those that existed).
  first="$(aws_writes "$mark")"
  for call in "iam CreatePolicy" "iam CreateRole" "iam AttachRolePolicy"; do
    grep -qx "$call" <<<"$first" || fail "the write counter did not find $call in the first apply: $first"
  done
  created=$((objects - $(tr ';' '\n' <<<"$EXPECT_PREEXISTING" | grep -c . || true)))
  [ "$(kube_writes "$kmark" | wc -l)" -ge "$created" ] ||
    fail "the kubectl write counter found $(kube_writes "$kmark" | wc -l) writes in the first apply, expected >= $created"
  state applied "$b" "$method" my-eks-cluster "$ns" "$sa" "$role" "$policy"
  state kube-applied "$b" "$method" "$ns" "$sa" "$mode"
  [ "$(count '^created: ' "$OUT/1-apply.out")" -ge 4 ] || fail "first apply reported too few creations"
  if [ "$mode" = MOUNT_CACHED ]; then
    grep -q '^WARN: with mode MOUNT_CACHED, SkyPilot 0.14.1 writes static AWS keys' "$OUT/1-apply.out" &&
      grep -q 'here it is env,' "$OUT/1-apply.out" || fail "apply.sh did not warn that MOUNT_CACHED would embed the keys"
  fi
  check_kubectl_calls "$b" "$ns" "$sa" "$ctx" "arn:aws:iam::$ACCOUNT:role${EXPECT_PATH:-/}$role" "$method"

  mkdir -p "$HOME/.sky"
  cp "$b/skypilot/config.yaml" "$HOME/.sky/config.yaml"
  expect 0 3-verify "$b/scripts/verify.sh"
  # Credentials; IAM: trust, path, boundary, duration, attachment, document
  # (+ tags); the SkyPilot config; Pod Identity: agent, association, session
  # tags, no target role; IRSA: provider, audience, annotation; and one per
  # Kubernetes object.
  # Pod Identity: the agent, and per binding its association, session tags
  # and no target role; IRSA: the provider, its audience, the annotation.
  # and per cluster its agent and no stray association naming the role.
  local want_pass=8 bound=1 clusters=1
  [ -z "${EXPECT_TAGS:-}" ] || want_pass=9
  if [ -n "${EXPECT_BINDINGS:-}" ]; then
    bound="$(tr ';' '\n' <<<"$EXPECT_BINDINGS" | grep -c .)"
    clusters="$(tr ';' '\n' <<<"$EXPECT_BINDINGS" | cut -d/ -f1 | sort -u | grep -c .)"
  fi
  [ "$method" = pod-identity ] || want_pass=$((want_pass + 2 * ${EXPECT_PROVIDERS:-1} + 1))
  [ "$method" = irsa ] || want_pass=$((want_pass + 2 * clusters + 3 * bound))
  want_pass=$((want_pass + objects))
  [ "$(count '^PASS: ' "$OUT/3-verify.out")" = "$want_pass" ] ||
    fail "verify.sh: expected $want_pass PASS lines ($objects for Kubernetes objects), got $(count '^PASS: ' "$OUT/3-verify.out")"
  [ "$(count '^FAIL' "$OUT/3-verify.out")" = 0 ] || fail "verify.sh printed FAIL"
  if [ "$mode" = MOUNT_CACHED ]; then
    grep -q '^identity type: env ' "$OUT/3-verify.out" || fail "verify.sh did not report the identity type"
    grep -q '^WARN: with mode MOUNT_CACHED' "$OUT/3-verify.out" || fail "verify.sh did not warn about embedded keys"
  else
    ! grep -q '^identity type:' "$OUT/3-verify.out" || fail "verify.sh reported the identity type without MOUNT_CACHED"
  fi

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
  state kube-applied "$b" "$method" "$ns" "$sa" "$mode"

  expect 0 5-teardown "$b/scripts/teardown.sh" --yes
  state gone "$b" "$method" my-eks-cluster "$ns" "$sa" "$role" "$policy"
  state kube-gone "$b" "$method" "$ns" "$sa" "$mode"

  expect fail 6-verify-after-teardown "$b/scripts/verify.sh"
  [ "$(count '^FAIL: ' "$OUT/6-verify-after-teardown.out")" -ge 3 ] || fail "verify.sh after teardown: too few FAIL lines"
  grep -q '^      ' "$OUT/6-verify-after-teardown.out" || fail "verify.sh printed no remedy"

  expect 0 7-teardown-again "$b/scripts/teardown.sh" --yes
  [ "$(count '^already absent: ' "$OUT/7-teardown-again.out")" -ge 3 ] || fail "second teardown: expected 'already absent' lines"
  stop_emulator
}

# bindings_report NAME N: the outputs of bundle NAME, whose role admits N
# service accounts: apply.sh created one association each (and, under both,
# kept the annotation step), verify.sh checked each, teardown.sh deleted each.
bindings_report() {
  local dir="$CONFORMANCE_WORK/runbook/$1" n="$2"
  [ "$(count '^created: Pod Identity association ' "$dir/1-apply.out")" = "$n" ] ||
    fail "$1: apply.sh did not create $n associations: $(grep 'Pod Identity association' "$dir/1-apply.out")"
  [ "$(count '^already present: Pod Identity association ' "$dir/4-apply-again.out")" = "$n" ] ||
    fail "$1: the second apply.sh did not find $n associations"
  [ "$(count '^PASS: Pod Identity association .* keeps its session tags' "$dir/3-verify.out")" = "$n" ] ||
    fail "$1: verify.sh did not check the session tags of $n associations"
  [ "$(count '^deleted: Pod Identity association ' "$dir/5-teardown.out")" = "$n" ] ||
    fail "$1: teardown.sh did not delete $n associations"
  [ "$(count '^FAIL: Pod Identity association ' "$dir/6-verify-after-teardown.out")" = "$n" ] ||
    fail "$1: verify.sh after teardown did not miss $n associations"
  echo "  bindings: $n associations created, verified, kept by the second apply, deleted"
}

# kube_objects BUNDLE METHOD NAMESPACE SA MODE: how many Kubernetes objects apply.sh must create.
kube_objects() {
  state kube-count "$2" "$3" "$4" "$5"
}

# kube_namespace NAME: a namespace that exists before apply.sh, without podiam's labels.
kube_namespace() {
  "$VENV/bin/python" - "$KUBECTL_STUB_STATE" "$1" <<'PY'
import json, sys
path, name = sys.argv[1:]
state = json.load(open(path))
state["namespaces"][name] = {"labels": {"owner": "team"}, "annotations": {}}
json.dump(state, open(path, "w"))
PY
}

# check_kubectl_calls BUNDLE NS SA CONTEXT ROLE_ARN METHOD: the first apply's
# kubectl calls: reads, each object created from the bundle's reviewed
# manifests (kubectl create -f FILE -l component=...), and for IRSA the
# annotation of a service account apply.sh did not create (one it created
# from the manifest has it); every call names the context; nothing runs only
# locally.
check_kubectl_calls() {
  "$VENV/bin/python" - "$KUBECTL_STUB_LOG" "$@" <<'PY'
import json, sys
log, bundle, ns, sa, ctx, role_arn, method = sys.argv[1:]
calls = [json.loads(l)["argv"] for l in open(log)]
c = ["--context", ctx] if ctx else []
assert not [x for x in calls if "--local" in x or "--dry-run=client" in x], "local kubectl calls"
server = [x for x in calls if x[:3] != ["config", "get-contexts", "-o"]]
assert all(x[: len(c)] == c for x in server), f"a call without --context {ctx}: {server}"
writes = [x[len(c):] for x in server if x[len(c)] not in ("get",)]
creates = [x for x in writes if x[0] == "create"]
for x in creates:
    assert x[:2] == ["create", "-f"] and x[2].startswith(bundle + "/kubernetes/") and x[3] == "-l", x
    assert x[4].startswith("app.kubernetes.io/component="), x
annotate = [x for x in writes if x[0] == "annotate"]
want = [["annotate", "serviceaccount", sa, "--namespace", ns, f"eks.amazonaws.com/role-arn={role_arn}", "--overwrite"]]
# A service account created from the bundle's manifest carries the annotation already.
created_sa = any(x[4] == "app.kubernetes.io/component=serviceaccount" for x in creates)
# Only SkyPilot's service account: those of the other bindings belong to other workloads.
assert annotate == (want if method in ("irsa", "both") and not created_sa else []), annotate
assert len(writes) == len(creates) + len(annotate), writes
print(f"  kubectl: {len(server)} calls, {len(creates)} objects created from the bundle's manifests")
PY
}

# session_tags_off: an association of the bundle's role with session tags
# disabled. apply.sh must stop before any write and print the remedy;
# verify.sh must fail on it; the remedy repairs it; then both pass.
session_tags_off() {
  local role=SkyPilotS3Role-my-bucket mark remedy
  OUT="$(fresh_dir runbook/session-tags-off)"
  echo "== session-tags-off (pod-identity, association with disableSessionTags: true)"
  start_emulator "$OUT"
  script_env "$OUT"
  kube_state ""
  export EXPECT_PREEXISTING=""
  state create-cluster my-eks-cluster >/dev/null
  "$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --out "$OUT/bundle" >/dev/null
  local b="$OUT/bundle"
  "$VENV/bin/python" - "$b" "$role" <<'PY'
import boto3, pathlib, sys
bundle, role = pathlib.Path(sys.argv[1]), sys.argv[2]
iam, eks = boto3.client("iam", region_name="us-west-2"), boto3.client("eks", region_name="us-west-2")
arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=(bundle / "iam/trust-policy.json").read_text())["Role"]["Arn"]
eks.create_pod_identity_association(clusterName="my-eks-cluster", namespace="default",
    serviceAccount="skypilot-service-account", roleArn=arn, disableSessionTags=True)
PY
  mkdir -p "$HOME/.sky"
  cp "$b/skypilot/config.yaml" "$HOME/.sky/config.yaml"
  mark="$(wc -l <"$OUT/aws.log")"
  expect fail 1-apply "$b/scripts/apply.sh"
  grep -q 'FAILED at step "preflight": Pod Identity association .* has session tags disabled' "$OUT/1-apply.out" ||
    fail "apply.sh did not name the disabled session tags: $(cat "$OUT/1-apply.out")"
  [ -z "$(aws_writes "$mark")" ] || fail "apply.sh wrote before refusing: $(aws_writes "$mark")"
  expect fail 2-verify "$b/scripts/verify.sh"
  grep -q '^FAIL: Pod Identity association .* keeps its session tags (disableSessionTags: True)' "$OUT/2-verify.out" ||
    fail "verify.sh did not fail on the disabled session tags"
  remedy="$(sed -n 's/^Remedy: .*: \(aws eks update-pod-identity-association .*--no-disable-session-tags[^ ]*\).*/\1/p' "$OUT/1-apply.out")"
  [ -n "$remedy" ] || fail "apply.sh gave no update command as remedy"
  bash -c "$remedy" >"$OUT/3-remedy.out" || fail "the remedy failed: $remedy"
  expect 0 4-apply "$b/scripts/apply.sh"
  expect 0 5-verify "$b/scripts/verify.sh"
  echo "  session tags disabled: apply.sh refused before writing, verify.sh failed, the printed remedy repaired it"
  stop_emulator
}

# The write counters first (runbook.sh): a known write counts 1, a read 0.
OUT="$(fresh_dir runbook/counter-controls)"
echo "== counter-controls"
start_emulator "$OUT"
script_env "$OUT"
kube_state ""
counter_controls
stop_emulator

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
# A namespace that exists before apply.sh (without podiam's labels) is kept.
PREEXISTING_NAMESPACE=1 sequence preexisting-namespace pod-identity team-b s3-writer "" \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket --mount-mode COPY
# Bindings: four service accounts in two namespaces share the role.
EXPECT_BINDINGS="my-eks-cluster/team-a/runner;my-eks-cluster/team-b/reader;my-eks-cluster/team-a/writer;my-eks-cluster/team-b/writer" \
  sequence bindings-pod-identity pod-identity team-a runner "" \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket \
  --bind team-b:reader --bind team-a:writer --bind team-b:writer --mount-mode COPY
bindings_report bindings-pod-identity 4
# Bindings on two clusters (a params file): an agent and associations in each.
clusters_params="$(fresh_dir runbook/params)/two-clusters.yaml"
printf 'bindings:\n  - namespace: team-b\n    service_account: reader\n  - cluster: other-cluster\n    namespace: team-a\n    service_account: writer\n' >"$clusters_params"
EXTRA_CLUSTERS=other-cluster \
  EXPECT_BINDINGS="my-eks-cluster/default/skypilot-service-account;my-eks-cluster/team-b/reader;other-cluster/team-a/writer" \
  sequence bindings-two-clusters pod-identity default skypilot-service-account "" \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket --params "$clusters_params" --mount-mode COPY
bindings_report bindings-two-clusters 3
# IRSA: a pattern, and a second cluster with its own issuer that is not in
# this account (apply.sh warns and registers its provider; verify.sh checks
# both providers and their audience).
printf 'bindings:\n  - namespace: "team-*"\n    service_account: reader\n  - cluster: other-cluster\n    namespace: jobs\n    service_account: batch\n    oidc_issuer: https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF\n' \
  >"$(dirname "$clusters_params")/irsa-two-issuers.yaml"
EXPECT_PROVIDERS=2 sequence bindings-irsa irsa ml-team s3-reader "" \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket --params "$(dirname "$clusters_params")/irsa-two-issuers.yaml" --mount-mode COPY
grep -q '^WARNING: cluster other-cluster is not in region us-west-2' "$CONFORMANCE_WORK/runbook/bindings-irsa/1-apply.out" ||
  fail "bindings-irsa: apply.sh did not warn about the issuer of other-cluster"
[ "$(count '^created: OIDC provider ' "$CONFORMANCE_WORK/runbook/bindings-irsa/1-apply.out")" = 2 ] ||
  fail "bindings-irsa: apply.sh did not register both OIDC providers"
echo "  bindings: 2 OIDC providers registered and verified, the other cluster's issuer taken as given with a warning"
# The migration from IRSA to Pod Identity: both sides, and an extra binding.
EXPECT_BINDINGS="my-eks-cluster/ml-team/s3-reader;my-eks-cluster/team-b/reader" \
  sequence both-bindings both ml-team s3-reader "kind-ctx" \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket --bind team-b:reader
bindings_report both-bindings 2
session_tags_off
# Cross-account (runbook-cross.sh): a Pod Identity target role, and the bucket owner's side.
target_role
bucket_owner
echo "runbook sequences: 11 bundles applied, verified, re-applied, torn down twice; session tags off refused;"
echo "  a target-role bundle in two accounts and the bucket owner's policies merged and removed"
