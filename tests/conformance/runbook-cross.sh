# shellcheck shell=bash
# The cross-account runbook parts of check-30, sourced after runbook.sh.
# Other accounts come from moto's multi-account support: credentials that
# `sts assume-role` returns belong to the account of the role's ARN (moto
# 5.2, moto/sts/models.py, StsBackend.assume_role: "the role does not need
# to exist. The ARN can point to another account, providing an opportunity
# to switch accounts"), so no role is created for it.
#   target_role: a Pod Identity target-role bundle (--target-account):
#     apply.sh without --target-profile stops before writing; apply.sh, the
#     state in both accounts, verify.sh, apply.sh again writes nothing,
#     teardown.sh, verify.sh fails; an externalId other than the reviewed one
#     stops apply.sh before the target account is written.
#   bucket_owner: bucket-owner.sh against a bucket (and KMS key) of another
#     account whose policies already hold statements of their owner.

TARGET_ACCOUNT=333333333333
OWNER_ACCOUNT=222222222222

# account_profile NAME ACCOUNT: an AWS CLI profile NAME (in the scratch
# credentials file) with credentials for ACCOUNT.
account_profile() {
  local name="$1" account="$2" key secret token
  read -r key secret token < <(aws sts assume-role --role-arn "arn:aws:iam::$account:role/OrganizationAccountAccessRole" \
    --role-session-name podiam-conformance --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
  printf '[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n' \
    "$name" "$key" "$secret" "$token" >>"$AWS_SHARED_CREDENTIALS_FILE"
  [ "$(aws --profile "$name" sts get-caller-identity --query Account --output text)" = "$account" ] ||
    fail "profile $name does not reach account $account"
}

# in_profile NAME CMD...: CMD with the credentials of profile NAME only (the
# environment's keys would win over AWS_PROFILE).
in_profile() {
  local name="$1"
  shift
  env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_PROFILE="$name" "$@"
}

# same_doc TEXT FILE: TEXT and FILE hold the same JSON document (keys sorted).
same_doc() {
  [ "$(jq -S . <<<"$1")" = "$(jq -S . "$2")" ]
}

# target_state BUNDLE ROLE POLICY BINDINGS...: after apply.sh: the source role
# (cluster account) trusts as iam/trust-policy.json, has the inline policy and
# no managed policy; each binding (NS/SA) has one association with the target
# role and the reviewed externalId; the target role (profile target) trusts as
# iam/target-trust-policy.json and has the S3 policy attached.
target_state() {
  local b="$1" role="$2" policy="$3" binding id details
  shift 3
  same_doc "$(aws iam get-role --role-name "$role" --query Role.AssumeRolePolicyDocument --output json)" "$b/iam/trust-policy.json" ||
    fail "the source role's trust is not iam/trust-policy.json"
  same_doc "$(aws iam get-role-policy --role-name "$role" --policy-name podiam-assume-target-role --query PolicyDocument --output json)" \
    "$b/iam/source-role-policy.json" || fail "the source role's inline policy is not iam/source-role-policy.json"
  [ -z "$(aws iam list-attached-role-policies --role-name "$role" --query 'AttachedPolicies[].PolicyArn' --output text)" ] ||
    fail "the source role has a managed policy attached"
  ! aws iam get-policy --policy-arn "arn:aws:iam::$ACCOUNT:policy/$policy" >/dev/null 2>&1 ||
    fail "the S3 policy was created in the cluster account"
  for binding in "$@"; do
    id="$(aws eks list-pod-identity-associations --cluster-name my-eks-cluster --namespace "${binding%/*}" --service-account "${binding#*/}" --query 'associations[].associationId' --output text)"
    [ "$(wc -w <<<"$id")" = 1 ] || fail "binding $binding: $(wc -w <<<"$id") associations"
    details="$(aws eks describe-pod-identity-association --cluster-name my-eks-cluster --association-id "$id" --query 'association.[roleArn,targetRoleArn,externalId]' --output text)"
    [ "$details" = "arn:aws:iam::$ACCOUNT:role/$role"$'\t'"arn:aws:iam::$TARGET_ACCOUNT:role/$role"$'\t'"us-west-2/$ACCOUNT/my-eks-cluster/$binding" ] ||
      fail "binding $binding: association $details"
    grep -qF "\"us-west-2/$ACCOUNT/my-eks-cluster/$binding\"" "$b/iam/target-trust-policy.json" ||
      fail "iam/target-trust-policy.json does not admit the externalId of $binding"
  done
  same_doc "$(aws --profile target iam get-role --role-name "$role" --query Role.AssumeRolePolicyDocument --output json)" "$b/iam/target-trust-policy.json" ||
    fail "the target role's trust is not iam/target-trust-policy.json"
  [ "$(aws --profile target iam list-attached-role-policies --role-name "$role" --query 'AttachedPolicies[].PolicyArn' --output text)" = \
    "arn:aws:iam::$TARGET_ACCOUNT:policy/$policy" ] || fail "the target role does not have exactly the S3 policy attached"
  same_doc "$(aws --profile target iam get-policy-version --policy-arn "arn:aws:iam::$TARGET_ACCOUNT:policy/$policy" --version-id v1 --query PolicyVersion.Document --output json)" \
    "$b/iam/s3-access-policy.json" || fail "the target account's S3 policy is not iam/s3-access-policy.json"
  echo "  state: source role with trust and inline policy only, $# association(s) -> target role with the reviewed externalId, target role trust and S3 policy in account $TARGET_ACCOUNT"
}

target_role() {
  local role=SkyPilotS3Role-my-bucket policy=SkyPilotS3Access-my-bucket mark b
  OUT="$(fresh_dir runbook/target-role)"
  echo "== target-role (pod-identity, --target-account $TARGET_ACCOUNT, two bindings)"
  start_emulator "$OUT"
  script_env "$OUT"
  kube_state ""
  state create-cluster my-eks-cluster >/dev/null
  account_profile target "$TARGET_ACCOUNT"
  account_profile cluster "$ACCOUNT"
  b="$OUT/bundle"
  "$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --account-id "$ACCOUNT" \
    --target-account "$TARGET_ACCOUNT" --bind team-b:reader --mount-mode COPY --out "$b" >/dev/null
  mkdir -p "$HOME/.sky"
  cp "$b/skypilot/config.yaml" "$HOME/.sky/config.yaml"

  mark="$(wc -l <"$OUT/aws.log")"
  expect fail 0-apply-no-profile "$b/scripts/apply.sh"
  grep -q 'needs --target-profile' "$OUT/0-apply-no-profile.out" || fail "apply.sh did not ask for --target-profile"
  [ -z "$(aws_writes "$mark")" ] || fail "apply.sh wrote without --target-profile: $(aws_writes "$mark")"
  expect fail 0-apply-wrong-profile "$b/scripts/apply.sh" --target-profile cluster
  grep -q "has credentials for account $ACCOUNT, but the target role is in account $TARGET_ACCOUNT" "$OUT/0-apply-wrong-profile.out" ||
    fail "apply.sh did not name both accounts: $(cat "$OUT/0-apply-wrong-profile.out")"

  expect 0 1-apply "$b/scripts/apply.sh" --target-profile target
  target_state "$b" "$role" "$policy" default/skypilot-service-account team-b/reader
  expect 0 3-verify "$b/scripts/verify.sh" --target-profile target
  # credentials, target credentials; per binding: association, session tags,
  # target role, externalId; no stray; source: trust, path, boundary,
  # duration, inline policy; target: the same four, attachment, document;
  # the SkyPilot config.
  [ "$(count '^PASS: ' "$OUT/3-verify.out")" = 25 ] || fail "verify.sh: expected 25 PASS lines, got $(count '^PASS: ' "$OUT/3-verify.out")"
  [ "$(count '^FAIL' "$OUT/3-verify.out")" = 0 ] || fail "verify.sh printed FAIL"
  [ "$(count '^PASS: Pod Identity association .* has the externalId ' "$OUT/3-verify.out")" = 2 ] || fail "verify.sh did not check 2 externalIds"

  mark="$(wc -l <"$OUT/aws.log")"
  expect 0 4-apply-again "$b/scripts/apply.sh" --target-profile target
  [ -z "$(aws_writes "$mark")" ] || fail "second apply wrote to AWS: $(aws_writes "$mark")"
  ! grep -Eq '^(created|updated): ' "$OUT/4-apply-again.out" || fail "second apply reported a change"

  # A role that had the bundle's S3 policy of the cluster's account attached
  # (the same bundle before --target-account): verify fails, apply detaches it.
  local own="arn:aws:iam::$ACCOUNT:policy/$policy"
  aws iam create-policy --policy-name "$policy" --policy-document "file://$b/iam/s3-access-policy.json" >/dev/null
  aws iam attach-role-policy --role-name "$role" --policy-arn "$own"
  expect fail 4b-verify-own-policy "$b/scripts/verify.sh" --target-profile target
  grep -q "^FAIL: role $role has no S3 policy of its own" "$OUT/4b-verify-own-policy.out" ||
    fail "verify.sh did not report the source role's own S3 policy"
  expect 0 4c-apply-detaches "$b/scripts/apply.sh" --target-profile target
  grep -q "^detached: policy $own from role $role" "$OUT/4c-apply-detaches.out" || fail "apply.sh did not detach $own"
  [ -z "$(aws iam list-attached-role-policies --role-name "$role" --query 'AttachedPolicies[].PolicyArn' --output text)" ] ||
    fail "the source role still has a managed policy attached"
  aws iam delete-policy --policy-arn "$own"
  echo "  a source role with the cluster account's S3 policy: verify fails, apply detaches it"

  expect 0 5-teardown "$b/scripts/teardown.sh" --yes --target-profile target
  ! aws iam get-role --role-name "$role" >/dev/null 2>&1 || fail "teardown left the source role"
  ! aws --profile target iam get-role --role-name "$role" >/dev/null 2>&1 || fail "teardown left the target role"
  ! aws --profile target iam get-policy --policy-arn "arn:aws:iam::$TARGET_ACCOUNT:policy/$policy" >/dev/null 2>&1 ||
    fail "teardown left the target account's S3 policy"
  [ -z "$(aws eks list-pod-identity-associations --cluster-name my-eks-cluster --query 'associations[].associationId' --output text)" ] ||
    fail "teardown left associations"
  expect fail 6-verify-after-teardown "$b/scripts/verify.sh" --target-profile target
  [ "$(count '^FAIL: ' "$OUT/6-verify-after-teardown.out")" -ge 6 ] || fail "verify.sh after teardown: too few FAIL lines"
  stop_emulator

  # EKS gives another externalId than the reviewed one: apply.sh stops after
  # the association, before the target account is written.
  OUT="$(fresh_dir runbook/target-role-external-id)"
  echo "== target-role-external-id (the association's externalId differs from the reviewed one)"
  export EMULATOR_EXTERNAL_ID_SKEW=-other
  start_emulator "$OUT"
  unset EMULATOR_EXTERNAL_ID_SKEW
  script_env "$OUT"
  kube_state ""
  state create-cluster my-eks-cluster >/dev/null
  account_profile target "$TARGET_ACCOUNT"
  "$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --account-id "$ACCOUNT" \
    --target-account "$TARGET_ACCOUNT" --mount-mode COPY --out "$OUT/bundle" >/dev/null
  expect fail 1-apply "$OUT/bundle/scripts/apply.sh" --target-profile target
  grep -qF "has the externalId us-west-2/$ACCOUNT/my-eks-cluster/default/skypilot-service-account-other, but iam/target-trust-policy.json was reviewed for us-west-2/$ACCOUNT/my-eks-cluster/default/skypilot-service-account" "$OUT/1-apply.out" ||
    fail "apply.sh did not name both externalIds: $(cat "$OUT/1-apply.out")"
  ! aws --profile target iam get-role --role-name "$role" >/dev/null 2>&1 || fail "apply.sh wrote the target role despite the externalId"
  ! aws --profile target iam get-policy --policy-arn "arn:aws:iam::$TARGET_ACCOUNT:policy/$policy" >/dev/null 2>&1 ||
    fail "apply.sh wrote the target account's policy despite the externalId"
  echo "  externalId mismatch: apply.sh stopped, naming both values, before the target account was written"
  stop_emulator
}

# statements_of TEXT: the statements of a policy, canonical (keys sorted), one per line.
statements_of() {
  jq -S -c '.Statement[]' <<<"$1"
}

bucket_owner() {
  local b key unrelated default_key policy sids
  OUT="$(fresh_dir runbook/bucket-owner)"
  echo "== bucket-owner (--bucket-account $OWNER_ACCOUNT, a KMS key, policies with their owner's statements)"
  start_emulator "$OUT"
  script_env "$OUT"
  account_profile owner "$OWNER_ACCOUNT"
  in_profile owner aws s3api create-bucket --bucket my-bucket --create-bucket-configuration LocationConstraint=us-west-2 >/dev/null
  unrelated='{"Version": "2012-10-17", "Statement": [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::my-bucket", "arn:aws:s3:::my-bucket/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}'
  in_profile owner aws s3api put-bucket-policy --bucket my-bucket --policy "$unrelated"
  key="$(in_profile owner aws kms create-key --query KeyMetadata.Arn --output text)"
  [[ "$key" == "arn:aws:kms:us-west-2:$OWNER_ACCOUNT:key/"* ]] || fail "the key is not in account $OWNER_ACCOUNT: $key"
  default_key="$(in_profile owner aws kms get-key-policy --key-id "$key" --policy-name default --query Policy --output text)"
  b="$OUT/bundle"
  "$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --account-id "$ACCOUNT" \
    --bucket-account "$OWNER_ACCOUNT" --kms-key "$key" --out "$b" >/dev/null
  sids="$(jq -r '.Statement[].Sid' "$b/iam/bucket-policy.json" | tr '\n' ' ')"

  expect fail 0-wrong-account "$b/scripts/bucket-owner.sh" apply
  grep -q "credentials are for account $ACCOUNT, but this script writes in account $OWNER_ACCOUNT" "$OUT/0-wrong-account.out" ||
    fail "bucket-owner.sh did not name both accounts: $(cat "$OUT/0-wrong-account.out")"

  expect 0 1-apply in_profile owner "$b/scripts/bucket-owner.sh" apply
  policy="$(in_profile owner aws s3api get-bucket-policy --bucket my-bucket --query Policy --output text)"
  [ "$(statements_of "$policy" | head -n 1)" = "$(statements_of "$unrelated")" ] ||
    fail "the owner's statement changed: $policy"
  [ "$(statements_of "$policy" | tail -n +2)" = "$(jq -S -c '.Statement[]' "$b/iam/bucket-policy.json")" ] ||
    fail "the bucket policy does not end with the statements of iam/bucket-policy.json: $policy"
  policy="$(in_profile owner aws kms get-key-policy --key-id "$key" --policy-name default --query Policy --output text)"
  [ "$(statements_of "$policy" | head -n -1)" = "$(statements_of "$default_key")" ] || fail "the key's own statements changed: $policy"
  [ "$(statements_of "$policy" | tail -n 1)" = "$(jq -S -c '.Statement[]' "$b/iam/kms-key-policy.json")" ] ||
    fail "the key policy does not end with the statement of iam/kms-key-policy.json: $policy"
  echo "  apply: merged statements ${sids% } and the key's; the owner's statements are unchanged"

  expect 0 2-apply-again in_profile owner "$b/scripts/bucket-owner.sh" apply
  [ "$(count '^unchanged: ' "$OUT/2-apply-again.out")" = 2 ] || fail "second apply did not report 2 policies unchanged"
  ! grep -q '^updated: ' "$OUT/2-apply-again.out" || fail "second apply updated a policy"
  ! grep -q '^+ ' "$OUT/2-apply-again.out" || fail "second apply ran a write: $(grep '^+ ' "$OUT/2-apply-again.out")"
  expect 0 3-verify in_profile owner "$b/scripts/bucket-owner.sh" verify
  [ "$(count '^PASS: ' "$OUT/3-verify.out")" = 3 ] || fail "verify: expected 3 PASS lines"

  # Narrowing: the same role's bundle with read-only access replaces the
  # read-write statements (other Sids, the same digest); none is left behind.
  local narrow="$OUT/bundle-read-only"
  "$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --account-id "$ACCOUNT" \
    --bucket-account "$OWNER_ACCOUNT" --kms-key "$key" --access read-only --out "$narrow" >/dev/null
  expect 0 3b-apply-read-only in_profile owner "$narrow/scripts/bucket-owner.sh" apply
  policy="$(in_profile owner aws s3api get-bucket-policy --bucket my-bucket --query Policy --output text)"
  [ "$(statements_of "$policy" | tail -n +2)" = "$(jq -S -c '.Statement[]' "$narrow/iam/bucket-policy.json")" ] ||
    fail "the read-only bundle left other podiam statements of the role: $policy"
  ! grep -q 's3:PutObject' <<<"$policy" || fail "a write grant outlived the narrowing: $policy"
  echo "  narrowing to read-only replaced the role's read-write statements; the owner's stay"

  expect fail 4-teardown-unconfirmed in_profile owner "$b/scripts/bucket-owner.sh" teardown </dev/null
  expect 0 4-teardown in_profile owner "$b/scripts/bucket-owner.sh" teardown --yes
  same_doc "$(in_profile owner aws s3api get-bucket-policy --bucket my-bucket --query Policy --output text)" <(printf '%s' "$unrelated") ||
    fail "teardown did not leave exactly the owner's bucket policy"
  [ "$(statements_of "$(in_profile owner aws kms get-key-policy --key-id "$key" --policy-name default --query Policy --output text)")" = \
    "$(statements_of "$default_key")" ] || fail "teardown did not leave exactly the key's own policy"
  expect fail 5-verify-after-teardown in_profile owner "$b/scripts/bucket-owner.sh" verify
  [ "$(count '^FAIL: ' "$OUT/5-verify-after-teardown.out")" = 3 ] || fail "verify after teardown: expected 3 FAIL lines"
  echo "  teardown: only podiam's statements removed; verify then fails 3 checks"

  # Only podiam's statements: teardown deletes the bucket policy (S3 refuses
  # an empty one); a key policy that would be left empty is refused.
  in_profile owner aws s3api delete-bucket-policy --bucket my-bucket
  expect 0 6-apply-alone in_profile owner "$b/scripts/bucket-owner.sh" apply
  [ "$(jq '.Statement | length' <<<"$(in_profile owner aws s3api get-bucket-policy --bucket my-bucket --query Policy --output text)")" = 2 ] ||
    fail "apply on a bucket without policy did not write exactly podiam's 2 statements"
  in_profile owner aws kms put-key-policy --key-id "$key" --policy-name default --policy "file://$b/iam/kms-key-policy.json"
  expect fail 7-teardown-alone in_profile owner "$b/scripts/bucket-owner.sh" teardown --yes
  grep -q '^deleted: policy of bucket my-bucket' "$OUT/7-teardown-alone.out" || fail "teardown did not delete the bucket policy"
  ! in_profile owner aws s3api get-bucket-policy --bucket my-bucket >/dev/null 2>&1 || fail "the bucket still has a policy"
  grep -q 'would leave the key policy empty' "$OUT/7-teardown-alone.out" || fail "teardown did not refuse to empty the key policy"
  [ "$(in_profile owner aws kms get-key-policy --key-id "$key" --policy-name default --query Policy --output text | jq '.Statement | length')" = 1 ] ||
    fail "teardown changed the key policy it refused to empty"
  echo "  alone: the bucket policy was deleted; emptying the key policy was refused and it stayed"
  stop_emulator
}
