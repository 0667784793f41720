"""The hostile corpus through YAML 1.1: every YAML file of every bundle
podiam writes must mean the same to PyYAML (YAML 1.1, yaml.safe_load, as
kubectl's and many tools' parsers read it) and to ruamel.yaml in pure mode
with version (1, 2), and carry the hostile value intact.

  yaml_versions.py PODIAM CORPUS.json WORKDIR

For each corpus value (tests/data/hostile-corpus.json plus the two huge
values tests/integration/corpus.rs computes) in each free-text parameter,
with Pod Identity and with IRSA, runs `podiam generate`. A refusal (exit 2)
is counted; any other exit but 0 fails. For each accepted bundle:

  - every *.yaml file loads with both parsers, to identical data (types
    included: PyYAML reads an unquoted on/yes/no as a bool, 1e3 as a string,
    ruamel.yaml 1.2 reads them as strings and a float);
  - every mapping key is one the benign reference bundles use (a value that
    escaped its comment or its quotes would add one), mount paths aside;
  - the parameters recorded in manifest.json are the values given, and the
    YAML says them: the ServiceAccount's name and namespace, the Namespace,
    the RBAC subjects, the IRSA role-arn annotation, the SkyPilot config's
    namespace, allowed context and service account, the task's infra and
    mount sources.

Positive controls run first through the same functions: texts with an
unquoted `on`, `yes`, `1e3` must be reported as disagreements, a
serviceaccount.yaml with an unquoted `~` namespace or an unquoted `yes` name
as not intact, and a comment that lets a line escape as an unknown key.
"""

import concurrent.futures
import functools
import json
import math
import os
import pathlib
import shutil
import subprocess
import sys
import threading

import yaml
from ruamel.yaml import YAML

OIDC = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ACCOUNT = "123456789012"
DEFAULT_SA = "skypilot-service-account"
ROLE_ARN = "eks.amazonaws.com/role-arn"

# The two methods the corpus is tried with.
BASES = {
    "pod-identity": {"--cluster": "my-eks-cluster", "--region": "us-west-2", "--bucket": "my-bucket",
                     "--method": "pod-identity"},
    "irsa": {"--cluster": "my-eks-cluster", "--region": "us-west-2", "--bucket": "my-bucket", "--method": "irsa",
             "--account-id": ACCOUNT, "--oidc-issuer": OIDC},
}

# Every free-text parameter (each reaches the YAML files, at least in the
# header comment that repeats the command line): flag, manifest key, and how
# the value is passed. The enumerated ones (method, access, mount mode) are
# refused by the argument parser and tested in tests/integration/hostile.rs.
FIELDS = [
    ("--namespace", "namespace", "{}"),
    ("--service-account", "service_account", "{}"),
    ("--kube-context", "kube_context", "{}"),
    ("--cluster", "cluster", "{}"),
    ("--bucket", "bucket", "{}"),
    ("--region", "region", "{}"),
    ("--account-id", "account_id", "{}"),
    ("--oidc-issuer", "oidc_issuer", "{}"),
    ("--policy-name", "policy_name", "{}"),
    ("--role-name", "role_name", "{}"),
    ("--prefix", "prefixes", "{}"),
    ("--kms-key", "kms_keys", "{}"),
    ("--permissions-boundary", "permissions_boundary", "{}"),
    ("--iam-path", "iam_path", "{}"),
    ("--max-session-duration", "max_session_duration", "{}"),
    ("--tag", "tags", "{}"),
    ("--tag", "tags", "team={}"),
    ("--tag", "tags", "{}=ml"),
    ("--bind", "bindings", "{}:reader"),
    ("--bind", "bindings", "team-b:{}"),
]
# Parameters whose manifest entry must be the given value exactly.
EXACT = {"namespace", "service_account", "kube_context", "cluster", "bucket", "region", "account_id",
         "policy_name", "role_name", "permissions_boundary", "iam_path"}

# One ruamel.yaml loader per thread: a loader is not thread-safe.
LOCAL = threading.local()


