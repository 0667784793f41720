#!/usr/bin/env bash
# parliament on every generated permission policy (fixtures x access
# profiles) and trust policy. Only the two known false positives on trust
# policies are filtered, each by finding code and detail, with its reason.
set -euo pipefail
source "$CONFORMANCE_DIR/lib.sh"
use_venv parliament

out="$(fresh_dir parliament)"
oidc="EXAMPLED539D4633E53DE1B71EXAMPLE"
kms_aws="arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
kms_east="arn:aws:kms:us-east-1:123456789012:key/5678abcd-12ab-34cd-56ef-1234567890ab"
kms_cn="arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
base=(--cluster my-eks-cluster --bucket my-bucket)

# One line per case: name, then extra arguments.
cases=(
  "docs --region us-west-2"
  "read-only --region us-west-2 --access read-only"
  "copy --region us-west-2 --mount-mode COPY"
  "prefix --region us-west-2 --prefix team-a/data"
  "prefixes-ro --region us-west-2 --access read-only --prefix team-a/data --prefix shared/"
  "multipart --region us-west-2 --multipart-cleanup"
  "kms-rw --region us-west-2 --kms-key $kms_aws"
  "kms-ro --region us-west-2 --access read-only --kms-key $kms_aws"
  "buckets --region us-west-2 --bucket second-bucket --bucket third.bucket"
  "everything --region us-west-2 --bucket second-bucket --prefix p/q --access read-write --multipart-cleanup --kms-key $kms_aws --kms-key $kms_east"
  "china --region cn-north-1 --kms-key $kms_cn --prefix a"
  "govcloud --region us-gov-west-1 --access read-only"
  "trust-pinned-account --region us-west-2 --account-id 123456789012 --trust-source-account --trust-source-arn"
  "trust-minimal --region us-west-2 --trust-minimal"
  "irsa --region us-west-2 --method irsa --account-id 123456789012 --oidc-issuer oidc.eks.us-west-2.amazonaws.com/id/$oidc"
  "irsa-china --region cn-north-1 --method irsa --account-id 123456789012 --oidc-issuer oidc.eks.cn-north-1.amazonaws.com.cn/id/$oidc"
)

lint() { # lint FILE KIND -> prints unfiltered findings as JSON lines
  local file="$1" kind="$2"
  "$VENV/bin/parliament" --json <"$file" | "$VENV/bin/python" -c '
import json, sys
kind = sys.argv[1]
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    f = json.loads(line)
    # Trust policies have no Resource by design: IAM forbids one there.
    if kind == "trust" and f["issue"] == "MALFORMED" and f["detail"] == "Statement contains neither Resource nor NotResource":
        continue
    # parliament knows no EKS OIDC providers; an EKS issuer ARN is a valid federation source.
    if kind == "trust" and f["issue"] == "UNKNOWN_FEDERATION_SOURCE" and ":oidc-provider/oidc.eks." in str(f["detail"]):
        continue
    print(line)
' "$kind" || true
}

checked=0
findings=0
for case in "${cases[@]}"; do
  read -r name extra <<<"$case"
  # shellcheck disable=SC2086 # extra holds several arguments on purpose
  "$PODIAM" render s3-access-policy "${base[@]}" $extra >"$out/$name.policy.json" 2>/dev/null
  # shellcheck disable=SC2086
  "$PODIAM" render trust-policy "${base[@]}" $extra >"$out/$name.trust.json" 2>/dev/null
  for kind in policy trust; do
    result="$(lint "$out/$name.$kind.json" "$kind")"
    checked=$((checked + 1))
    if [ -n "$result" ]; then
      echo "parliament: $name.$kind.json:" >&2
      echo "$result" >&2
      findings=$((findings + 1))
    fi
  done
done

# The linter must bite: a policy that grants an object action on a bucket ARN
# is a finding.
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket"}]}' >"$out/broken.json"
if [ -z "$(lint "$out/broken.json" policy)" ]; then
  fail "parliament reported nothing on a deliberately broken policy"
fi

echo "parliament: $checked documents checked, $findings with findings"
[ "$findings" -eq 0 ]
