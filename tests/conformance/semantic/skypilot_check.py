"""check-50: validates every generated SkyPilot config and task with SkyPilot's
own code (0.14.1), the way the client and the API server read them, and
checks what they mean against the parameters passed to podiam.

Usage: skypilot_check.py PODIAM WORKDIR   (HOME must point to a scratch folder)

Per bundle:
- config (skypilot/config.yaml): SkyPilot's own parser and validator
  (skypilot_config.parse_and_validate_config_file, and
  common_utils.validate_schema against schemas.get_config_schema()), in the
  server's strict mode, where unknown keys are errors; then SkyPilot's own
  look-ups: aws remote_identity is NO_UPLOAD, the kubernetes service account
  is the one passed (SERVICE_ACCOUNT/default otherwise), the namespace is
  the one passed, allowed_contexts holds the --kube-context;
- task (skypilot/task.yaml): sky.Task.from_yaml (schema, and Storage.__init__
  through Storage.from_yaml_config); infra is Kubernetes on the context;
  for each storage mount the API server's offline validation
  (Storage._validate_source, Storage._validate_storage_spec), and the
  Storage rebuilt from its own YAML entry; the sources are the buckets (and
  prefixes) passed; the mode is --mount-mode, else COPY with a prefix, else
  MOUNT_CACHED; read-only access puts read_only on the MOUNT/MOUNT_CACHED
  mount config, read-write does not;
- --prefix with an explicit MOUNT or MOUNT_CACHED is refused: exit 2, the
  message names both flags, nothing written.
Positive controls first: hand-written reference files pass, and each broken
copy fails the check it breaks (SkyPilot's validators raise their errors).
"""

import copy
import os
import pathlib
import sys
import traceback

# Strict validation as on the API server: without IS_SKYPILOT_SERVER (and the
# plugins-loaded flag) SkyPilot's schemas accept unknown keys.
os.environ["IS_SKYPILOT_SERVER"] = "1"
os.environ.setdefault("SKYPILOT_DISABLE_USAGE_COLLECTION", "1")

import yaml  # noqa: E402
from sky.server import plugins  # noqa: E402

plugins._plugins_loaded = True  # pylint: disable=protected-access

import sky  # noqa: E402
from sky import exceptions, skypilot_config  # noqa: E402
from sky.data import storage as storage_lib  # noqa: E402
from sky.utils import common_utils, schemas  # noqa: E402

from bundles import DEFAULT_NAMESPACE, DEFAULT_SERVICE_ACCOUNT, Bundle, generate  # noqa: E402

CONFIG_PATH = "skypilot/config.yaml"
TASK_PATH = "skypilot/task.yaml"
MOUNT_MODES = ("MOUNT", "MOUNT_CACHED")


class Failure(Exception):
    """A check that did not hold."""