def corpus(path):
    values = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    assert isinstance(values, list) and all(isinstance(v, str) for v in values), path
    # Computed in tests/integration/corpus.rs, not stored in the JSON file.
    return values + ["a" * 10_000, "é" * 10_000]


# ---- the comparator ----

def load_11(text):
    return list(yaml.safe_load_all(text))


def load_12(text):
    if not hasattr(LOCAL, "yaml12"):
        LOCAL.yaml12 = YAML(typ="safe", pure=True)
        LOCAL.yaml12.version = (1, 2)
    return list(LOCAL.yaml12.load_all(text))


def differ(a, b, path="$"):
    """The first difference between two loaded documents, types included."""
    if type(a) is not type(b):
        return f"{path}: YAML 1.1 reads {type(a).__name__} {a!r}, YAML 1.2 reads {type(b).__name__} {b!r}"
    if isinstance(a, dict):
        ka, kb = list(a), list(b)
        if len(ka) != len(kb):
            return f"{path}: YAML 1.1 keys {ka!r}, YAML 1.2 keys {kb!r}"
        for x, y in zip(ka, kb):
            d = differ(x, y, f"{path} key")
            if d:
                return d
            d = differ(a[x], b[y], f"{path}.{x}")
            if d:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items in YAML 1.1, {len(b)} in YAML 1.2"
        for i, (x, y) in enumerate(zip(a, b)):
            d = differ(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return None
    return None if a == b else f"{path}: YAML 1.1 reads {a!r}, YAML 1.2 reads {b!r}"


def compare(text):
    """(documents as YAML 1.1 reads them, or None; the disagreements)."""
    problems = []
    try:
        docs11 = load_11(text)
    except yaml.YAMLError as e:
        return None, [f"YAML 1.1 (PyYAML) cannot parse it: {str(e).splitlines()[0]}"]
    try:
        docs12 = load_12(text)
    except Exception as e:  # ruamel.yaml's errors share no base class with PyYAML's
        return None, [f"YAML 1.2 (ruamel.yaml) cannot parse it: {str(e).splitlines()[0]}"]
    if len(docs11) != len(docs12):
        problems.append(f"{len(docs11)} documents in YAML 1.1, {len(docs12)} in YAML 1.2")
    for i, (a, b) in enumerate(zip(docs11, docs12)):
        d = differ(a, b, f"document {i}")
        if d:
            problems.append(d)
    return docs11, problems


# ---- what a bundle must say ----

def keys_of(node, where="", into=None):
    """Every mapping key, as (parent key path, key); mount paths collapsed."""
    into = set() if into is None else into
    if isinstance(node, dict):
        for k, v in node.items():
            shown = "<mount>" if where.endswith("/file_mounts") else k
            into.add((where, shown if isinstance(shown, str) else repr(shown)))
            keys_of(v, f"{where}/{shown}", into)
    elif isinstance(node, list):
        for item in node:
            keys_of(item, where + "[]", into)
    return into


def yaml_files(bundle):
    return sorted(p for p in bundle.rglob("*.yaml"))


def role_arn(p):
    return f"arn:{p['partition']}:iam::{p['account_id']}:role{p['iam_path']}{p['role_name']}"


def intact(docs, p):
    """Problems with the parameters as the YAML files say them."""
    problems = []
    ns, sa, ctx = p["namespace"], p["service_account"], p["kube_context"]

    def expect(what, got, want):
        if got != want or type(got) is not type(want):
            problems.append(f"{what} is {got!r}, not {want!r}")

    accounts = docs.get("kubernetes/serviceaccount.yaml", [])
    sas = [d for d in accounts if isinstance(d, dict) and d.get("kind") == "ServiceAccount"]
    if len(sas) != 1:
        problems.append(f"kubernetes/serviceaccount.yaml holds {len(sas)} ServiceAccount documents")
    for d in sas:
        meta = d.get("metadata") or {}
        expect("kubernetes/serviceaccount.yaml metadata.name", meta.get("name"), sa)
        expect("kubernetes/serviceaccount.yaml metadata.namespace", meta.get("namespace"), ns)
        annotations = meta.get("annotations") or {}
        if p["method"] == "irsa":
            expect(f"kubernetes/serviceaccount.yaml annotation {ROLE_ARN}", annotations.get(ROLE_ARN), role_arn(p))
        elif ROLE_ARN in annotations:
            problems.append("a Pod Identity service account carries the IRSA annotation")
    spaces = [d["metadata"]["name"] for d in accounts if isinstance(d, dict) and d.get("kind") == "Namespace"]
    expect("kubernetes/serviceaccount.yaml Namespace documents", spaces, [] if ns == "default" else [ns])

    for d in docs.get("kubernetes/rbac.yaml", []):
        if not isinstance(d, dict):
            continue
        meta = d.get("metadata") or {}
        if d.get("kind") in ("Role", "RoleBinding") and meta.get("namespace") != "skypilot-system":
            expect(f"kubernetes/rbac.yaml {d['kind']} metadata.namespace", meta.get("namespace"), ns)
        for s in d.get("subjects") or []:
            expect(f"kubernetes/rbac.yaml {d.get('kind')} subject", (s.get("name"), s.get("namespace")), (sa, ns))

    configs = docs.get("skypilot/config.yaml", [])
    config = configs[0] if configs and isinstance(configs[0], dict) else {}
    kube = config.get("kubernetes") or {}
    if ns != "default" or "namespace" in kube:
        expect("skypilot/config.yaml kubernetes.namespace", kube.get("namespace"), ns)
    if ctx is not None or "allowed_contexts" in kube:
        expect("skypilot/config.yaml kubernetes.allowed_contexts", kube.get("allowed_contexts"), [ctx])
    if sa != DEFAULT_SA or "remote_identity" in kube:
        expect("skypilot/config.yaml kubernetes.remote_identity", kube.get("remote_identity"), sa)

    # params.yaml must say, read by YAML 1.1 and 1.2 alike, what the
    # manifest says podiam used: it is what `check` and a regeneration read.
    own = docs.get("params.yaml", [])
    own = own[0] if own and isinstance(own[0], dict) else {}
    for key in ("cluster", "region", "namespace", "service_account", "method"):
        expect(f"params.yaml {key}", own.get(key), p[key])
    expect("params.yaml bucket", own.get("bucket"), p["buckets"])
    for key in ("kube_context", "account_id", "oidc_issuer", "permissions_boundary"):
        if p.get(key) is not None or key in own:
            expect(f"params.yaml {key}", own.get(key), p.get(key))
    expect("params.yaml iam_path", own.get("iam_path"), p["iam_path"])
    expect("params.yaml max_session_duration", own.get("max_session_duration"), p["max_session_duration"])
    expect("params.yaml tag", own.get("tag", []), [f"{t['key']}={t['value']}" for t in p["tags"]])
    for key in ("policy_name", "role_name"):
        if key in own:
            expect(f"params.yaml {key}", own[key], p[key])
    # The bindings after the first, every key written out (the issuer only
    # where the method uses it); the manifest lists the first one too.
    listed = [{k: v for k, v in b.items() if v is not None} for b in p.get("bindings", [])[1:]]
    expect("params.yaml bindings", own.get("bindings", []), listed)

    tasks = docs.get("skypilot/task.yaml", [])
    task = tasks[0] if tasks and isinstance(tasks[0], dict) else {}
    expect("skypilot/task.yaml resources.infra", (task.get("resources") or {}).get("infra"),
           "kubernetes" if ctx is None else f"kubernetes/{ctx}")
    mounts = task.get("file_mounts") or {}
    sources = sorted(m.get("source") for m in mounts.values() if isinstance(m, dict))
    prefix = f"{p['prefixes'][0]}/" if p["prefixes"] else ""
    want = sorted(f"s3://{b}/{prefix}" for b in p["buckets"])
    expect("skypilot/task.yaml file_mounts sources", sources, want)
    for m in mounts.values():
        expect("skypilot/task.yaml file_mounts mode", (m or {}).get("mode"), p["mount_mode"])
    return problems


def given(p, key, value):
    """Problems with the manifest's record of the value given."""
    got = p.get(key)
    if key == "tags":
        k, _, v = value.partition("=")
        return [] if got == [{"key": k, "value": v}] else [f"manifest tags {got!r}"]
    if key in EXACT and got != value:
        return [f"manifest parameter {key} is {got!r}, not the value given"]
    return []


def check_bundle(bundle, known_keys, key=None, value=None):
    """Every problem of one bundle: disagreements, unknown keys, values not intact."""
    problems = []
    p = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))["parameters"]
    docs = {}
    files = yaml_files(bundle)
    if len(files) < 4:
        problems.append(f"only {len(files)} YAML files")
    for path in files:
        rel = path.relative_to(bundle).as_posix()
        loaded, trouble = compare(path.read_text(encoding="utf-8"))
        problems += [f"{rel}: {t}" for t in trouble]
        if loaded is None:
            continue
        docs[rel] = loaded
        for doc in loaded:
            unknown = sorted(k for k in keys_of(doc) if k not in known_keys.get(rel, set()))
            if unknown:
                problems.append(f"{rel}: keys no reference bundle has: {unknown[:3]}")
    problems += intact(docs, p)
    if key is not None:
        problems += given(p, key, value)
    return problems


