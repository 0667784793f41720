#!/usr/bin/env bash
# Proves the runbook checks can fail, and checks --dry-run and the emulator's
# realistic errors:
#   - the write counters count a known write as one and a read as none;
#   - apply.sh --dry-run prints every command and runs none (recording stubs);
#     without aws and kubectl on PATH it prints the same, while a real run
#     stops at preflight naming the missing tool, before running any;
#   - an apply.sh without its attach step: the state check and verify.sh fail;
#   - an apply.sh with a misspelled AWS CLI flag fails, naming the step;
#   - an unknown cluster stops apply.sh at preflight;
#   - an association of the service account with another role, or with a
#     target role, stops apply.sh before it writes anything;
#   - with several bindings, the association of one (not the first) naming
#     another role stops apply.sh before it writes anything, even the first
#     binding's association, and fails verify.sh for that binding;
#   - an apply.sh that skips one binding's association: the state check and
#     verify.sh fail;
#   - a role whose boundary, session duration and tags drifted: verify.sh
#     fails on each, apply.sh puts them back, verify.sh passes again;
#   - a role of the same name under another IAM path stops apply.sh;
#   - under --method both, a role of the same name under /admin/ stops
#     apply.sh at preflight, before any write (add-on, OIDC provider, policy,
#     trust policy);
#   - under --method both, another role's eks.amazonaws.com/role-arn on
#     SkyPilot's service account stops apply.sh at preflight, before any
#     write; this role's annotation is fine;
#   - a binding removed from the bundle: apply.sh warns about its association,
#     verify.sh fails on it, teardown.sh deletes it (and keeps another role's);
#   - an apply.sh without its Kubernetes step: the state check and verify.sh
#     fail; a namespace apply.sh created that still holds a pod is kept;
#   - IRSA in the `default` namespace with a service account that existed
#     before apply.sh: teardown.sh removes the role annotation (dry run and
#     emulator) and keeps the account; a teardown.sh that skips `default`
#     fails the state check;
#   - an existing OIDC provider without the sts.amazonaws.com audience:
#     verify.sh fails, apply.sh adds it;
#   - --pod-identity-agent existing on a cluster without the add-on: apply.sh
#     stops before writing, verify.sh fails; with the add-on, apply.sh passes
#     and creates none;
#   - the identity type verify.sh reports equals SkyPilot 0.14.1's reading of
#     `aws configure list`, on canned outputs.
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
"$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --namespace ml-team \
  --service-account s3-reader --out "$OUT/dry-custom" >/dev/null
"$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --method irsa \
  --account-id "$ACCOUNT" --oidc-issuer "$oidc" --out "$OUT/dry-irsa-default" >/dev/null
PATH="$OUT/record:$PATH" expect 0 dry-run-pod-identity "$OUT/dry-pi/scripts/apply.sh" --dry-run
PATH="$OUT/record:$PATH" expect 0 dry-run-custom "$OUT/dry-custom/scripts/apply.sh" --dry-run
PATH="$OUT/record:$PATH" expect 0 dry-run-custom-teardown "$OUT/dry-custom/scripts/teardown.sh" --dry-run
PATH="$OUT/record:$PATH" expect 0 dry-run-irsa "$OUT/dry-irsa/scripts/apply.sh" --dry-run
PATH="$OUT/record:$PATH" expect 0 dry-run-teardown "$OUT/dry-irsa/scripts/teardown.sh" --dry-run --delete-oidc-provider
PATH="$OUT/record:$PATH" expect 0 dry-run-teardown-default "$OUT/dry-irsa-default/scripts/teardown.sh" --dry-run
[ ! -s "$OUT/record/calls" ] || fail "--dry-run ran commands: $(cat "$OUT/record/calls")"
for cmd in "aws sts get-caller-identity" "aws eks create-addon" "aws eks describe-addon" \
  "aws iam create-policy --policy-name" "aws iam create-role" "aws iam attach-role-policy" \
  "aws eks create-pod-identity-association" "aws configure list"; do
  grep -q "^+ $cmd" "$OUT/dry-run-pod-identity.out" || fail "pod-identity --dry-run did not print: $cmd"
done
for cmd in "aws eks describe-cluster" "aws iam create-open-id-connect-provider" "aws iam create-policy --policy-name" \
  "aws iam create-role" "aws iam attach-role-policy" "kubectl get namespace ml-team" \
  "kubectl create -f $OUT/dry-irsa/kubernetes/serviceaccount.yaml -l app.kubernetes.io/component=namespace" \
  "kubectl create -f $OUT/dry-irsa/kubernetes/serviceaccount.yaml -l app.kubernetes.io/component=serviceaccount" \
  "kubectl annotate serviceaccount skypilot-service-account --namespace ml-team eks.amazonaws.com/role-arn="; do
  grep -q "^+ $cmd" "$OUT/dry-run-irsa.out" || fail "irsa --dry-run did not print: $cmd"
