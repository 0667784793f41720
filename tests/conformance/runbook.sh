# shellcheck shell=bash
# Helpers for the runbook parts (check-30, check-31): the AWS emulator, the
# recording kubectl stub, and the environment the generated scripts run in.
# Sourced after lib.sh.

EMULATOR="$CONFORMANCE_DIR/emulator"
EMU_PID=""
REAL_KUBECTL="${REAL_KUBECTL:-/usr/bin/kubectl}"
[ -x "$REAL_KUBECTL" ] || fail "the real kubectl is not at $REAL_KUBECTL (facts.md: it is on these machines)"

# start_emulator DIR: moto plus the EKS extension on a free port of 127.0.0.1;
# its log of API calls is DIR/aws.log. Points the AWS CLI and boto3 at it.
start_emulator() {
  local dir="$1" i
  rm -f "$dir/port"
  : >"$dir/aws.log"
  "$VENV/bin/python" "$EMULATOR/aws_emulator.py" --port-file "$dir/port" --log "$dir/aws.log" \
    >"$dir/emulator.out" 2>&1 &
  EMU_PID=$!
  for i in $(seq 1 150); do
    [ -s "$dir/port" ] && break
    kill -0 "$EMU_PID" 2>/dev/null || { cat "$dir/emulator.out" >&2; fail "the emulator died"; }
    sleep 0.2
  done
  [ -s "$dir/port" ] || fail "the emulator did not start within 30s (try $i)"
  export AWS_ENDPOINT_URL="http://127.0.0.1:$(cat "$dir/port")"
}

# stop_emulator: stops the emulator this part started, by its PID.
stop_emulator() {
  if [ -n "$EMU_PID" ]; then
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
    EMU_PID=""
  fi
}
trap stop_emulator EXIT

# script_env DIR: the environment the scripts run in: fake credentials, a
# scratch HOME and AWS config, the kubectl stub first on PATH, then the
# venv's aws, then the system's basic tools.
script_env() {
  local dir="$1"
  mkdir -p "$dir/home" "$dir/bin"
  ln -sf "$EMULATOR/kubectl" "$dir/bin/kubectl"
  : >"$dir/aws-config"
  : >"$dir/aws-credentials"
  export HOME="$dir/home"
  export PATH="$dir/bin:$VENV/bin:/usr/local/bin:/usr/bin:/bin"
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
  export AWS_CONFIG_FILE="$dir/aws-config" AWS_SHARED_CREDENTIALS_FILE="$dir/aws-credentials"
  export AWS_DEFAULT_REGION=us-west-2
  unset AWS_PROFILE AWS_SESSION_TOKEN AWS_REGION
  export KUBECTL_STUB_STATE="$dir/kube-state.json" KUBECTL_STUB_LOG="$dir/kubectl.log"
  export KUBECTL_STUB_PYTHON="$VENV/bin/python" REAL_KUBECTL
  export PODIAM_ADDON_WAIT_SECONDS=0
}

# kube_state CONTEXT: a fresh kubectl stub state with the default namespaces;
# every call must name CONTEXT (when not empty).
kube_state() {
  printf '{"contexts": ["other", "%s"], "require_context": "%s", "namespaces": {"default": {"labels": {}, "annotations": {}}, "kube-system": {"labels": {}, "annotations": {}}}, "serviceaccounts": {}}\n' \
    "${1:-unused}" "$1" >"$KUBECTL_STUB_STATE"
  : >"$KUBECTL_STUB_LOG"
}

# expect RC NAME CMD...: runs CMD with output in $OUT/NAME.out; RC is 0
# (must succeed) or fail (must fail).
expect() {
  local want="$1" name="$2" rc=0
  shift 2
  "$@" >"$OUT/$name.out" 2>&1 || rc=$?
  if [ "$want" = 0 ] && [ "$rc" != 0 ]; then
    cat "$OUT/$name.out" >&2
    fail "$name: exit status $rc, expected success"
  fi
  if [ "$want" = fail ] && [ "$rc" = 0 ]; then
    cat "$OUT/$name.out" >&2
    fail "$name: succeeded, expected a failure"
  fi
  echo "  $name: exit status $rc (as expected)"
}

# aws_writes FROM: the write calls in the emulator's log after line FROM.
aws_writes() {
  tail -n "+$(($1 + 1))" "$OUT/aws.log" |
    grep -E '^(iam|sts) (Create|Update|Attach|Detach|Delete|Put|Tag|Untag|Add|Remove|Set)|^eks (POST|DELETE|PUT|PATCH)' || true
}

# kube_writes FROM: the kubectl calls that change state after line FROM.
kube_writes() {
  tail -n "+$(($1 + 1))" "$KUBECTL_STUB_LOG" | grep -E '"(create|annotate|delete|label)"' | grep -v -e '--dry-run=client' -e '--local' || true
}

state() { "$VENV/bin/python" "$EMULATOR/state.py" "$@"; }

# counter_controls: aws_writes and kube_writes must bite. A known write
# counts as exactly one and a read as none, for IAM, EKS and kubectl: a
# change in the emulator's or the stub's log format would otherwise make
# "wrote nothing" pass vacuously. Needs a running emulator and stub state;
# it adds a policy, a cluster and an annotation there.
counter_controls() {
  local mark kmark n
  mark="$(wc -l <"$OUT/aws.log")"
  state create-boundary CounterControl >/dev/null
  n="$(aws_writes "$mark" | wc -l)"
  [ "$n" = 1 ] || fail "one IAM write (CreatePolicy) counted as $n writes; the log says: $(tail -n "+$((mark + 1))" "$OUT/aws.log")"
  mark="$(wc -l <"$OUT/aws.log")"
  state create-cluster counter-control >/dev/null
  n="$(aws_writes "$mark" | wc -l)"
  [ "$n" = 1 ] || fail "one EKS write (CreateCluster) counted as $n writes; the log says: $(tail -n "+$((mark + 1))" "$OUT/aws.log")"
  mark="$(wc -l <"$OUT/aws.log")"
  aws iam get-policy --policy-arn arn:aws:iam::123456789012:policy/CounterControl >/dev/null
  aws eks describe-cluster --name counter-control >/dev/null
  [ "$(wc -l <"$OUT/aws.log")" -ge $((mark + 2)) ] || fail "the emulator did not log two reads"
  [ -z "$(aws_writes "$mark")" ] || fail "reads counted as writes: $(aws_writes "$mark")"
  kmark="$(wc -l <"$KUBECTL_STUB_LOG")"
  kubectl annotate namespace kube-system podiam.example/counter-control=1 >/dev/null
  n="$(kube_writes "$kmark" | wc -l)"
  [ "$n" = 1 ] || fail "one kubectl write counted as $n writes; the log says: $(tail -n "+$((kmark + 1))" "$KUBECTL_STUB_LOG")"
  kmark="$(wc -l <"$KUBECTL_STUB_LOG")"
  kubectl get namespace kube-system -o name >/dev/null
  [ "$(wc -l <"$KUBECTL_STUB_LOG")" -gt "$kmark" ] || fail "the kubectl stub did not log a read"
  [ -z "$(kube_writes "$kmark")" ] || fail "a kubectl read counted as a write: $(kube_writes "$kmark")"
  echo "  write counters: one IAM, one EKS and one kubectl write count 1 each; reads count 0"
}

# count PATTERN FILE: lines of FILE matching PATTERN.
count() { grep -c -- "$1" "$2" || true; }
