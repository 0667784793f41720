#!/usr/bin/env bash
# shellcheck (no findings at any severity) and bash -n on every generated
# script of several bundles, and RUNBOOK.md parsed with a CommonMark parser:
# its JSON blocks must equal the bundle's policy files.
set -euo pipefail
source "$CONFORMANCE_DIR/lib.sh"
use_venv runbook

need_apt shellcheck shellcheck
out="$(fresh_dir runbook-lint)"
oidc="EXAMPLED539D4633E53DE1B71EXAMPLE"
base=(--cluster my-eks-cluster --bucket my-bucket)
irsa=(--method irsa --account-id 123456789012)
gen() { local name="$1"; shift; "$PODIAM" generate "$@" --out "$out/$name" >/dev/null 2>&1 || fail "generate $name"; }
gen pod-identity "${base[@]}" --region us-west-2
gen irsa "${base[@]}" --region us-west-2 "${irsa[@]}" --oidc-issuer "https://oidc.eks.us-west-2.amazonaws.com/id/$oidc"
gen custom-pod-identity "${base[@]}" --region us-west-2 --namespace ml-team --service-account s3-reader \
  --kube-context "arn:aws:eks:us-west-2:123456789012:cluster/my-eks-cluster" --account-id 123456789012
gen custom-irsa "${base[@]}" --region us-west-2 "${irsa[@]}" --namespace ml-team --service-account s3-reader \
  --kube-context my-context --oidc-issuer "https://oidc.eks.us-west-2.amazonaws.com/id/$oidc"
gen china-irsa "${base[@]}" --region cn-north-1 "${irsa[@]}" --oidc-issuer "oidc.eks.cn-north-1.amazonaws.com.cn/id/$oidc"
gen china-pod-identity "${base[@]}" --region cn-north-1
gen odd-names "${base[@]}" --region us-west-2 --role-name 'a+b=c,d.e@f_g-h' --policy-name 'p+q=r,s.t@u_v-w'
options=(--bucket other-bucket --access read-only --prefix team-a/data --iam-path /skypilot/
  --permissions-boundary arn:aws:iam::123456789012:policy/B --max-session-duration 7200
  --tag team=ml --tag "owner=a b=c:d/e@f+g" --kms-key arn:aws:kms:us-west-2:123456789012:key/abc)
gen options-pod-identity "${base[@]}" --region us-west-2 "${options[@]}" --account-id 123456789012 --trust-source-account
gen options-irsa "${base[@]}" --region us-west-2 "${irsa[@]}" "${options[@]}" \
  --oidc-issuer "https://oidc.eks.us-west-2.amazonaws.com/id/$oidc"
gen copy-minimal "${base[@]}" --region us-west-2 --mount-mode COPY --access read-write --trust-minimal --multipart-cleanup
# Bindings: several service accounts, the migration (--method both), and IRSA
# with a pattern and a second cluster (its own issuer) from a params file.
gen bindings-pod-identity "${base[@]}" --region us-west-2 --namespace team-a --service-account runner \
  --bind team-b:reader --bind team-a:writer --kube-context my-context
gen bindings-both "${base[@]}" --region us-west-2 --method both --account-id 123456789012 --namespace ml-team \
  --oidc-issuer "https://oidc.eks.us-west-2.amazonaws.com/id/$oidc" --bind team-b:reader
params="$(fresh_dir runbook-lint-params)/bindings-irsa.yaml"
cat >"$params" <<YAML
bindings:
  - namespace: "team-*"
    service_account: reader
  - cluster: other-cluster
    namespace: jobs
    service_account: "runner-?"
    oidc_issuer: https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF
  - cluster: other-cluster
    namespace: jobs
    service_account: batch
    oidc_issuer: https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF
YAML
gen bindings-irsa "${base[@]}" --region us-west-2 "${irsa[@]}" --params "$params" \
  --oidc-issuer "https://oidc.eks.us-west-2.amazonaws.com/id/$oidc"