done
for c in namespace serviceaccount role rolebinding clusterrole clusterrolebinding system-namespace system-role system-rolebinding; do
  file=rbac.yaml
  case "$c" in namespace | serviceaccount) file=serviceaccount.yaml ;; esac
  grep -q "^+ kubectl create -f $OUT/dry-custom/kubernetes/$file -l app.kubernetes.io/component=$c\$" "$OUT/dry-run-custom.out" ||
    fail "custom --dry-run did not print the creation of $c"
done
for cmd in "kubectl delete clusterrole podiam:ml-team.s3-reader" "kubectl delete serviceaccount s3-reader --namespace ml-team" \
  "kubectl delete namespace ml-team"; do
  grep -q "^+ $cmd" "$OUT/dry-run-custom-teardown.out" || fail "custom teardown --dry-run did not print: $cmd"
done
! grep -q "^+ kubectl delete namespace skypilot-system" "$OUT/dry-run-custom-teardown.out" ||
  fail "teardown would delete the shared skypilot-system namespace"
for cmd in "kubectl annotate serviceaccount skypilot-service-account --namespace ml-team eks.amazonaws.com/role-arn-" "aws iam detach-role-policy" "aws iam delete-role" "aws iam delete-policy" \
  "aws iam delete-open-id-connect-provider"; do
  grep -q "^+ $cmd" "$OUT/dry-run-teardown.out" || fail "teardown --dry-run did not print: $cmd"
done
# The annotation comes off in the `default` namespace too.
grep -q "^+ kubectl annotate serviceaccount skypilot-service-account --namespace default eks.amazonaws.com/role-arn-$" \
  "$OUT/dry-run-teardown-default.out" || fail "teardown --dry-run in the default namespace did not print the annotation's removal"
echo "  --dry-run: every command printed, none run"

# --- no aws and no kubectl on PATH, only basic tools: the dry runs print
# what they print with the stubs; a real run stops at preflight, naming the
# missing tool, and runs nothing (aws alone: kubectl is named, aws not run).
mkdir -p "$OUT/basic" "$OUT/aws-only"
for tool in bash basename dirname mktemp rm tr grep sed awk cat sleep; do
  ln -sf "$(command -v "$tool")" "$OUT/basic/$tool"
done
ln -sf "$OUT/record/aws" "$OUT/aws-only/aws"
for name in pod-identity irsa custom-teardown teardown-default; do
  case "$name" in
    pod-identity) script="$OUT/dry-pi/scripts/apply.sh" ;;
    irsa) script="$OUT/dry-irsa/scripts/apply.sh" ;;
    custom-teardown) script="$OUT/dry-custom/scripts/teardown.sh" ;;
    teardown-default) script="$OUT/dry-irsa-default/scripts/teardown.sh" ;;
  esac
  PATH="$OUT/basic" expect 0 "no-tools-$name" "$script" --dry-run
  cmp -s "$OUT/dry-run-$name.out" "$OUT/no-tools-$name.out" ||
    fail "--dry-run without aws and kubectl printed something else: $(diff "$OUT/dry-run-$name.out" "$OUT/no-tools-$name.out" || true)"
done
PATH="$OUT/basic" expect fail no-aws-apply "$OUT/dry-pi/scripts/apply.sh"
grep -q '^apply.sh: FAILED at step "preflight": aws is not on PATH$' "$OUT/no-aws-apply.out" ||
  fail "apply.sh without aws did not name it: $(cat "$OUT/no-aws-apply.out")"
grep -q '^Remedy: Install the AWS CLI' "$OUT/no-aws-apply.out" || fail "no remedy for the missing AWS CLI"
PATH="$OUT/basic:$OUT/aws-only" expect fail no-kubectl-apply "$OUT/dry-irsa/scripts/apply.sh"
grep -q '^apply.sh: FAILED at step "preflight": kubectl is not on PATH$' "$OUT/no-kubectl-apply.out" ||
  fail "apply.sh without kubectl did not name it: $(cat "$OUT/no-kubectl-apply.out")"
! grep -q '^+ ' "$OUT/no-aws-apply.out" "$OUT/no-kubectl-apply.out" || fail "a real run without the tools printed a command"
[ ! -s "$OUT/record/calls" ] || fail "a real run without kubectl ran aws first: $(cat "$OUT/record/calls")"
echo "  without aws and kubectl: --dry-run prints the same; a real run stops at preflight naming the tool"

