"""check-50, second half: `podiam validate` agrees with SkyPilot's own
validators (0.14.1) on override-style SkyPilot files, not only on what
podiam's built-in templates write.

Usage: skypilot_agreement.py PODIAM WORKDIR   (HOME must point to a scratch folder)

Three lists of hand-written documents:
- ACCEPTED: SkyPilot accepts them and so must podiam (fields an override may
  add: resources.cpus/memory, envs, num_nodes, workdir, setup, file mount
  variants, task config, config sections);
- REFUSED: SkyPilot refuses them and so must podiam, with a message that
  names the JSON path (misspelt or unknown keys, wrong types, SkyPilot's
  storage rules);
- PODIAM_ONLY: SkyPilot accepts them but podiam refuses them by one of its
  own rules, which its message must name (podiam rule ...).
Every document is checked with SkyPilot first, so a list that no longer
matches SkyPilot (another version) fails here instead of passing unseen.
podiam's schema must also give each document the same verdict under
python-jsonschema (Draft 2020-12), another implementation than podiam's.
"""

import copy
import json
import os
import pathlib
import subprocess
import sys
import traceback

# Strict validation as on the API server (see skypilot_check.py).
os.environ["IS_SKYPILOT_SERVER"] = "1"
os.environ.setdefault("SKYPILOT_DISABLE_USAGE_COLLECTION", "1")

import jsonschema  # noqa: E402
import yaml  # noqa: E402
from sky.server import plugins  # noqa: E402

plugins._plugins_loaded = True  # pylint: disable=protected-access

import sky  # noqa: E402
from sky import skypilot_config  # noqa: E402
from sky.data import storage as storage_lib  # noqa: E402
from sky.utils import common_utils, schemas  # noqa: E402

CONFIG = {"aws": {"remote_identity": "NO_UPLOAD"}}
TASK = {"resources": {"infra": "kubernetes"},
        "file_mounts": {"/s3/data": {"source": "s3://my-bucket/", "mode": "MOUNT_CACHED"}},
        "run": "ls -la /s3/data"}


def task(**changes):
    doc = copy.deepcopy(TASK)
    for key, value in changes.items():
        if key == "mount":
            doc["file_mounts"]["/s3/data"].update(value)
        elif key == "resources":
            doc["resources"].update(value)
        else:
            doc[key] = value
    return doc


def config(**changes):
    doc = copy.deepcopy(CONFIG)
    for key, value in changes.items():
        if key == "aws":
            doc["aws"].update(value)
        else:
            doc[key] = value
    return doc


# (what, "task" or "config", document); file paths below are relative to the
# work folder, which is the current directory while checking.
ACCEPTED = [
    ("cpus 2+, memory, labels", "task", task(resources={"cpus": "2+", "memory": "8+", "labels": {"team": "ml"}})),
    ("cpus as a number, memory with a unit, disk size, ports, autostop", "task",
     task(resources={"cpus": 4, "memory": "512MB", "disk_size": "100GB", "ports": [8080], "autostop": "30m"})),
    ("envs, num_nodes, setup, name", "task",
     task(envs={"DATA_DIR": "/s3/data", "RETRIES": 3}, num_nodes=2, setup="pip list", name="smoke")),
    ("workdir as a local folder", "task", task(workdir="code")),
    ("workdir as a git repository", "task", task(workdir={"url": "https://github.com/skypilot-org/skypilot.git",
                                                          "ref": "master"})),
    ("a local file mount next to the bucket", "task",
     {**TASK, "file_mounts": {**TASK["file_mounts"], "/opt/code": "code"}}),
    ("lower-case mode and rclone options", "task",
     task(mount={"mode": "mount_cached", "config": {"mount_cached": {"transfers": 8, "read_only": True,
                                                                      "vfs_cache_max_size": "10G"}}})),
    ("a prefix copied", "task", task(mount={"source": "s3://my-bucket/team-a", "mode": "COPY"})),
    ("MOUNT with read_only", "task", task(mount={"mode": "MOUNT", "config": {"mount": {"read_only": True}}})),
    ("Kubernetes alternatives", "task", task(resources={"any_of": [{"infra": "k8s/ctx-a"}, {"infra": "k8s/ctx-b"}]})),
    ("a task config with pod_config and hooks", "task",
     task(config={"kubernetes": {"pod_config": {"spec": {"nodeSelector": {"pool": "cpu"}}}, "provision_timeout": 600},
                  "hooks": [{"run": "echo bye", "events": ["down"]}]})),
    ("aws options", "config", config(aws={"labels": {"team": "ml"}, "use_internal_ips": True})),
    ("kubernetes options", "config",
     config(kubernetes={"namespace": "team-a", "remote_identity": "runner", "allowed_contexts": ["ctx-a"],
                        "provision_timeout": 900, "pod_config": {"spec": {"tolerations": []}},
                        "context_configs": {"ctx-a": {"namespace": "team-a", "remote_identity": "runner"}}})),
    ("allowed_contexts all", "config", config(kubernetes={"allowed_contexts": "all"})),
    ("top-level sections", "config",
     config(allowed_clouds=["aws", "Kubernetes"], workspaces={"team": {"aws": {"remote_identity": "NO_UPLOAD"}}},
            provision={"ssh_timeout": 10})),
]

