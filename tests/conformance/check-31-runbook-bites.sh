#!/usr/bin/env bash
# Proves the runbook checks can fail, and checks --dry-run and the emulator's
# realistic errors:
#   - apply.sh --dry-run prints every command and runs none (recording stubs);
#   - an apply.sh without its attach step: the state check and verify.sh fail;
#   - an apply.sh with a misspelled AWS CLI flag fails, naming the step;
#   - an unknown cluster stops apply.sh at preflight;
#   - an association of the service account with another role stops apply.sh;
#   - a role whose boundary, session duration and tags drifted: verify.sh
#     fails on each, apply.sh puts them back, verify.sh passes again;
#   - a role of the same name under another IAM path stops apply.sh.
set -euo pipefail
source "$CONFORMANCE_DIR/lib.sh"
use_venv runbook
source "$CONFORMANCE_DIR/runbook.sh"

ACCOUNT=123456789012
OUT="$(fresh_dir runbook-bites)"
script_env "$OUT"

# --- dry run: aws and kubectl replaced by stubs that record and fail.
mkdir -p "$OUT/record"
for tool in aws kubectl; do
  printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\nexit 97\n' "$tool" "$OUT/record" >"$OUT/record/$tool"
  chmod +x "$OUT/record/$tool"
done
: >"$OUT/record/calls"
oidc="https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
"$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --out "$OUT/dry-pi" >/dev/null
"$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --method irsa \
  --account-id "$ACCOUNT" --oidc-issuer "$oidc" --namespace ml-team --out "$OUT/dry-irsa" >/dev/null
PATH="$OUT/record:$PATH" expect 0 dry-run-pod-identity "$OUT/dry-pi/scripts/apply.sh" --dry-run
PATH="$OUT/record:$PATH" expect 0 dry-run-irsa "$OUT/dry-irsa/scripts/apply.sh" --dry-run
PATH="$OUT/record:$PATH" expect 0 dry-run-teardown "$OUT/dry-irsa/scripts/teardown.sh" --dry-run --delete-oidc-provider
[ ! -s "$OUT/record/calls" ] || fail "--dry-run ran commands: $(cat "$OUT/record/calls")"
for cmd in "aws sts get-caller-identity" "aws eks list-addons" "aws eks create-addon" "aws eks describe-addon" \
  "aws iam create-policy --policy-name" "aws iam create-role" "aws iam attach-role-policy" \
  "aws eks create-pod-identity-association" "aws configure list"; do
  grep -q "^+ $cmd" "$OUT/dry-run-pod-identity.out" || fail "pod-identity --dry-run did not print: $cmd"
done
for cmd in "aws eks describe-cluster" "aws iam create-open-id-connect-provider" "aws iam create-policy --policy-name" \
  "aws iam create-role" "aws iam attach-role-policy" "kubectl create namespace ml-team --dry-run=client" \
  "kubectl annotate serviceaccount skypilot-service-account --namespace ml-team eks.amazonaws.com/role-arn="; do
  grep -q "^+ $cmd" "$OUT/dry-run-irsa.out" || fail "irsa --dry-run did not print: $cmd"
done
for cmd in "kubectl annotate serviceaccount skypilot-service-account --namespace ml-team eks.amazonaws.com/role-arn-" "aws iam detach-role-policy" "aws iam delete-role" "aws iam delete-policy" \
  "aws iam delete-open-id-connect-provider"; do
  grep -q "^+ $cmd" "$OUT/dry-run-teardown.out" || fail "teardown --dry-run did not print: $cmd"
done
echo "  --dry-run: every command printed, none run"

# fresh EMULATOR_CASE NAME METHOD [PODIAM ARGS...]: a new emulator with a
# cluster, and a bundle for it in $OUT/NAME.
fresh() {
  local name="$1" method="$2" issuer
  shift 2
  stop_emulator
  start_emulator "$OUT"
  kube_state ""
  issuer="$(state create-cluster my-eks-cluster)"
  local args=(--region us-west-2 --bucket my-bucket --method "$method" "$@")
  [ "$method" = pod-identity ] || args+=(--account-id "$ACCOUNT" --oidc-issuer "$issuer")
  "$PODIAM" generate "${args[@]}" --cluster "${CLUSTER_OVERRIDE:-my-eks-cluster}" --out "$OUT/$name" >/dev/null
  mkdir -p "$HOME/.sky"
  cp "$OUT/$name/skypilot/config.yaml" "$HOME/.sky/config.yaml"
}