# identity_types BUNDLE: verify.sh's sky_identity_type against SkyPilot
# 0.14.1's own reading (sky/clouds/aws.py, AWS._current_identity_type and
# should_use_env_auth_for_s3, quoted below) of canned `aws configure list`
# outputs, with `aws` replaced by a stub; apply.sh carries the same function.
identity_types() {
  local bundle="$1" cases="$OUT/identity" fn
  mkdir -p "$cases/bin"
  fn="$(sed -n '/^sky_identity_type() {$/,/^}$/p' "$bundle/scripts/verify.sh")"
  [ -n "$fn" ] || fail "verify.sh has no sky_identity_type function"
  [ "$fn" = "$(sed -n '/^sky_identity_type() {$/,/^}$/p' "$bundle/scripts/apply.sh")" ] ||
    fail "apply.sh and verify.sh read the identity type differently"
  cat >"$cases/bin/aws" <<'SH'
#!/bin/sh
printf '%s\n' "$*" >>"$CASES/calls"
[ "$1 $2" = "configure list" ] || exit 97
[ -f "$CASES/output" ] || exit 255
cat "$CASES/output"
SH
  chmod +x "$cases/bin/aws"
  "$VENV/bin/python" - "$cases" "$fn" <<'PY'
import os, re, subprocess, sys
cases, fn = sys.argv[1], sys.argv[2]

# SkyPilot 0.14.1, sky/clouds/aws.py: AWSIdentityType values in enum order,
# _current_identity_type() and should_use_env_auth_for_s3().
TYPES = ["sso", "env", "iam-role", "container-role", "custom-process", "assume-role", "login", "shared-credentials-file"]
ENV_AUTH = {"sso", "iam-role", "container-role", "login"}

def skypilot(output):
    if output is None:
        return None
    for t in TYPES:
        results = re.findall(fr"access_key.*{t}", output)
        if len(results) > 1:
            return "error"  # RuntimeError('Unexpected `aws configure list` output')
        if len(results) == 1:
            return t
    return "shared-credentials-file"

def listing(kind, location="None"):
    return ("      Name                    Value             Type    Location\n"
            "      ----                    -----             ----    --------\n"
            "   profile                <not set>             None    None\n"
            f"access_key     ****************ABCD {kind:>16}    {location}\n"
            f"secret_key     ****************WXYZ {kind:>16}    {location}\n"
            "    region                us-west-2      config-file    ~/.aws/config\n")

outputs = {t: listing(t) for t in TYPES}
outputs.update({
    "process-in-path": listing("shared-credentials-file", "~/.aws/envfiles/credentials"),
    "no-credentials": listing("None").replace("****************ABCD", "<not set>"),
    "two-access-keys": listing("env") + "access_key     ****************EFGH              env    \n",
    "empty": "",
    "command-fails": None,
})
env = dict(os.environ, PATH=f"{cases}/bin:" + os.environ["PATH"], CASES=cases, HOME=cases)
checked = 0
for name, output in outputs.items():
    path = os.path.join(cases, "output")
    if output is None:
        if os.path.exists(path):
            os.remove(path)
    else:
        open(path, "w").write(output)
    got = subprocess.run(["bash", "-c", fn + '\nDRY_RUN=0; sky_identity_type; printf "%s" "$SKY_IDENTITY"'],
                         env=env, capture_output=True, text=True).stdout
    want = skypilot(output)
    want = {None: "unknown", "error": "ambiguous"}.get(want, want)
    assert got == want, f"{name}: verify.sh says {got!r}, SkyPilot 0.14.1 says {want!r}"
    checked += 1
# aws.profile in ~/.sky/config.yaml is passed on, as SkyPilot does (--profile).
os.makedirs(os.path.join(cases, ".sky"), exist_ok=True)
open(os.path.join(cases, ".sky/config.yaml"), "w").write("aws:\n  remote_identity: NO_UPLOAD\n  profile: team-sso\n")
open(os.path.join(cases, "output"), "w").write(listing("sso"))
subprocess.run(["bash", "-c", fn + "\nDRY_RUN=0; sky_identity_type"], env=env, check=True)
calls = open(os.path.join(cases, "calls")).read().splitlines()
assert calls[-1] == "configure list --profile team-sso", calls[-1]
print(f"  identity type: {checked} canned outputs read as SkyPilot 0.14.1 reads them; aws.profile passed on")
PY
}

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