# Cross-account bundles (their scripts only: RUNBOOK.md is checked above):
# a target role with role options and two bindings, a bucket owner with two
# buckets and keys in two regions, and both at once.
cross="$(fresh_dir runbook-lint-cross)"
xgen() { local name="$1"; shift; "$PODIAM" generate "$@" --out "$cross/$name" >/dev/null 2>&1 || fail "generate $name"; }
xgen target-role "${base[@]}" --region us-west-2 --account-id 123456789012 --target-account 333333333333 \
  --bind team-b:reader --iam-path /skypilot/ --tag team=ml --permissions-boundary arn:aws:iam::123456789012:policy/B
xgen bucket-owner "${base[@]}" --bucket other-bucket --region us-west-2 --account-id 123456789012 \
  --bucket-account 222222222222 --kms-key arn:aws:kms:us-west-2:222222222222:key/abc \
  --kms-key arn:aws:kms:eu-west-1:222222222222:key/def
xgen target-and-owner "${base[@]}" --region us-west-2 --account-id 123456789012 --target-account 333333333333 \
  --bucket-account 222222222222 --kms-key arn:aws:kms:us-west-2:222222222222:key/abc
cross_scripts=("$cross"/*/scripts/*.sh)
[ "${#cross_scripts[@]}" = 11 ] || fail "expected 11 cross-account scripts, found ${#cross_scripts[@]}"

scripts=("$out"/*/scripts/*.sh)
[ "${#scripts[@]}" = 39 ] || fail "expected 39 scripts, found ${#scripts[@]}"
scripts+=("${cross_scripts[@]}")
for s in "${scripts[@]}"; do
  bash -n "$s" || fail "bash -n $s"
  [ -x "$s" ] || fail "$s is not executable"
done
shellcheck --version | sed -n 2p
shellcheck --severity=style --shell=bash "${scripts[@]}" || fail "shellcheck reported findings"
echo "shellcheck and bash -n: ${#scripts[@]} scripts clean"

grep -q "arn:aws-cn:iam::123456789012:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn" "$out/china-irsa/RUNBOOK.md" ||
  fail "China runbook lacks the aws-cn provider ARN"
grep -q "^PARTITION=aws-cn$" "$out/china-irsa/scripts/apply.sh" || fail "China apply.sh lacks PARTITION=aws-cn"
for needle in "S3 buckets: \`my-bucket\`, \`other-bucket\`" "Nothing can be written or deleted" \
  "only to object keys under \`team-a/data/\`" "Permissions boundary \`arn:aws:iam::123456789012:policy/B\`" \
  "\`arn:aws:iam::123456789012:role/skypilot/SkyPilotS3Role-my-bucket\`" "Maximum session duration 7200 seconds (2 hours)" \
  "\`owner=a b=c:d/e@f+g\`"; do
  grep -qF "$needle" "$out/options-irsa/RUNBOOK.md" || fail "options-irsa RUNBOOK.md lacks: $needle"
done
grep -qF "(\`aws:SourceAccount\`) is \`123456789012\`" "$out/options-pod-identity/RUNBOOK.md" || fail "the runbook does not name the source account condition"
grep -qF "The trust policy has no conditions" "$out/copy-minimal/RUNBOOK.md" || fail "the minimal trust is not described as unpinned"
! grep -q "Nothing can be written" "$out/pod-identity/RUNBOOK.md" || fail "a read-write runbook claims read-only"

"$VENV/bin/python" - "$out" <<'PY'
import json, pathlib, sys
from markdown_it import MarkdownIt
root = pathlib.Path(sys.argv[1])
md = MarkdownIt("commonmark")
for bundle in sorted(p for p in root.iterdir() if p.is_dir()):
    tokens = md.parse((bundle / "RUNBOOK.md").read_text())
    blocks = [t for t in tokens if t.type == "fence"]
    jsons = [json.loads(t.content) for t in blocks if t.info == "json"]
    assert jsons == [json.loads((bundle / f"iam/{f}").read_text()) for f in ("s3-access-policy.json", "trust-policy.json")], bundle
    assert [t for t in tokens if t.type == "heading_open" and t.tag == "h1"], bundle
    text = (bundle / "RUNBOOK.md").read_text()
    assert "{{" not in text and "{%" not in text, bundle
print(f"RUNBOOK.md: {len(list(root.iterdir()))} runbooks parse as CommonMark; their JSON blocks equal the policy files")
PY
