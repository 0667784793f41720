#!/usr/bin/env bash
# parliament on every generated permission policy (fixtures x access
# profiles) and trust policy, and on the cross-account documents (issue 12:
# bucket policy, KMS key policy, target role trust, source role policy).
# Only the two known false positives on trust policies (facts.md) and the
# key policy's Resource "*" (AWS KMS: in a key policy "*" is the key itself)
# are filtered, each by finding code and detail, with its reason.
# A parliament crash fails the check (exit code and --json output format are
# both checked); controls: two broken policies must be reported by finding
# code, a crashing parliament and garbage output must fail lint.
set -euo pipefail
# shellcheck source=tests/conformance/lib.sh
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

# Cross-account (issue 12): one line per case: name, the artifacts it has
# (artifact:kind, comma-separated), then extra arguments.
xkms_w2="arn:aws:kms:us-west-2:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"
xkms_e1="arn:aws:kms:us-east-1:222222222222:key/5678abcd-12ab-34cd-56ef-1234567890ab"
xkms_cn="arn:aws-cn:kms:cn-north-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"
xbase=(--cluster c1 --bucket lake-data --account-id 111111111111)
xb=bucket-policy:resource
xk=kms-key-policy:key-policy
xt=target-trust-policy:trust,source-role-policy:policy,s3-access-policy:policy
cross_cases=(
  "x-bucket-rw $xb --region us-west-2 --bucket-account 222222222222"
  "x-bucket-ro $xb --region us-west-2 --bucket-account 222222222222 --access read-only"
  "x-bucket-prefixes $xb --region us-west-2 --bucket-account 222222222222 --prefix team/a --prefix shared/"
  "x-bucket-two $xb --region us-west-2 --bucket-account 222222222222 --bucket lake-archive --access read-only --prefix runs"
  "x-bucket-kms $xb,$xk --region us-west-2 --bucket-account 222222222222 --kms-key $xkms_w2 --kms-key $xkms_e1"
  "x-bucket-kms-ro $xb,$xk --region us-west-2 --bucket-account 222222222222 --access read-only --kms-key $xkms_w2"
  "x-target-one $xt --region us-west-2 --target-account 333333333333"
  "x-target-two $xt --region us-west-2 --target-account 333333333333 --bind ml:runner"
  "x-target-bucket $xt,$xb,$xk --region us-west-2 --target-account 333333333333 --bucket-account 222222222222 --bind ml:runner --bind etl:loader --prefix runs/ --kms-key $xkms_w2"
  "x-path $xt,$xb,$xk --region us-west-2 --target-account 333333333333 --bucket-account 222222222222 --iam-path /team/x/ --access read-only --kms-key $xkms_w2"
  "x-china $xb,$xk --region cn-north-1 --bucket-account 222222222222 --kms-key $xkms_cn"
)

