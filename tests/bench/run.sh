#!/usr/bin/env bash
# Benchmarks: in-process render (cargo bench), the podiam process end to end
# (hyperfine, against /bin/true in the same run), a batch of 1,000 targets,
# and peak RSS (GNU time). Prints the numbers recorded in the README.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! command -v hyperfine >/dev/null 2>&1 || [ ! -x /usr/bin/time ]; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine time >/dev/null
fi
cargo build --release --locked --quiet
podiam="$root/target/release/podiam"

echo "== in-process (cargo bench)"
cargo bench --locked --quiet --bench render 2>/dev/null | grep '^bench:'

echo "== one target, whole process, against /bin/true"
one=(generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --quiet --force --out "$work/one")
hyperfine --warmup 20 --runs 200 --style basic --export-markdown "$work/one.md" \
  -n /bin/true /bin/true -n 'podiam generate' "$podiam ${one[*]}" >/dev/null
cat "$work/one.md"

echo "== batch of 1000 targets, whole process"
{
  printf 'defaults:\n  cluster: my-eks-cluster\n  region: us-west-2\ntargets:\n'
  for i in $(seq -w 0 999); do printf '  - name: t%s\n    bucket: team-%s-data\n    namespace: team-%s\n' "$i" "$i" "$i"; done
} >"$work/batch.yaml"
hyperfine --warmup 2 --runs 10 --style basic --export-markdown "$work/batch.md" \
  -n 'podiam generate (1000 targets)' "$podiam generate --params $work/batch.yaml --quiet --force --out $work/batch" >/dev/null
cat "$work/batch.md"

echo "== peak RSS (GNU time, maximum resident set size)"
for run in "one target:$podiam ${one[*]}" "1000 targets:$podiam generate --params $work/batch.yaml --quiet --force --out $work/batch"; do
  label="${run%%:*}"; cmd="${run#*:}"
  kb=$(/usr/bin/time -f '%M' $cmd 2>&1 >/dev/null | tail -1)
  echo "$label: ${kb} KB"
done