# (what, kind, document, text the podiam message must hold: the JSON path)
REFUSED = [
    ("misspelt resources.cpus", "task", task(resources={"cpu": 2}), "at /resources/cpu: unexpected key"),
    ("misspelt setup", "task", task(setupp="echo"), "at /setupp: unexpected key"),
    ("num_nodes 0", "task", task(num_nodes=0), "at /num_nodes:"),
    ("cpus that is no number", "task", task(resources={"cpus": "two"}), "at /resources/cpus:"),
    ("memory that is no size", "task", task(resources={"memory": "lots"}), "at /resources/memory:"),
    ("an env var without a value", "task", task(envs={"DATA": None}), "at /envs/DATA:"),
    ("an env var name with a dash", "task", task(envs={"MY-VAR": "x"}), "at /envs/MY-VAR:"),
    ("misspelt mode key", "task", task(mount={"mdoe": "COPY"}), "at /file_mounts/~1s3~1data/mdoe: unexpected key"),
    ("unknown mode", "task", task(mount={"mode": "MOUNTED"}), "at /file_mounts/~1s3~1data/mode:"),
    ("a prefix mounted", "task", task(mount={"source": "s3://my-bucket/team-a/"}), "at /file_mounts/~1s3~1data/mode:"),
    ("config.mount under MOUNT_CACHED", "task", task(mount={"config": {"mount": {"read_only": True}}}),
     "at /file_mounts/~1s3~1data/mode:"),
    ("unknown rclone option", "task", task(mount={"config": {"mount_cached": {"transfer": 8}}}),
     "at /file_mounts/~1s3~1data/config/mount_cached/transfer: unexpected key"),
    ("workdir repository without url", "task", task(workdir={"ref": "main"}), "at /workdir:"),
    ("service and pool", "task", task(service={"readiness_probe": "/"}, pool={"workers": 1}), "at /:"),
    ("unknown task config key", "task", task(config={"kubernetes": {"namepsace": "x"}}),
     "at /config/kubernetes/namepsace: unexpected key"),
    ("unknown aws key", "config", config(aws={"bogus": 1}), "at /aws/bogus: unexpected key"),
    ("misspelt kubernetes.namespace", "config", config(kubernetes={"namepsace": "a"}),
     "at /kubernetes/namepsace: unexpected key"),
    ("allowed_contexts as a single context", "config", config(kubernetes={"allowed_contexts": "ctx-a"}),
     "at /kubernetes/allowed_contexts:"),
    ("custom_metadata with a name", "config", config(kubernetes={"custom_metadata": {"name": "x"}}),
     "at /kubernetes/custom_metadata:"),
    ("aws.remote_identity as a number", "config", config(aws={"remote_identity": 5}), "at /aws/remote_identity:"),
]

PODIAM_ONLY = [
    ("a task on AWS VMs", "task", task(resources={"infra": "aws"}), "podiam rule runs-on-kubernetes"),
    ("no S3 mount", "task", {**TASK, "file_mounts": {"/opt/code": "code"}}, "podiam rule mounts-s3"),
    ("an internal field", "task", task(mount={"_force_delete": True}), "podiam rule no-internal-fields"),
    ("local credentials uploaded", "config", config(aws={"remote_identity": "LOCAL_CREDENTIALS"}),
     "podiam rule no-upload"),
    ("no aws section", "config", {"kubernetes": {"namespace": "team-a"}}, "podiam rule no-upload"),
    ("the default account's keyword", "config", config(kubernetes={"remote_identity": "SERVICE_ACCOUNT"}),
     "podiam rule service-account"),
]