# lint FILE KIND [COMMAND...]: prints parliament's unfiltered findings on FILE
# as JSON lines; fails when parliament did not run cleanly. COMMAND (default:
# the venv's parliament) is there for the crash controls below.
# parliament 1.6.4 (parliament/cli.py, main and print_finding) exits 0 and
# prints nothing when it finds nothing, and exits 1 printing one JSON object
# per finding with --json. An uncaught exception exits 1 as well, so neither
# the exit code nor an empty output alone means "no findings": anything but
# exit 0 with no output, or exit 1 with only well-formed findings and no
# traceback, is a crash.
lint() {
  local file="$1" kind="$2"
  shift 2
  [ "$#" -gt 0 ] || set -- "$VENV/bin/parliament"
  "$VENV/bin/python" - "$file" "$kind" "$@" <<'PY'
import json, subprocess, sys
file, kind, command = sys.argv[1], sys.argv[2], sys.argv[3:]
with open(file) as f:
    run = subprocess.run(command + ["--json"], stdin=f, capture_output=True, text=True)
KEYS = {"issue", "title", "severity", "description", "detail", "location"}

def crash(why):
    sys.exit(f"parliament did not run cleanly on {file}: {why} (exit {run.returncode})\n"
             f"stdout: {run.stdout[-1500:]}\nstderr: {run.stderr[-1500:]}")

if "Traceback (most recent call last)" in run.stderr:
    crash("it raised an exception")
if run.returncode not in (0, 1):
    crash("an exit code parliament does not use")
findings = []
for line in run.stdout.splitlines():
    try:
        finding = json.loads(line)
    except ValueError:
        crash(f"an output line that is not JSON: {line[:200]!r}")
    if not isinstance(finding, dict) or set(finding) != KEYS:
        crash(f"an output line that is not a finding: {line[:200]!r}")
    findings.append(finding)
if run.returncode == 0 and findings:
    crash("findings, but exit 0")
if run.returncode == 1 and not findings:
    crash("exit 1 without a finding")
for f in findings:
    # Trust policies have no Resource by design: IAM forbids one there.
    if kind == "trust" and f["issue"] == "MALFORMED" and f["detail"] == "Statement contains neither Resource nor NotResource":
        continue
    # parliament knows no EKS OIDC providers; an EKS issuer ARN is a valid federation source.
    if kind == "trust" and f["issue"] == "UNKNOWN_FEDERATION_SOURCE" and ":oidc-provider/oidc.eks." in str(f["detail"]):
        continue
    # A key policy's Resource "*" means the key the policy is on (AWS KMS
    # developer guide, "Key policies": "the Resource element is "*", which
    # means "this KMS key""); only for KMS actions, never another service's.
    if kind == "key-policy" and f["issue"] == "RESOURCE_STAR" and isinstance(f["detail"], list) \
            and f["detail"] and all(str(a).startswith("kms:") for a in f["detail"]):
        continue
    print(json.dumps(f, sort_keys=True))
PY
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
    result="$(lint "$out/$name.$kind.json" "$kind")" || fail "parliament crashed on $name.$kind.json"
    checked=$((checked + 1))
    if [ -n "$result" ]; then
      echo "parliament: $name.$kind.json:" >&2
      echo "$result" >&2
      findings=$((findings + 1))
    fi
  done
done

for case in "${cross_cases[@]}"; do
  read -r name artifacts extra <<<"$case"
  IFS=, read -r -a pairs <<<"$artifacts"
  for pair in "${pairs[@]}"; do
    artifact="${pair%%:*}" kind="${pair#*:}"
    file="$out/$name.$artifact.json"
    # shellcheck disable=SC2086 # extra holds several arguments on purpose
    "$PODIAM" render "$artifact" "${xbase[@]}" $extra >"$file" 2>"$file.err" ||
      fail "podiam render $artifact failed for $name: $(cat "$file.err")"
    result="$(lint "$file" "$kind")" || fail "parliament crashed on $name.$artifact.json"
    checked=$((checked + 1))
    if [ -n "$result" ]; then
      echo "parliament: $name.$artifact.json:" >&2
      echo "$result" >&2
      findings=$((findings + 1))
    fi
  done
done

# The linter must bite: a policy that grants an object action on a bucket
# ARN, and one with an action S3 does not have, are findings, each by its code.
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::my-bucket"}]}' >"$out/broken.json"
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObjekt","Resource":"arn:aws:s3:::my-bucket/*"}]}' >"$out/unknown-action.json"
for control in broken:RESOURCE_MISMATCH unknown-action:UNKNOWN_ACTION; do
  result="$(lint "$out/${control%%:*}.json" policy)" || fail "parliament crashed on the control ${control%%:*}.json"
  grep -q "\"issue\": \"${control#*:}\"" <<<"$result" ||
    fail "parliament did not report ${control#*:} on the deliberately broken ${control%%:*}.json: ${result:-nothing}"
done
# A crash must fail the check, not read as "no findings": parliament itself
# raising an exception (--minimal with --json, cli.py), and a stand-in that
# prints garbage and exits 1.
if lint "$out/docs.policy.json" policy "$VENV/bin/parliament" --minimal >"$out/crash.out" 2>&1; then
  fail "lint passed a parliament that raised an exception: $(cat "$out/crash.out")"
fi
grep -q 'it raised an exception' "$out/crash.out" || fail "the crash was not reported as one: $(cat "$out/crash.out")"
if lint "$out/docs.policy.json" policy "$VENV/bin/python" -c 'print("Segmentation fault"); raise SystemExit(1)' >"$out/garbage.out" 2>&1; then
  fail "lint passed a parliament that printed garbage: $(cat "$out/garbage.out")"
fi
grep -q 'an output line that is not JSON' "$out/garbage.out" || fail "the garbage was not reported: $(cat "$out/garbage.out")"
# The same on the cross-account kinds: parliament reads a bucket policy's
# statements (an object action on the bucket ARN), and the key policy's
# filter keeps Resource "*" for another service and an unknown KMS action.
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/r"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::lake-data"}]}' >"$out/broken-bucket.json"
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/r"},"Action":["kms:Decrypt","s3:GetObject"],"Resource":"*"}]}' >"$out/broken-key-star.json"
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/r"},"Action":"kms:Decrypted","Resource":"*"}]}' >"$out/broken-key-action.json"
printf '%s' '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole","Resource":"*","Condition":{"StringEquals":{"sts:ExternalIdd":"x"}}}]}' >"$out/broken-target-trust.json"
for control in broken-bucket:resource:RESOURCE_MISMATCH broken-key-star:key-policy:RESOURCE_STAR \
  broken-key-action:key-policy:UNKNOWN_ACTION broken-target-trust:trust:UNKNOWN_CONDITION_FOR_ACTION; do
  IFS=: read -r file kind code <<<"$control"
  result="$(lint "$out/$file.json" "$kind")" || fail "parliament crashed on the control $file.json"
  grep -q "\"issue\": \"$code\"" <<<"$result" ||
    fail "parliament did not report $code on the deliberately broken $file.json: ${result:-nothing}"
done
echo "parliament: controls bite (RESOURCE_MISMATCH, UNKNOWN_ACTION found; a crash and garbage output fail; bucket, key and target trust policies: RESOURCE_MISMATCH, RESOURCE_STAR outside KMS, UNKNOWN_ACTION, UNKNOWN_CONDITION_FOR_ACTION)"

echo "parliament: $checked documents checked, $findings with findings"
[ "$findings" -eq 0 ]