# --- the write counters the checks below rely on must bite (runbook.sh).
start_emulator "$OUT"
kube_state ""
counter_controls
stop_emulator

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
mark="$(wc -l <"$OUT/aws.log")"
expect fail taken-apply "$OUT/taken/scripts/apply.sh"
grep -q 'uses role arn:aws:iam::123456789012:role/someone-else' "$OUT/taken-apply.out" || fail "the foreign association was not reported"
grep -q '^Remedy: Point it at this role: aws eks update-pod-identity-association' "$OUT/taken-apply.out" || fail "no remedy for the foreign association"
[ -z "$(aws_writes "$mark")" ] || fail "apply.sh wrote before refusing the foreign association: $(aws_writes "$mark")"
echo "  foreign association: apply.sh stops before writing and names the update command"

# --- several bindings; the association of one that is not the first names another role.
fresh taken-binding pod-identity --namespace team-a --service-account runner --bind team-b:reader --bind team-a:writer
"$VENV/bin/python" - <<'PY'
import json, boto3
iam, eks = boto3.client("iam", region_name="us-west-2"), boto3.client("eks", region_name="us-west-2")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
arn = iam.create_role(RoleName="someone-else", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
eks.create_pod_identity_association(clusterName="my-eks-cluster", namespace="team-b", serviceAccount="reader", roleArn=arn)
PY
mark="$(wc -l <"$OUT/aws.log")"
kmark="$(wc -l <"$KUBECTL_STUB_LOG")"
expect fail taken-binding-apply "$OUT/taken-binding/scripts/apply.sh"
grep -q 'FAILED at step "preflight": association .* for team-b/reader uses role arn:aws:iam::123456789012:role/someone-else' "$OUT/taken-binding-apply.out" ||
  fail "the foreign association of binding team-b/reader was not reported: $(cat "$OUT/taken-binding-apply.out")"
grep -q '^Remedy: Point it at this role: aws eks update-pod-identity-association' "$OUT/taken-binding-apply.out" ||
  fail "no remedy for the foreign association of team-b/reader"
[ -z "$(aws_writes "$mark")" ] || fail "apply.sh wrote before refusing the foreign association of team-b/reader: $(aws_writes "$mark")"
[ -z "$(kube_writes "$kmark")" ] || fail "apply.sh wrote to Kubernetes before refusing: $(kube_writes "$kmark")"
expect fail taken-binding-verify "$OUT/taken-binding/scripts/verify.sh"
grep -q '^FAIL: Pod Identity association team-b/reader -> arn:aws:iam::123456789012:role/SkyPilotS3Role-my-bucket (found: arn:aws:iam::123456789012:role/someone-else' \
  "$OUT/taken-binding-verify.out" || fail "verify.sh did not fail on the association of team-b/reader: $(grep 'association' "$OUT/taken-binding-verify.out")"
echo "  one binding's association names another role: apply.sh stops before writing, verify.sh fails on it"

# --- an apply.sh without the association of one binding.
fresh skip-binding pod-identity --namespace team-a --service-account runner --bind team-b:reader
# shellcheck disable=SC2016 # '$CLUSTER' is script text
sed -i '/^  association "\$CLUSTER" team-b reader$/d' "$OUT/skip-binding/scripts/apply.sh"
# shellcheck disable=SC2016 # '$CLUSTER' is script text
! grep -q '^  association "$CLUSTER" team-b reader$' "$OUT/skip-binding/scripts/apply.sh" || fail "could not remove the association of team-b/reader"
# shellcheck disable=SC2016 # script text
grep -q '^  association "$CLUSTER" "$NAMESPACE" "$SERVICE_ACCOUNT"$' "$OUT/skip-binding/scripts/apply.sh" || fail "the first binding's association is gone too"
expect 0 skip-binding-apply "$OUT/skip-binding/scripts/apply.sh"
if EXPECT_BINDINGS="my-eks-cluster/team-a/runner;my-eks-cluster/team-b/reader" state applied "$OUT/skip-binding" pod-identity \
  my-eks-cluster team-a runner SkyPilotS3Role-my-bucket SkyPilotS3Access-my-bucket >"$OUT/skip-binding-state.out" 2>&1; then
  fail "the state check passed without the association of team-b/reader"
fi
grep -q "my-eks-cluster/team-b/reader: \[\]" "$OUT/skip-binding-state.out" || fail "the state check failed for another reason: $(cat "$OUT/skip-binding-state.out")"
expect fail skip-binding-verify "$OUT/skip-binding/scripts/verify.sh"
grep -q '^FAIL: Pod Identity association team-b/reader -> .* (found: none)' "$OUT/skip-binding-verify.out" ||
  fail "verify.sh missed the association of team-b/reader: $(grep association "$OUT/skip-binding-verify.out")"
[ "$(count '^FAIL: ' "$OUT/skip-binding-verify.out")" = 1 ] || fail "verify.sh: expected exactly 1 FAIL line without one binding's association"
echo "  one binding's association skipped: state check and verify.sh fail on it alone"

# --- an association of the service account with this role but a target role.
fresh target pod-identity
"$VENV/bin/python" - "$OUT/target" <<'PY'
import boto3, pathlib, sys
bundle = pathlib.Path(sys.argv[1])
iam, eks = boto3.client("iam", region_name="us-west-2"), boto3.client("eks", region_name="us-west-2")
arn = iam.create_role(RoleName="SkyPilotS3Role-my-bucket", AssumeRolePolicyDocument=(bundle / "iam/trust-policy.json").read_text())["Role"]["Arn"]
eks.create_pod_identity_association(clusterName="my-eks-cluster", namespace="default", serviceAccount="skypilot-service-account",
    roleArn=arn, targetRoleArn="arn:aws:iam::210987654321:role/elsewhere")
PY
mark="$(wc -l <"$OUT/aws.log")"
expect fail target-apply "$OUT/target/scripts/apply.sh"
grep -q 'has the target role arn:aws:iam::210987654321:role/elsewhere' "$OUT/target-apply.out" || fail "the target role was not reported: $(cat "$OUT/target-apply.out")"
[ -z "$(aws_writes "$mark")" ] || fail "apply.sh wrote before refusing the target role: $(aws_writes "$mark")"
expect fail target-verify "$OUT/target/scripts/verify.sh"
grep -q '^FAIL: Pod Identity association .* names no target role (found: arn:aws:iam::210987654321:role/elsewhere)' "$OUT/target-verify.out" ||
  fail "verify.sh did not fail on the target role"
echo "  association with a target role: apply.sh stops before writing, verify.sh fails"

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

# --- under --method both, a role of this name under /admin/ (the bundle's path
# is /): apply.sh stops at preflight, before the add-on, the OIDC provider, the
# policy or the role's trust policy are written.
fresh admin-path both
"$VENV/bin/python" - <<'PY'
import json, boto3
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
boto3.client("iam", region_name="us-west-2").create_role(RoleName="SkyPilotS3Role-my-bucket", Path="/admin/", AssumeRolePolicyDocument=json.dumps(trust))
PY
mark="$(wc -l <"$OUT/aws.log")"
kmark="$(wc -l <"$KUBECTL_STUB_LOG")"
expect fail admin-path-apply "$OUT/admin-path/scripts/apply.sh"
grep -q 'FAILED at step "preflight": role SkyPilotS3Role-my-bucket exists with IAM path /admin/, not /' "$OUT/admin-path-apply.out" ||
  fail "the role under /admin/ was not refused at preflight: $(cat "$OUT/admin-path-apply.out")"
[ -z "$(aws_writes "$mark")" ] || fail "apply.sh wrote before refusing the role under /admin/: $(aws_writes "$mark")"
[ -z "$(kube_writes "$kmark")" ] || fail "apply.sh wrote to Kubernetes before refusing the role under /admin/: $(kube_writes "$kmark")"
"$VENV/bin/python" - <<'PY' || fail "the trust policy of the role under /admin/ changed"
import boto3
doc = boto3.client("iam", region_name="us-west-2").get_role(RoleName="SkyPilotS3Role-my-bucket")["Role"]["AssumeRolePolicyDocument"]
assert "ec2.amazonaws.com" in str(doc), doc
PY
echo "  role under /admin/ (--method both): apply.sh stops at preflight, nothing written, trust policy untouched"

# --- under --method both, SkyPilot's service account already carries another
# role's eks.amazonaws.com/role-arn: apply.sh stops at preflight and writes
# nothing; the annotation of this role is fine (idempotent).
fresh foreign-annotation both
other_arn="arn:aws:iam::$ACCOUNT:role/someone-else"
"$VENV/bin/python" - "$KUBECTL_STUB_STATE" "$other_arn" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
state["serviceaccounts"]["default/skypilot-service-account"] = {"labels": {}, "annotations": {"eks.amazonaws.com/role-arn": sys.argv[2]}}
json.dump(state, open(sys.argv[1], "w"))
PY
mark="$(wc -l <"$OUT/aws.log")"
kmark="$(wc -l <"$KUBECTL_STUB_LOG")"
expect fail foreign-annotation-apply "$OUT/foreign-annotation/scripts/apply.sh"
grep -q "FAILED at step \"preflight\": serviceaccount default/skypilot-service-account has the annotation eks.amazonaws.com/role-arn=$other_arn" \
  "$OUT/foreign-annotation-apply.out" || fail "the other role's annotation was not refused: $(cat "$OUT/foreign-annotation-apply.out")"
grep -q '^Remedy: .*kubectl annotate serviceaccount skypilot-service-account --namespace default eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/SkyPilotS3Role-my-bucket --overwrite' \
  "$OUT/foreign-annotation-apply.out" || fail "no remedy for the other role's annotation"
[ -z "$(aws_writes "$mark")" ] || fail "apply.sh wrote before refusing the other role's annotation: $(aws_writes "$mark")"
[ -z "$(kube_writes "$kmark")" ] || fail "apply.sh wrote to Kubernetes before refusing the other role's annotation: $(kube_writes "$kmark")"
grep -q "$other_arn" "$KUBECTL_STUB_STATE" || fail "the other role's annotation was replaced"
"$VENV/bin/python" - "$KUBECTL_STUB_STATE" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
state["serviceaccounts"]["default/skypilot-service-account"]["annotations"]["eks.amazonaws.com/role-arn"] = "arn:aws:iam::123456789012:role/SkyPilotS3Role-my-bucket"
json.dump(state, open(sys.argv[1], "w"))
PY
expect 0 own-annotation-apply "$OUT/foreign-annotation/scripts/apply.sh"
grep -q "^already present: annotation eks.amazonaws.com/role-arn=arn:aws:iam::123456789012:role/SkyPilotS3Role-my-bucket" "$OUT/own-annotation-apply.out" ||
  fail "the annotation of this role was not reported present: $(cat "$OUT/own-annotation-apply.out")"
echo "  another role's annotation (--method both): apply.sh stops at preflight, nothing written; this role's is kept"

# --- a binding removed from the bundle: its association (this role) is left
# behind by apply.sh (with a warning), fails verify.sh, and teardown.sh
# deletes it, keeping an association of another role.
fresh stale pod-identity --namespace team-a --service-account runner --bind team-b:reader
expect 0 stale-apply-1 "$OUT/stale/scripts/apply.sh"
"$PODIAM" generate --region us-west-2 --bucket my-bucket --method pod-identity --namespace team-a --service-account runner \
  --cluster my-eks-cluster --out "$OUT/stale" --force >/dev/null
! grep -q team-b "$OUT/stale/scripts/apply.sh" || fail "the regenerated bundle still binds team-b/reader"
"$VENV/bin/python" - <<'PY'
import json, boto3
iam, eks = boto3.client("iam", region_name="us-west-2"), boto3.client("eks", region_name="us-west-2")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
arn = iam.create_role(RoleName="someone-else", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
eks.create_pod_identity_association(clusterName="my-eks-cluster", namespace="team-c", serviceAccount="other", roleArn=arn)
PY
expect 0 stale-apply-2 "$OUT/stale/scripts/apply.sh"
grep -q "^WARNING: Pod Identity association .* (team-b/reader in cluster my-eks-cluster) names this role but is no binding" "$OUT/stale-apply-2.out" ||
  fail "apply.sh did not warn about the stale association: $(cat "$OUT/stale-apply-2.out")"
! grep -q "team-c/other" "$OUT/stale-apply-2.out" || fail "apply.sh warned about another role's association"
expect fail stale-verify "$OUT/stale/scripts/verify.sh"
grep -q "^FAIL: no Pod Identity association of cluster my-eks-cluster names arn:aws:iam::123456789012:role/SkyPilotS3Role-my-bucket for a service account that is no binding (found: .*, team-b/reader)" \
  "$OUT/stale-verify.out" || fail "verify.sh did not fail on the stale association: $(cat "$OUT/stale-verify.out")"
grep -q "aws eks delete-pod-identity-association --cluster-name my-eks-cluster --association-id " "$OUT/stale-verify.out" || fail "verify.sh gave no delete command"
[ "$(count '^FAIL:' "$OUT/stale-verify.out")" = 1 ] || fail "verify.sh failed on more than the stale association: $(grep '^FAIL' "$OUT/stale-verify.out")"
expect 0 stale-teardown "$OUT/stale/scripts/teardown.sh" --yes
grep -q "^deleted: Pod Identity association .* (team-b/reader in cluster my-eks-cluster -> SkyPilotS3Role-my-bucket: no binding of this bundle)" "$OUT/stale-teardown.out" ||
  fail "teardown.sh did not delete the stale association: $(cat "$OUT/stale-teardown.out")"
"$VENV/bin/python" - <<'PY' || fail "after teardown.sh, the associations are wrong"
import boto3
eks = boto3.client("eks", region_name="us-west-2")
left = [(a["namespace"], a["serviceAccount"]) for a in eks.list_pod_identity_associations(clusterName="my-eks-cluster")["associations"]]
assert left == [("team-c", "other")], left
PY
echo "  removed binding: apply.sh warns, verify.sh fails on its association, teardown.sh deletes it and keeps another role's"

# --- an apply.sh without its Kubernetes step; then a namespace that holds a pod.
fresh custom pod-identity --namespace ml-team --service-account s3-reader
cp "$OUT/custom/scripts/apply.sh" "$OUT/custom/scripts/apply-no-kube.sh"
sed -i '/^kube_objects$/d' "$OUT/custom/scripts/apply-no-kube.sh"
! grep -q '^kube_objects$' "$OUT/custom/scripts/apply-no-kube.sh" || fail "could not remove the Kubernetes step"
expect 0 no-kube-apply "$OUT/custom/scripts/apply-no-kube.sh"
export EXPECT_PREEXISTING=""
if state kube-applied "$OUT/custom" pod-identity ml-team s3-reader MOUNT_CACHED >"$OUT/no-kube-state.out" 2>&1; then
  fail "the Kubernetes state check passed without the Kubernetes step"
fi
grep -q "namespace /ml-team was not created" "$OUT/no-kube-state.out" || fail "the state check failed for another reason: $(cat "$OUT/no-kube-state.out")"
expect fail no-kube-verify "$OUT/custom/scripts/verify.sh"
for what in "namespace ml-team exists" "serviceaccount ml-team/s3-reader exists" "clusterrole podiam:ml-team.s3-reader exists"; do
  grep -q "^FAIL: $what" "$OUT/no-kube-verify.out" || fail "verify.sh missed: $what"
done
expect 0 custom-apply "$OUT/custom/scripts/apply.sh"
state kube-applied "$OUT/custom" pod-identity ml-team s3-reader MOUNT_CACHED
"$VENV/bin/python" - "$KUBECTL_STUB_STATE" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
state.setdefault("pods", {})["ml-team/sky-abc-head"] = {"labels": {}, "annotations": {}}
json.dump(state, open(sys.argv[1], "w"))
PY
expect 0 custom-teardown "$OUT/custom/scripts/teardown.sh" --yes
grep -q "^kept: namespace ml-team (it still holds pod/sky-abc-head)" "$OUT/custom-teardown.out" ||
  fail "teardown did not keep the namespace that holds a pod: $(cat "$OUT/custom-teardown.out")"
EXPECT_PREEXISTING="namespace//ml-team" state kube-gone "$OUT/custom" pod-identity ml-team s3-reader MOUNT_CACHED
echo "  no Kubernetes step: state check and verify.sh fail; a namespace with a pod is kept"

# --- IRSA in the `default` namespace, with the service account SkyPilot
# created before apply.sh (unlabelled, unannotated): apply.sh annotates it,
# teardown.sh removes the annotation and keeps the account. A teardown.sh
# that skips the annotation in `default` must fail the state check.
fresh default-sa irsa
"$VENV/bin/python" - "$KUBECTL_STUB_STATE" <<'PY'
import json, sys
state = json.load(open(sys.argv[1]))
state["serviceaccounts"]["default/skypilot-service-account"] = {"labels": {}, "annotations": {}}
json.dump(state, open(sys.argv[1], "w"))
PY
export EXPECT_PREEXISTING="serviceaccount/default/skypilot-service-account"
expect 0 default-sa-apply "$OUT/default-sa/scripts/apply.sh"
state kube-applied "$OUT/default-sa" irsa default skypilot-service-account MOUNT_CACHED
cp "$OUT/default-sa/scripts/teardown.sh" "$OUT/default-sa/scripts/teardown-keeps-default.sh"
# shellcheck disable=SC2016 # '$NAMESPACE' is script text, expanded by teardown.sh
sed -i 's/^unannotate() {$/&\n  [ "$NAMESPACE" != default ] || return 0/' "$OUT/default-sa/scripts/teardown-keeps-default.sh"
# shellcheck disable=SC2016 # a literal line of the broken teardown.sh
grep -q '^  \[ "\$NAMESPACE" != default \] || return 0$' "$OUT/default-sa/scripts/teardown-keeps-default.sh" ||
  fail "could not make teardown.sh skip the default namespace"
expect 0 default-sa-teardown-broken "$OUT/default-sa/scripts/teardown-keeps-default.sh" --yes
if state kube-gone "$OUT/default-sa" irsa default skypilot-service-account MOUNT_CACHED >"$OUT/default-sa-gone.out" 2>&1; then
  fail "the state check passed with the role annotation left on default/skypilot-service-account"
fi
grep -q "is kept, but teardown.sh left its annotation eks.amazonaws.com/role-arn=" "$OUT/default-sa-gone.out" ||
  fail "the state check failed for another reason: $(cat "$OUT/default-sa-gone.out")"
expect 0 default-sa-teardown "$OUT/default-sa/scripts/teardown.sh" --yes
grep -q "^deleted: annotation eks.amazonaws.com/role-arn of default/skypilot-service-account" "$OUT/default-sa-teardown.out" ||
  fail "teardown.sh did not report removing the annotation: $(cat "$OUT/default-sa-teardown.out")"
state kube-gone "$OUT/default-sa" irsa default skypilot-service-account MOUNT_CACHED
export EXPECT_PREEXISTING=""
echo "  IRSA in default: teardown.sh removes the annotation from the account SkyPilot created; one that skips it fails"

# --- an existing OIDC provider without the sts.amazonaws.com audience.
fresh audience irsa
provider="$("$VENV/bin/python" - "$OUT/audience" <<'PY'
import boto3, json, pathlib, sys
trust = json.loads((pathlib.Path(sys.argv[1]) / "iam/trust-policy.json").read_text())
host = trust["Statement"][0]["Principal"]["Federated"].split("oidc-provider/", 1)[1]
print(boto3.client("iam", region_name="us-west-2").create_open_id_connect_provider(
    Url="https://" + host, ClientIDList=["other-audience"])["OpenIDConnectProviderArn"])
PY
)"
expect fail audience-verify "$OUT/audience/scripts/verify.sh"
grep -q "^FAIL: OIDC provider accepts the audience sts.amazonaws.com (its client ids: other-audience)" "$OUT/audience-verify.out" ||
  fail "verify.sh did not fail on the missing audience: $(grep OIDC "$OUT/audience-verify.out")"
expect 0 audience-apply "$OUT/audience/scripts/apply.sh"
grep -q "^updated: OIDC provider $provider (added the audience sts.amazonaws.com)" "$OUT/audience-apply.out" ||
  fail "apply.sh did not add the audience"
"$VENV/bin/python" - "$provider" <<'PY'
import boto3, sys
ids = boto3.client("iam", region_name="us-west-2").get_open_id_connect_provider(OpenIDConnectProviderArn=sys.argv[1])["ClientIDList"]
assert sorted(ids) == ["other-audience", "sts.amazonaws.com"], ids
PY
expect 0 audience-verify-again "$OUT/audience/scripts/verify.sh"
echo "  OIDC provider without the audience: verify.sh fails, apply.sh adds it"

# --- --pod-identity-agent existing: the add-on is checked, never created.
fresh agent pod-identity --pod-identity-agent existing
mark="$(wc -l <"$OUT/aws.log")"
expect fail agent-apply "$OUT/agent/scripts/apply.sh"
grep -q 'FAILED at step "1/6 EKS Pod Identity Agent add-on": add-on eks-pod-identity-agent is not installed' "$OUT/agent-apply.out" ||
  fail "apply.sh did not stop on the missing add-on: $(cat "$OUT/agent-apply.out")"
grep -q '^Remedy: .*--pod-identity-agent create' "$OUT/agent-apply.out" || fail "no remedy for the missing add-on"
[ -z "$(aws_writes "$mark")" ] || fail "apply.sh wrote with the add-on missing: $(aws_writes "$mark")"
expect fail agent-verify "$OUT/agent/scripts/verify.sh"
grep -q "^FAIL: add-on eks-pod-identity-agent is ACTIVE (status: not installed)" "$OUT/agent-verify.out" || fail "verify.sh missed the add-on"
"$VENV/bin/python" -c 'import boto3; boto3.client("eks", region_name="us-west-2").create_addon(clusterName="my-eks-cluster", addonName="eks-pod-identity-agent")'
mark="$(wc -l <"$OUT/aws.log")"
expect 0 agent-apply-again "$OUT/agent/scripts/apply.sh"
! grep -q '^eks POST /clusters/my-eks-cluster/addons' <(tail -n "+$((mark + 1))" "$OUT/aws.log") || fail "apply.sh created an add-on with --pod-identity-agent existing"
echo "  --pod-identity-agent existing: stops without the add-on, creates none with it"
stop_emulator

# --- the identity type, as SkyPilot 0.14.1 reads `aws configure list`.
identity_types "$OUT/dry-pi"
echo "runbook checks bite: 19 broken or hostile setups fail as they must"