# ---- running podiam ----

def arguments(base, flag, template, value):
    args = dict(BASES[base])
    args[flag] = template.format(value)
    return [f"{k}={v}" for k, v in args.items()]


def generate(podiam, out, args):
    return subprocess.run([podiam, "generate", "--quiet", *args, "--out", str(out)],
                          capture_output=True, text=True, errors="replace")


REFERENCES = [
    [],
    ["--namespace=ml-team", "--service-account=s3-reader", "--kube-context=arn:aws:eks:us-west-2:123456789012:cluster/x"],
    ["--namespace=ml-team", "--mount-mode=COPY", "--prefix=team-a/data", "--bucket=other-bucket"],
    ["--service-account=s3-reader", "--mount-mode=MOUNT", "--tag=team=ml", "--kube-context=ctx"],
    ["--policy-name=TeamPolicy", "--role-name=TeamRole", "--tf-name=team",
     "--permissions-boundary=arn:aws:iam::123456789012:policy/Boundary"],
    ["--bind=team-b:reader", "--bind=team-c:writer"],
]


def references(podiam, work):
    """The mapping keys of benign bundles, per file: what a hostile value must not add."""
    known = {}
    for base in BASES:
        for i, extra in enumerate(REFERENCES):
            out = work / f"reference-{base}-{i}"
            shutil.rmtree(out, ignore_errors=True)
            args = [f"{k}={v}" for k, v in BASES[base].items()] + extra
            r = generate(podiam, out, args)
            assert r.returncode == 0, f"reference bundle {base} {extra}: {r.stderr}"
            for path in yaml_files(out):
                rel = path.relative_to(out).as_posix()
                for doc in load_11(path.read_text(encoding="utf-8")):
                    keys_of(doc, "", known.setdefault(rel, set()))
    return known