def skypilot_error(kind: str, path: pathlib.Path):
    """SkyPilot's verdict: None when it accepts the file, else its error."""
    try:
        if kind == "config":
            raw = yaml.safe_load(path.read_text())
            common_utils.validate_schema(raw, schemas.get_config_schema(), "Invalid config YAML: ")
            skypilot_config.parse_and_validate_config_file(str(path))
        else:
            parsed = sky.Task.from_yaml(str(path))
            raw = yaml.safe_load(path.read_text())
            for mount_path, storage in parsed.storage_mounts.items():
                # The API server's offline checks, as in skypilot_check.py.
                storage_lib.Storage._validate_source(storage.source, storage.mode,  # pylint: disable=protected-access
                                                     storage.sync_on_reconstruction)
                copy.deepcopy(storage)._validate_storage_spec(storage.name)  # pylint: disable=protected-access
                storage_lib.Storage.from_yaml_config(copy.deepcopy(raw["file_mounts"][mount_path]))
        return None
    except Exception as exc:  # SkyPilot raises many types
        text = str(exc).strip().splitlines()
        return f"{type(exc).__name__}: {text[0] if text else ''}"


SCHEMAS = pathlib.Path(__file__).resolve().parents[3] / "schemas"


def schema_accepts(kind: str, doc) -> bool:
    """podiam's schema, read by python-jsonschema."""
    schema = json.loads((SCHEMAS / f"skypilot-{kind}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema).is_valid(doc)


def podiam_verdict(podiam: str, kind: str, path: pathlib.Path):
    artifact = "skypilot-config" if kind == "config" else "skypilot-task"
    done = subprocess.run([podiam, "validate", artifact, str(path)], capture_output=True, text=True, check=False)
    return done.returncode, done.stderr


def main() -> int:
    podiam, work = sys.argv[1], pathlib.Path(sys.argv[2])
    work.mkdir(parents=True, exist_ok=True)
    (work / "code").mkdir(exist_ok=True)
    os.chdir(work)
    failures = []
    lists = [("accepted", ACCEPTED), ("refused", REFUSED), ("podiam-only", PODIAM_ONLY)]
    n = 0
    for label, cases in lists:
        for case in cases:
            what, kind, doc = case[:3]
            n += 1
            path = work / f"{n:02d}-{kind}.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False))
            sky_error = skypilot_error(kind, path)
            code, err = podiam_verdict(podiam, kind, path)
            if schema_accepts(kind, yaml.safe_load(path.read_text())) != (code == 0):
                failures.append(f"{what}: python-jsonschema reads podiam's schema otherwise (podiam exit {code})")
            if label == "accepted":
                if sky_error is not None:
                    failures.append(f"{what}: SkyPilot refuses it ({sky_error}); the list is out of date")
                elif code != 0:
                    failures.append(f"{what}: SkyPilot accepts it, podiam refuses it (exit {code}):\n{err}")
                continue
            want = case[3]
            if label == "refused" and sky_error is None:
                failures.append(f"{what}: SkyPilot accepts it; the list is out of date")
            elif label == "podiam-only" and sky_error is not None:
                failures.append(f"{what}: SkyPilot refuses it too ({sky_error}); move it to REFUSED")
            elif code != 1:
                failures.append(f"{what}: podiam accepts it (exit {code}); SkyPilot says {sky_error}")
            elif want not in err or "oneOf" in err or "anyOf" in err:
                failures.append(f"{what}: podiam's message lacks {want!r} or says oneOf/anyOf:\n{err}")
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"skypilot agreement: {len(ACCEPTED)} files SkyPilot {sky.__version__} accepts, {len(REFUSED)} it refuses, "
          f"{len(PODIAM_ONLY)} only podiam's rules refuse; {len(failures)} disagreements")
    return 1 if failures else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # an error of the checker itself, not a finding
        traceback.print_exc()
        sys.exit(1)
