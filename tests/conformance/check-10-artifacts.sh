#!/usr/bin/env bash
# Generates the bundles of several fixtures and re-validates every YAML and
# JSON artifact with Python parsers (independent of serde).
set -euo pipefail
source "$CONFORMANCE_DIR/lib.sh"
use_venv base

out="$(fresh_dir artifacts)"
oidc="EXAMPLED539D4633E53DE1B71EXAMPLE"
"$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --out "$out/pod-identity" >/dev/null
"$PODIAM" generate --cluster my-eks-cluster --region us-west-2 --bucket my-bucket --method irsa \
  --account-id 123456789012 --oidc-issuer "https://oidc.eks.us-west-2.amazonaws.com/id/$oidc" \
  --namespace ml-team --service-account s3-reader --out "$out/irsa" >/dev/null
"$PODIAM" generate --cluster my-eks-cluster --region cn-north-1 --bucket my-bucket --method irsa \
  --account-id 123456789012 --oidc-issuer "oidc.eks.cn-north-1.amazonaws.com.cn/id/$oidc" --out "$out/china" >/dev/null 2>&1

"$VENV/bin/python" - "$out" <<'PY'
import json, pathlib, sys, yaml
root = pathlib.Path(sys.argv[1])
count = 0
for path in sorted(root.rglob("*")):
    if path.suffix == ".json":
        json.loads(path.read_text())
    elif path.suffix == ".yaml":
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        assert docs, f"{path}: no YAML documents"
        if path.name == "config.yaml":
            assert docs[0]["aws"]["remote_identity"] == "NO_UPLOAD", path
    else:
        continue
    count += 1
print(f"parsed {count} artifacts with Python's json and PyYAML")
import hashlib
for manifest in sorted(root.rglob("manifest.json")):
    data = json.loads(manifest.read_text())
    for entry in data["artifacts"]:
        digest = hashlib.sha256((manifest.parent / entry["path"]).read_bytes()).hexdigest()
        assert digest == entry["sha256"], f"{manifest}: {entry['path']} hash differs"
    print(f"{manifest}: {len(data['artifacts'])} sha256 values match the files")
assert count >= 15, count
PY