def try_case(podiam, work, known, case):
    index, base, flag, key, template, value = case
    if "\0" in value:
        return "unpassable", None
    out = work / f"case-{index}"
    shutil.rmtree(out, ignore_errors=True)
    r = generate(podiam, out, arguments(base, flag, template, value))
    if r.returncode == 2:
        if out.exists():
            return "failed", f"refused but wrote {out}"
        return "refused", None
    if r.returncode != 0:
        return "failed", f"exit {r.returncode}: {r.stderr[-500:]}"
    problems = check_bundle(out, known, key, template.format(value))
    if problems:
        return "failed", "; ".join(problems[:5])
    shutil.rmtree(out)
    return "accepted", None


# ---- positive controls ----

def controls(podiam, work, known):
    checked = 0
    for text, why in [
        ("metadata:\n  namespace: on\n", "unquoted on"),
        ("metadata:\n  name: yes\n", "unquoted yes"),
        ("kubernetes:\n  allowed_contexts:\n    - 1e3\n", "unquoted 1e3"),
        ("on: x\n", "unquoted on as a key"),
    ]:
        _, problems = compare(text)
        assert problems, f"control: the comparator reported nothing for {why}: {text!r}"
        checked += 1
    # A real bundle, then doctored: each must be reported by check_bundle.
    out = work / "control"
    shutil.rmtree(out, ignore_errors=True)
    args = [f"{k}={v}" for k, v in BASES["irsa"].items()] + ["--namespace=ml-team", "--service-account=s3-reader"]
    r = generate(podiam, out, args)
    assert r.returncode == 0, r.stderr
    assert check_bundle(out, known) == [], check_bundle(out, known)
    sa_file = out / "kubernetes/serviceaccount.yaml"
    manifest = out / "manifest.json"
    original, original_manifest = sa_file.read_text(), manifest.read_text()
    doctored = [
        ("namespace", "~", "  namespace: ml-team\n", "  namespace: ~\n", "an unquoted ~ namespace"),
        ("namespace", "on", "  namespace: ml-team\n", "  namespace: on\n", "an unquoted on namespace"),
        ("service_account", "yes", "  name: s3-reader\n", "  name: yes\n", "an unquoted yes name"),
        ("namespace", "ml-team", "# Generated by podiam", "#\nextra: x\n# Generated by podiam", "a line escaped from a comment"),
    ]
    for param, value, old, new, why in doctored:
        assert old in original, f"control: {old!r} not in {sa_file}"
        sa_file.write_text(original.replace(old, new))
        m = json.loads(original_manifest)
        m["parameters"][param] = value
        manifest.write_text(json.dumps(m))
        problems = check_bundle(out, known, param, value)
        assert problems, f"control: check_bundle reported nothing for {why}"
        print(f"  control ({why}): {problems[0]}")
        checked += 1
    shutil.rmtree(out)
    return checked


