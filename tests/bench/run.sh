#!/usr/bin/env bash
# Benchmarks for the figures in the README, every one on an EMPTY output
# directory (the path a user takes first), never over an existing bundle:
#
#   1. in-process render (cargo bench);
#   2. one bundle, whole process, against /bin/true in the same run;
#   3. `render s3-access-policy` against policy_sentry `write-policy` on an
#      equivalent CRUD template, in the same run;
#   4. fresh batches of 1,000 to 10,000 targets: wall, CPU and peak RSS
#      (10,000 also without --quiet, as a user runs it first);
#   5. the 1,000-target batch into tmpfs, when /dev/shm is one: the share
#      of the time that is the file system's rather than podiam's own;
#   6. `check` over the 1,000- and 10,000-target directories (from the
#      params.yaml the batch wrote, and from the user's params file): wall
#      and peak RSS.
#
# Each generate writes into a directory that did not exist. The directories
# are only removed at the end: ext4 without a journal (as on this project's
# machine; the machine line says which) does not reuse an inode freed in the
# last 60 s, or 360 s while its inode table block is unwritten
# (fs/ext4/ialloc.c, recently_deleted), so after a large removal every new
# file costs a search (`recently_deleted` in a kernel profile). Wait a few
# minutes after removing large outputs before running this script.
#
# Installs hyperfine and GNU time (apt) and policy_sentry (a venv under
# target/) when missing. Prints every figure; asserts none.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! command -v hyperfine >/dev/null 2>&1 || [ ! -x /usr/bin/time ]; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine time >/dev/null
fi
venv="$root/target/bench-venv"
if [ ! -x "$venv/bin/policy_sentry" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'policy_sentry==0.15.2'
fi
cargo build --release --locked --quiet
podiam="$root/target/release/podiam"
params=(--cluster my-eks-cluster --region us-west-2 --bucket my-bucket)

# fstype PATH: the type of the file system that holds PATH.
fstype() { df -T "$1" | awk 'NR==2 {print $2}'; }

echo "== machine"
journal=""
dev="$(basename "$(df --output=source "$work" | tail -1)")"
if [ -r "/sys/fs/ext4/$dev/journal_task" ]; then
  case "$(cat "/sys/fs/ext4/$dev/journal_task")" in
    "<none>") journal=" without a journal" ;;
    *) journal=" with a journal" ;;
  esac
fi
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(fstype "$work") output file system$journal"
echo "podiam $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

echo "== in-process (cargo bench)"
cargo bench --locked --quiet --bench render 2>/dev/null | grep '^bench:'

echo "== one bundle, whole process, empty output directory, against /bin/true"
hyperfine -N --warmup 10 --runs 200 --style basic --export-markdown "$work/one.md" \
  --prepare "rm -rf $work/one" \
  -n /bin/true /bin/true \
  -n 'podiam --version (process start only)' "$podiam --version" \
  -n 'podiam generate (one bundle)' "$podiam generate ${params[*]} --quiet --out $work/one" >/dev/null
cat "$work/one.md"

echo "== one artifact: podiam render s3-access-policy against policy_sentry write-policy"
cat >"$work/crud.yml" <<'EOF'
mode: crud
name: bench
read:
- 'arn:aws:s3:::my-bucket/*'
write:
- 'arn:aws:s3:::my-bucket/*'
list:
- 'arn:aws:s3:::my-bucket'
EOF
hyperfine -N --warmup 3 --runs 20 --style basic --export-markdown "$work/render.md" \
  -n 'podiam render s3-access-policy' "$podiam render s3-access-policy ${params[*]}" \
  -n 'policy_sentry write-policy' "$venv/bin/policy_sentry write-policy --input-file $work/crud.yml" >/dev/null
cat "$work/render.md"

batch() {
  local n="$1" file="$work/batch-$1.yaml"
  {
    printf 'defaults:\n  cluster: my-eks-cluster\n  region: us-west-2\ntargets:\n'
    for i in $(seq -w 0 $((n - 1))); do
      printf '  - name: t%s\n    bucket: team-%s-data\n    namespace: team-%s\n' "$i" "$i" "$i"
    done
  } >"$file"
  printf '%s\n' "$file"
}

# measure LABEL COMMAND...: wall, user, system seconds and peak RSS (GNU time).
# Each run starts after a `sync` (not timed), so it does not share the cores
# with the write-back of the run before it.
measure() {
  local label="$1"
  shift
  sync
  /usr/bin/time -f "$label: wall %e s, user %U s, sys %S s, peak RSS %M KB" "$@" >/dev/null 2>"$work/time.txt" || {
    cat "$work/time.txt" >&2
    return 1
  }
  tail -1 "$work/time.txt"
}

echo "== fresh batches: generate into a directory that does not exist"
b1k="$(batch 1000)"
b2k="$(batch 2000)"
b5k="$(batch 5000)"
b10k="$(batch 10000)"
measure "one bundle" "$podiam" generate "${params[@]}" --quiet --out "$work/rss-one"
for run in 1 2 3; do
  measure "1,000 targets (run $run)" "$podiam" generate --params "$b1k" --quiet --out "$work/fresh-1k-$run"
done
measure "2,000 targets" "$podiam" generate --params "$b2k" --quiet --out "$work/fresh-2k"
measure "5,000 targets" "$podiam" generate --params "$b5k" --quiet --out "$work/fresh-5k"
measure "10,000 targets" "$podiam" generate --params "$b10k" --quiet --out "$work/fresh-10k"
# Without --quiet, as a user runs it first: one line per file written
# (170,000 here), printed once the run has committed.
measure "10,000 targets, without --quiet (its report to /dev/null)" \
  "$podiam" generate --params "$b10k" --out "$work/fresh-10k-report"
# mimalloc returns the memory freed in the last second to the system only
# then (its purge delay, 1,000 ms), so a run of more than a second peaks
# with up to a second's freed memory still held. The same batch with the
# delay at 0 shows how much of the peak that is: a breakdown, not the
# target (podiam cannot set it without unsafe code).
MIMALLOC_PURGE_DELAY=0 measure "10,000 targets, mimalloc purge delay 0 (MIMALLOC_PURGE_DELAY=0)" \
  "$podiam" generate --params "$b10k" --quiet --out "$work/fresh-10k-purge"

# The same batch into a RAM file system, where creating 17,000 files costs
# little: what is left is podiam's own work. A breakdown, not the target.
shm="/dev/shm"
if [ -d "$shm" ] && [ -w "$shm" ] && [ "$(fstype "$shm")" = tmpfs ]; then
  echo "== the same 1,000 targets into tmpfs ($shm): podiam's own share"
  ram="$(mktemp -d "$shm/podiam-bench.XXXXXX")"
  for run in 1 2 3; do
    measure "1,000 targets into tmpfs (run $run)" "$podiam" generate --params "$b1k" --quiet --out "$ram/fresh-1k-$run" || { rm -rf "$ram"; exit 1; }
  done
  rm -rf "$ram"
fi

echo "== check over the 1,000- and 10,000-target directories"
measure "check, 1,000 targets, its own params.yaml" "$podiam" check "$work/fresh-1k-1" --quiet
measure "check, 10,000 targets, its own params.yaml" "$podiam" check "$work/fresh-10k" --quiet
measure "check, 10,000 targets, --params" "$podiam" check "$work/fresh-10k" --params "$b10k" --quiet