def _error(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"


# ---------------------------------------------------------------------------
# the checks: each returns None or raises Failure / SkyPilot's own error
# ---------------------------------------------------------------------------

def config_checks(path: pathlib.Path, b: Bundle):
    """-> [(check name, callable)] for skypilot/config.yaml."""
    state = {}

    def parse():
        raw = yaml.safe_load(path.read_text())
        if not isinstance(raw, dict):
            raise Failure(f"not a mapping: {raw!r}")
        # The check SkyPilot runs on ~/.sky/config.yaml, and its loader.
        common_utils.validate_schema(raw, schemas.get_config_schema(), "Invalid config YAML: ")
        state["raw"] = raw
        state["config"] = skypilot_config.parse_and_validate_config_file(str(path))

    def lookup(fn):
        with skypilot_config.replace_skypilot_config_in_process(state["config"]):
            return fn()

    def aws_no_upload():
        raw = state["raw"].get("aws", {}).get("remote_identity")
        got = lookup(lambda: skypilot_config.get_effective_workspace_region_config(
            cloud="aws", keys=("remote_identity",), region=b.region,
            default_value=schemas.get_default_remote_identity("aws")))
        # Only the exact string stops the upload (facts.md).
        if raw != "NO_UPLOAD" or got != "NO_UPLOAD":
            raise Failure(f"aws.remote_identity is {raw!r} (SkyPilot resolves {got!r}), want 'NO_UPLOAD'")

    def service_account():
        got = lookup(lambda: skypilot_config.get_effective_workspace_region_config(
            cloud="kubernetes", keys=("remote_identity",), region=b.kube_context,
            default_value=schemas.get_default_remote_identity("kubernetes")))
        if isinstance(got, dict):
            raise Failure(f"kubernetes.remote_identity is a mapping {got!r}")
        # sky/clouds/kubernetes.py: these three mean SkyPilot's default account.
        if got in ("LOCAL_CREDENTIALS", "SERVICE_ACCOUNT", "NO_UPLOAD"):
            got = DEFAULT_SERVICE_ACCOUNT
        if got != b.sa:
            raise Failure(f"pods run as service account {got!r}, want {b.sa!r}")

    def namespace():
        got = lookup(lambda: skypilot_config.get_effective_namespace("kubernetes", region=b.kube_context))
        want = b.ns
        # None: SkyPilot falls back to the kubeconfig context's namespace.
        if got != want and not (got is None and want == DEFAULT_NAMESPACE):
            raise Failure(f"kubernetes namespace resolves to {got!r}, want {want!r}")

    def allowed_contexts():
        got = lookup(lambda: skypilot_config.get_effective_region_config(
            cloud="kubernetes", region=None, keys=("allowed_contexts",), default_value=None))
        if b.kube_context is not None and not (got == "all" or (isinstance(got, list) and b.kube_context in got)):
            raise Failure(f"kubernetes.allowed_contexts is {got!r}, does not allow {b.kube_context!r}")

    return [("config: SkyPilot's schema and loader", parse),
            ("config: aws.remote_identity NO_UPLOAD", aws_no_upload),
            ("config: kubernetes service account", service_account),
            ("config: kubernetes namespace", namespace),
            ("config: allowed_contexts holds --kube-context", allowed_contexts)]


def expected_sources(b: Bundle) -> set:
    if b.prefixes:
        return {f"s3://{bucket}/{p.strip('/')}" for bucket in b.buckets for p in b.prefixes}
    return {f"s3://{bucket}" for bucket in b.buckets}


def task_checks(path: pathlib.Path, b: Bundle):
    """-> [(check name, callable)] for skypilot/task.yaml."""
    state = {}

    def parse():
        state["raw"] = yaml.safe_load(path.read_text())
        state["task"] = sky.Task.from_yaml(str(path))

    def infra():
        for r in state["task"].resources:
            if str(r.cloud) != "Kubernetes" or r.region != b.kube_context:
                raise Failure(f"runs on {r.cloud}/{r.region}, want Kubernetes/{b.kube_context}")

    def storage_spec():
        mounts = state["task"].storage_mounts
        if not mounts:
            raise Failure("no storage mounts")
        for mount_path, storage in mounts.items():
            # What Storage.construct() validates on the API server, offline:
            storage_lib.Storage._validate_source(storage.source, storage.mode,  # pylint: disable=protected-access
                                                 storage.sync_on_reconstruction)
            copy.deepcopy(storage)._validate_storage_spec(storage.name)  # pylint: disable=protected-access
            # and Storage.__init__'s checks, from the file mount's own YAML.
            storage_lib.Storage.from_yaml_config(copy.deepcopy(state["raw"]["file_mounts"][mount_path]))

    def sources():
        got = {str(s.source).rstrip("/") for s in state["task"].storage_mounts.values()}
        want = expected_sources(b)
        if got != want:
            raise Failure(f"mounts {sorted(got)}, want {sorted(want)}")

    def mode():
        got = {s.mode.value for s in state["task"].storage_mounts.values()}
        if got != {b.task_mode}:
            raise Failure(f"mode {sorted(got)}, want {b.task_mode}")

    def read_only():
        if b.effective_access is None:
            return  # not settled by the parameters (see Bundle.effective_access)
        want = b.effective_access == "read-only"
        for mount_path, s in state["task"].storage_mounts.items():
            if s.mode == storage_lib.StorageMode.MOUNT_CACHED:
                cfg = s.resolve_mount_cached_config()
                got = bool(cfg is not None and cfg.read_only)
                where = "config.mount_cached.read_only"
            elif s.mode == storage_lib.StorageMode.MOUNT:
                got = bool(s.mount_config is not None and s.mount_config.read_only)
                where = "config.mount.read_only"
            else:
                continue  # COPY: a copy, nothing to mount read-only
            if got != want:
                raise Failure(f"{mount_path}: {where} is {got}, want {want} ({b.effective_access})")

    return [("task: sky.Task.from_yaml", parse),
            ("task: infra kubernetes[/context]", infra),
            ("task: storage spec (API server validation)", storage_spec),
            ("task: mounts the buckets and prefixes passed", sources),
            ("task: mount mode", mode),
            ("task: read_only mount config for read-only access", read_only)]


def run_checks(checks):
    """-> [(check name, error)] of the failing checks; after a failed parse
    the dependent checks are not run (they are reported as skipped)."""
    failures = []
    for i, (name, fn) in enumerate(checks):
        try:
            fn()
        except Exception as exc:  # SkyPilot raises many types; report each
            failures.append((name, _error(exc), exc))
            if i == 0:
                failures += [(n, "skipped: the file did not parse", None) for n, _ in checks[1:]]
                break
    return failures


# ---------------------------------------------------------------------------
# positive controls
# ---------------------------------------------------------------------------

CONTROL = Bundle("control", "us-west-2", ["ctl-bucket"], access="read-only", mount_mode="MOUNT_CACHED",
                 namespace="team-b", service_account="runner", kube_context="ctx-a")
REFERENCE_CONFIG = {"aws": {"remote_identity": "NO_UPLOAD"},
                    "kubernetes": {"allowed_contexts": ["ctx-a"], "namespace": "team-b",
                                   "remote_identity": "runner"}}
REFERENCE_TASK = {"resources": {"infra": "kubernetes/ctx-a"},
                  "file_mounts": {"/s3/data": {"source": "s3://ctl-bucket/", "mode": "MOUNT_CACHED",
                                               "config": {"mount_cached": {"read_only": True}}}},
                  "run": "ls -la /s3/data"}


# More reference files, one per behaviour: a prefix without --mount-mode is
# COPYed; read-only MOUNT carries config.mount.read_only; read-write has none.
REFERENCES = [
    (CONTROL, REFERENCE_CONFIG, REFERENCE_TASK),
    (Bundle("control-prefix", "us-west-2", ["ctl-bucket", "ctl.second"], prefixes=["team/a"]),
     {"aws": {"remote_identity": "NO_UPLOAD"}},
     {"resources": {"infra": "kubernetes"},
      "file_mounts": {"/s3/ctl-bucket/team/a": {"source": "s3://ctl-bucket/team/a/", "mode": "COPY"},
                      "/s3/ctl.second/team/a": {"source": "s3://ctl.second/team/a/", "mode": "COPY"}},
      "run": "ls -la /s3"}),
    (Bundle("control-mount-ro", "cn-north-1", ["ctl-bucket"], access="read-only", mount_mode="MOUNT",
            service_account=DEFAULT_SERVICE_ACCOUNT),
     {"aws": {"remote_identity": "NO_UPLOAD"}, "kubernetes": {"remote_identity": "SERVICE_ACCOUNT"}},
     {"resources": {"infra": "k8s"},
      "file_mounts": {"/data": {"source": "s3://ctl-bucket", "mode": "MOUNT",
                                "config": {"mount": {"read_only": True}}}}}),
    (Bundle("control-rw", "us-west-2", ["ctl-bucket"], access="read-write", mount_mode="MOUNT_CACHED"),
     {"aws": {"remote_identity": "NO_UPLOAD"}},
     {"resources": {"infra": "kubernetes"},
      "file_mounts": {"/data": {"source": "s3://ctl-bucket/", "mode": "MOUNT_CACHED",
                                "config": {"mount_cached": {"read_only": False, "transfers": 8}}}}}),
]


def _edit(doc, fn):
    doc = copy.deepcopy(doc)
    fn(doc)
    return doc


def _mount(doc):
    return doc["file_mounts"]["/s3/data"]


# (what is broken, "config" or "task", broken document, check that must fail,
#  SkyPilot error type it must raise or None when the check is podiam-side)
BROKEN = [
    ("task: source s3://ctl-bucket/prefix/ with mode MOUNT", "task",
     _edit(REFERENCE_TASK, lambda d: (_mount(d).update(source="s3://ctl-bucket/prefix/", mode="MOUNT"),
                                      _mount(d).pop("config"))),
     "task: storage spec (API server validation)", exceptions.StorageModeError),
    ("task: source s3://ctl-bucket/prefix/ with mode MOUNT_CACHED", "task",
     _edit(REFERENCE_TASK, lambda d: _mount(d).update(source="s3://ctl-bucket/prefix/")),
     "task: storage spec (API server validation)", exceptions.StorageModeError),
    ("task: config.mount_cached under mode MOUNT", "task",
     _edit(REFERENCE_TASK, lambda d: _mount(d).update(mode="MOUNT")),
     "task: sky.Task.from_yaml", exceptions.StorageSpecError),
    ("task: config.mount under mode MOUNT_CACHED", "task",
     _edit(REFERENCE_TASK, lambda d: _mount(d).update(config={"mount": {"read_only": True}})),
     "task: sky.Task.from_yaml", exceptions.StorageSpecError),
    ("task: unknown mode", "task", _edit(REFERENCE_TASK, lambda d: _mount(d).update(mode="MOUNTED")),
     "task: sky.Task.from_yaml", None),
    ("config: aws.remote_identity: 5", "config",
     _edit(REFERENCE_CONFIG, lambda d: d["aws"].update(remote_identity=5)),
     "config: SkyPilot's schema and loader", exceptions.InvalidSkyPilotConfigError),
    ("config: unknown key aws.bogus (strict mode is on)", "config",
     _edit(REFERENCE_CONFIG, lambda d: d["aws"].update(bogus=1)),
     "config: SkyPilot's schema and loader", exceptions.InvalidSkyPilotConfigError),
    ("config: aws.remote_identity no_upload (lower case)", "config",
     _edit(REFERENCE_CONFIG, lambda d: d["aws"].update(remote_identity="no_upload")),
     "config: aws.remote_identity NO_UPLOAD", None),
    ("config: kubernetes.remote_identity missing", "config",
     _edit(REFERENCE_CONFIG, lambda d: d["kubernetes"].pop("remote_identity")),
     "config: kubernetes service account", None),
    ("config: kubernetes.namespace missing", "config",
     _edit(REFERENCE_CONFIG, lambda d: d["kubernetes"].pop("namespace")),
     "config: kubernetes namespace", None),
    ("config: allowed_contexts without the context", "config",
     _edit(REFERENCE_CONFIG, lambda d: d["kubernetes"].update(allowed_contexts=["other"])),
     "config: allowed_contexts holds --kube-context", None),
    ("task: read_only missing for read-only access", "task",
     _edit(REFERENCE_TASK, lambda d: _mount(d).pop("config")),
     "task: read_only mount config for read-only access", None),
    ("task: mode MOUNT instead of MOUNT_CACHED", "task",
     _edit(REFERENCE_TASK, lambda d: _mount(d).update(mode="MOUNT", config={"mount": {"read_only": True}})),
     "task: mount mode", None),
    ("task: infra without the context", "task",
     _edit(REFERENCE_TASK, lambda d: d["resources"].update(infra="kubernetes")),
     "task: infra kubernetes[/context]", None),
    ("task: another bucket", "task",
     _edit(REFERENCE_TASK, lambda d: _mount(d).update(source="s3://other-bucket/")),
     "task: mounts the buckets and prefixes passed", None),
]


def _check_documents(work: pathlib.Path, b: Bundle, config: dict, task: dict):
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    (work / "task.yaml").write_text(yaml.safe_dump(task))
    return (run_checks(config_checks(work / "config.yaml", b))
            + run_checks(task_checks(work / "task.yaml", b)))


def run_controls(work: pathlib.Path) -> bool:
    ok = True
    for bundle, config, task in REFERENCES:
        for name, error, _ in _check_documents(work / bundle.name, bundle, config, task):
            print(f"CONTROL BROKEN: the reference files of {bundle.name} fail {name}: {error}")
            ok = False
    caught = 0
    for i, (what, which, broken, must_fail, error_type) in enumerate(BROKEN):
        config = broken if which == "config" else REFERENCE_CONFIG
        task = broken if which == "task" else REFERENCE_TASK
        failures = _check_documents(work / f"broken-{i}", CONTROL, config, task)
        hit = [(n, e, exc) for n, e, exc in failures if n == must_fail]
        if not hit:
            print(f"CONTROL BROKEN: {what}: {must_fail!r} did not fail "
                  f"(failures: {[n for n, _, _ in failures]})")
            ok = False
        elif error_type is not None and not isinstance(hit[0][2], error_type):
            print(f"CONTROL BROKEN: {what}: {must_fail!r} failed with {hit[0][1]}, "
                  f"want {error_type.__name__}")
            ok = False
        else:
            caught += 1
    print(f"skypilot controls: {len(REFERENCES)} sets of reference files pass; "
          f"{caught}/{len(BROKEN)} broken files caught "
          f"(SkyPilot raised StorageModeError, StorageSpecError, InvalidSkyPilotConfigError where expected)")
    return ok


# ---------------------------------------------------------------------------
# the bundles
# ---------------------------------------------------------------------------

EKS_CONTEXT = "arn:aws:eks:us-west-2:123456789012:cluster/my-eks-cluster"  # aws eks update-kubeconfig's name
OIDC = "https://oidc.eks.{region}.{suffix}/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def bundles():
    out = []
    n = 0
    # Every mount mode x access (and the defaults), identity and context varying along.
    for mode in (None, "MOUNT_CACHED", "MOUNT", "COPY"):
        for access in (None, "read-write", "read-only"):
            n += 1
            out.append(Bundle(
                f"mode-{mode or 'default'}-{access or 'default'}", "us-west-2",
                ["my-bucket", "second.bucket"] if n % 3 == 0 else ["my-bucket"],
                access=access, mount_mode=mode,
                namespace="ml-team" if n % 2 == 0 else None,
                service_account="s3-reader" if n % 3 == 1 else None,
                kube_context=(EKS_CONTEXT if n % 4 == 0 else "dev-ctx") if n % 2 == 1 else None))
    # Prefixes: COPY by default; COPY explicitly; MOUNT and MOUNT_CACHED refused.
    for access in (None, "read-write", "read-only"):
        out.append(Bundle(f"prefix-default-mode-{access or 'default'}", "us-west-2", ["my-bucket"],
                          access=access, prefixes=["team-a"], namespace="team-a",
                          service_account="runner", kube_context="dev-ctx"))
    out.append(Bundle("prefixes-buckets-default-mode", "us-west-2", ["my-bucket", "second.bucket"],
                      access="read-only", prefixes=["team/a", "shared/"]))
    out.append(Bundle("prefix-copy", "us-west-2", ["my-bucket"], mount_mode="COPY", prefixes=["team-a"]))
    for mode in MOUNT_MODES:
        for access in ("read-write", "read-only"):
            out.append(Bundle(f"prefix-{mode}-{access}-refused", "us-west-2", ["my-bucket"],
                              access=access, mount_mode=mode, prefixes=["team-a"]))
    # Methods and partitions: the SkyPilot files do not depend on them, but must stay right.
    out.append(Bundle("irsa-custom", "us-west-2", ["my-bucket"], method="irsa", account_id="123456789012",
                      oidc_issuer=OIDC.format(region="us-west-2", suffix="amazonaws.com"),
                      namespace="ml-team", service_account="s3-reader", access="read-only",
                      mount_mode="MOUNT", kube_context=EKS_CONTEXT))
    out.append(Bundle("irsa-china", "cn-north-1", ["my-bucket"], method="irsa", account_id="123456789012",
                      oidc_issuer=OIDC.format(region="cn-north-1", suffix="amazonaws.com.cn"),
                      access="read-only"))
    out.append(Bundle("govcloud-explicit-default-sa", "us-gov-west-1", ["my-bucket"],
                      service_account=DEFAULT_SERVICE_ACCOUNT, namespace=DEFAULT_NAMESPACE))
    return out


def main() -> int:
    podiam, work = sys.argv[1], pathlib.Path(sys.argv[2])
    if not run_controls(work / "controls"):
        return 1
    total = failed = evaluated = 0
    tally = {}
    for b in bundles():
        outcome = generate(podiam, b.args(), work / b.name)
        total += 1
        if b.refusal:
            named = all(flag in outcome.stderr for flag in ("prefix", "mount-mode"))
            if outcome.code != 2 or outcome.files or not named:
                failed += 1
                tally[f"refused: {b.refusal}"] = tally.get(f"refused: {b.refusal}", 0) + 1
                print(f"FAIL {b.name}: generate: expected exit 2, no files and a message naming "
                      f"'prefix' and 'mount-mode' ({b.refusal}); got exit {outcome.code}, "
                      f"{len(outcome.files)} files, message naming both: {named}")
            continue
        if outcome.code != 0:
            failed += 1
            tally["generate succeeds"] = tally.get("generate succeeds", 0) + 1
            print(f"FAIL {b.name}: generate: expected exit 0, got {outcome.code}: {outcome.first_error_line()}")
            continue
        evaluated += 1
        checks = (config_checks(outcome.out / CONFIG_PATH, b), task_checks(outcome.out / TASK_PATH, b))
        total += sum(len(c) for c in checks)
        failures = [f for c in checks for f in run_checks(c)]
        for name, error, _ in failures:
            failed += 1
            tally[name] = tally.get(name, 0) + 1
            print(f"FAIL {b.name}: {name}: {error}")
    if tally:
        print("skypilot failures by check:")
        for name, count in sorted(tally.items()):
            print(f"  {count:4d}  {name}")
    print(f"skypilot: {evaluated} bundles validated with SkyPilot {sky.__version__}, {total} checks, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # an error of the checker itself, not a finding
        traceback.print_exc()
        sys.exit(1)