def main():
    podiam, corpus_path, work = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
    work.mkdir(parents=True, exist_ok=True)
    values = corpus(corpus_path)
    assert len(values) >= 60, len(values)
    known = references(podiam, work)
    print(f"positive controls: {controls(podiam, work, known)} broken texts and bundles reported")
    cases = []
    for base in BASES:
        for flag, key, template in FIELDS:
            for value in values:
                cases.append((len(cases), base, flag, key, template, value))
    counts = {"accepted": 0, "refused": 0, "unpassable": 0, "failed": 0}
    per_field = {}
    failures = []
    # podiam waits on the disk, the parsers on the CPU: two processes per core.
    run = functools.partial(try_case, podiam, work, known)
    with concurrent.futures.ProcessPoolExecutor(max_workers=2 * (os.cpu_count() or 1)) as pool:
        for case, (outcome, detail) in zip(cases, pool.map(run, cases, chunksize=16)):
            counts[outcome] += 1
            field = f"{case[2]} {case[4]}"
            per_field.setdefault(field, {"accepted": 0, "refused": 0})
            if outcome in ("accepted", "refused"):
                per_field[field][outcome] += 1
            if detail:
                failures.append(f"{case[1]} {case[2]}={case[4].format(case[5])!r:.120}: {detail}")
    for field, c in per_field.items():
        print(f"  {field}: {c['accepted']} accepted, {c['refused']} refused")
    print(f"hostile corpus through YAML 1.1 and 1.2: {len(values)} values x {len(FIELDS)} parameters x "
          f"{len(BASES)} methods = {len(cases)} runs: {counts['accepted']} bundles agree and are intact, "
          f"{counts['refused']} refused (exit 2), {counts['unpassable']} not passable as arguments (NUL), "
          f"{counts['failed']} failed")
    for f in failures[:30]:
        print("FAIL:", f, file=sys.stderr)
    assert not failures, f"{len(failures)} failures"
    assert counts["accepted"] > 0 and counts["refused"] > 0, counts


if __name__ == "__main__":
    main()