# --- a missing attach step must be caught.
fresh no-attach pod-identity
sed -i '/^attach$/d' "$OUT/no-attach/scripts/apply.sh"
! grep -q '^attach$' "$OUT/no-attach/scripts/apply.sh" || fail "could not remove the attach step"
expect 0 no-attach-apply "$OUT/no-attach/scripts/apply.sh"
if state applied "$OUT/no-attach" pod-identity my-eks-cluster default skypilot-service-account \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket >"$OUT/no-attach-state.out" 2>&1; then
  fail "the state check passed without the attach step"
fi
grep -q "attached policies: \[\]" "$OUT/no-attach-state.out" || fail "the state check failed for another reason: $(cat "$OUT/no-attach-state.out")"
expect fail no-attach-verify "$OUT/no-attach/scripts/verify.sh"
grep -q "^FAIL: policy SkyPilotS3Access-my-bucket is attached to role" "$OUT/no-attach-verify.out" || fail "verify.sh missed the attachment"
echo "  missing attach step: state check and verify.sh fail"

# --- a misspelled flag must fail, naming the step.
fresh misspelled irsa
sed -i 's/create-policy --policy-name "$POLICY_NAME" --path "$IAM_PATH" --policy-document/create-policy --policy-name "$POLICY_NAME" --path "$IAM_PATH" --policy-documnet/' \
  "$OUT/misspelled/scripts/apply.sh"
grep -q -- '--policy-documnet' "$OUT/misspelled/scripts/apply.sh" || fail "could not misspell the flag"
expect fail misspelled-apply "$OUT/misspelled/scripts/apply.sh"
grep -q 'FAILED at step "3/7 IAM policy"' "$OUT/misspelled-apply.out" || fail "the failure does not name the step"
grep -q '^Remedy: Create it from the reviewed file' "$OUT/misspelled-apply.out" || fail "the failure gives no remedy"
echo "  misspelled flag: apply.sh fails at step 3/7 with its remedy"

# --- an unknown cluster stops apply.sh at preflight (ResourceNotFoundException).
CLUSTER_OVERRIDE=no-such-cluster fresh unknown-cluster pod-identity
mark="$(wc -l <"$OUT/aws.log")"
expect fail unknown-cluster-apply "$OUT/unknown-cluster/scripts/apply.sh"
grep -q 'FAILED at step "preflight": EKS cluster no-such-cluster not found' "$OUT/unknown-cluster-apply.out" ||
  fail "unknown cluster not reported: $(cat "$OUT/unknown-cluster-apply.out")"
[ -z "$(aws_writes "$mark")" ] || fail "apply.sh wrote before its preflight passed"
echo "  unknown cluster: stopped at preflight, nothing written"

# --- another role already associated with the service account.
fresh taken pod-identity
"$VENV/bin/python" - <<'PY'
import json, boto3
iam, eks = boto3.client("iam", region_name="us-west-2"), boto3.client("eks", region_name="us-west-2")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
arn = iam.create_role(RoleName="someone-else", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
eks.create_pod_identity_association(clusterName="my-eks-cluster", namespace="default", serviceAccount="skypilot-service-account", roleArn=arn)
try:
    eks.create_pod_identity_association(clusterName="my-eks-cluster", namespace="default", serviceAccount="skypilot-service-account", roleArn=arn)
    raise SystemExit("the emulator accepted a duplicate association")
except eks.exceptions.ResourceInUseException:
    pass
try:
    eks.create_pod_identity_association(clusterName="my-eks-cluster", namespace="x", serviceAccount="y", roleArn=arn + "-missing")
    raise SystemExit("the emulator accepted an unknown role")
except eks.exceptions.InvalidParameterException:
    pass
PY
expect fail taken-apply "$OUT/taken/scripts/apply.sh"
grep -q 'uses role arn:aws:iam::123456789012:role/someone-else' "$OUT/taken-apply.out" || fail "the foreign association was not reported"
grep -q '^Remedy: Point it at this role: aws eks update-pod-identity-association' "$OUT/taken-apply.out" || fail "no remedy for the foreign association"
echo "  foreign association: apply.sh stops and names the update command"

# --- drifted role options: verify.sh names each, apply.sh repairs them.
boundary="arn:aws:iam::$ACCOUNT:policy/TeamBoundary"
fresh drift pod-identity --iam-path /team/ --permissions-boundary "$boundary" --max-session-duration 7200 \
  --tag team=ml --tag "owner=a b"
[ "$(state create-boundary TeamBoundary)" = "$boundary" ] || fail "could not create the boundary policy"
expect 0 drift-apply "$OUT/drift/scripts/apply.sh"
"$VENV/bin/python" - <<'PY'
import boto3
iam = boto3.client("iam", region_name="us-west-2")
iam.delete_role_permissions_boundary(RoleName="SkyPilotS3Role-my-bucket")
iam.update_role(RoleName="SkyPilotS3Role-my-bucket", MaxSessionDuration=3600)
iam.tag_role(RoleName="SkyPilotS3Role-my-bucket", Tags=[{"Key": "owner", "Value": "someone else"}])
PY
expect fail drift-verify "$OUT/drift/scripts/verify.sh"
for what in "has the permissions boundary $boundary (found: none)" \
  "has the maximum session duration 7200 seconds (found: 3600)" \
  "has the bundle's 2 tags (missing or different: owner=a b)"; do
  grep -qF "FAIL: role SkyPilotS3Role-my-bucket $what" "$OUT/drift-verify.out" || fail "verify.sh missed: $what"
done
[ "$(count '^FAIL: ' "$OUT/drift-verify.out")" = 3 ] || fail "verify.sh: expected exactly 3 FAIL lines for the drift"
grep -qF "aws iam put-role-permissions-boundary --role-name SkyPilotS3Role-my-bucket --permissions-boundary $boundary" "$OUT/drift-verify.out" ||
  fail "verify.sh gave no remedy for the boundary"
expect 0 drift-repair "$OUT/drift/scripts/apply.sh"
for what in "updated: permissions boundary of role SkyPilotS3Role-my-bucket (was none)" \
  "updated: maximum session duration of role SkyPilotS3Role-my-bucket (3600 -> 7200 seconds)" \
  "updated: tags of role SkyPilotS3Role-my-bucket (owner=a b)"; do
  grep -qF "$what" "$OUT/drift-repair.out" || fail "apply.sh did not report: $what"
done
EXPECT_PATH=/team/ EXPECT_BOUNDARY="$boundary" EXPECT_DURATION=7200 EXPECT_TAGS="team=ml;owner=a b" \
  state applied "$OUT/drift" pod-identity my-eks-cluster default skypilot-service-account \
  SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket
expect 0 drift-verify-again "$OUT/drift/scripts/verify.sh"
echo "  drifted role options: verify.sh fails on each, apply.sh repairs them"

# --- a role of this name under another IAM path: IAM cannot move it.
fresh moved pod-identity --iam-path /team/
"$VENV/bin/python" - <<'PY'
import json, boto3
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
boto3.client("iam", region_name="us-west-2").create_role(RoleName="SkyPilotS3Role-my-bucket", Path="/other/", AssumeRolePolicyDocument=json.dumps(trust))
PY
expect fail moved-apply "$OUT/moved/scripts/apply.sh"
grep -q 'role SkyPilotS3Role-my-bucket exists with IAM path /other/, not /team/' "$OUT/moved-apply.out" ||
  fail "the role under another path was not reported: $(cat "$OUT/moved-apply.out")"
grep -q '^Remedy: IAM cannot move a role' "$OUT/moved-apply.out" || fail "no remedy for the role under another path"
echo "  role under another IAM path: apply.sh stops and says why"
stop_emulator
echo "runbook checks bite: 6 broken or hostile setups fail as they must"
