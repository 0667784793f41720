"""Shared by the semantic parts: AWS partition facts and running podiam.

Nothing here knows how podiam builds a document. The partition table is
AWS's (facts.md, "Partitions"); a Bundle is the parameters passed to
`podiam generate`, with what they mean by podiam's documented defaults and
AWS's and SkyPilot's rules; an Outcome is what the process did.
"""

import dataclasses
import json
import os
import pathlib
import subprocess
from typing import List, Optional, Tuple

# region prefix -> (partition, DNS suffix of its service endpoints)
PARTITIONS = (
    ("cn-", "aws-cn", "amazonaws.com.cn"),
    ("us-gov-", "aws-us-gov", "amazonaws.com"),
    ("", "aws", "amazonaws.com"),
)

# A second region of the same partition, for "same name, other region" requests.
OTHER_REGION = {
    "us-west-2": "us-east-1",
    "us-east-1": "us-west-2",
    "eu-west-1": "us-west-2",
    "cn-north-1": "cn-northwest-1",
    "cn-northwest-1": "cn-north-1",
    "us-gov-west-1": "us-gov-east-1",
    "us-gov-east-1": "us-gov-west-1",
}


DEFAULT_NAMESPACE = "default"                         # podiam's documented defaults
DEFAULT_SERVICE_ACCOUNT = "skypilot-service-account"  # (README, "Parameters")


def partition(region: str) -> str:
    return next(p for prefix, p, _ in PARTITIONS if region.startswith(prefix))


def dns_suffix(region: str) -> str:
    return next(s for prefix, _, s in PARTITIONS if region.startswith(prefix))


def other_partition(region: str) -> str:
    """A partition that is not the region's: its ARNs must never match."""
    return "aws-cn" if partition(region) != "aws-cn" else "aws"


@dataclasses.dataclass
class Binding:
    """One more workload the role admits (issue 11): `--bind NS:SA`, or an
    entry of the params file's `bindings:` list; a field left None is not
    written and takes the top-level value (README, "Bindings")."""

    namespace: Optional[str] = None
    service_account: Optional[str] = None
    cluster: Optional[str] = None
    oidc_issuer: Optional[str] = None

    @property
    def as_flag(self) -> Optional[str]:
        """The `--bind` value, or None when the binding needs a params file."""
        if self.cluster is not None or self.oidc_issuer is not None or None in (self.namespace,
                                                                               self.service_account):
            return None
        return f"{self.namespace}:{self.service_account}"


@dataclasses.dataclass
class Workload:
    """A binding with every key resolved: who the role must admit."""

    cluster: str
    namespace: str
    service_account: str
    oidc_issuer: Optional[str]


def is_pattern(name: str) -> bool:
    return "*" in name or "?" in name


@dataclasses.dataclass
class Bundle:
    """The parameters of one `podiam generate` call."""

    name: str
    region: str
    buckets: List[str]
    cluster: str = "my-eks-cluster"
    access: Optional[str] = "read-write"   # None: the flag is not passed
    mount_mode: Optional[str] = None
    multipart: bool = False
    prefixes: List[str] = dataclasses.field(default_factory=list)
    kms_keys: List[str] = dataclasses.field(default_factory=list)
    method: str = "pod-identity"
    namespace: Optional[str] = None
    service_account: Optional[str] = None
    kube_context: Optional[str] = None
    account_id: Optional[str] = None
    oidc_issuer: Optional[str] = None
    trust_minimal: bool = False
    trust_source_account: bool = False
    trust_source_arn: bool = False
    bindings: List[Binding] = dataclasses.field(default_factory=list)
    bindings_in_params: bool = False       # write bindings to a params file, not --bind
    shape: Optional[str] = None            # the binding shape a bundle exercises (reporting only)

    def args(self) -> List[str]:
        """The flags; the bindings of a params file come from params_yaml()."""
        a = ["--cluster", self.cluster, "--region", self.region, "--method", self.method]
        for b in self.buckets:
            a += ["--bucket", b]
        for flag, value in (("--access", self.access), ("--mount-mode", self.mount_mode),
                            ("--namespace", self.namespace), ("--service-account", self.service_account),
                            ("--kube-context", self.kube_context),
                            ("--account-id", self.account_id), ("--oidc-issuer", self.oidc_issuer)):
            if value is not None:
                a += [flag, value]
        for p in self.prefixes:
            a += ["--prefix", p]
        for k in self.kms_keys:
            a += ["--kms-key", k]
        for flag, on in (("--multipart-cleanup", self.multipart), ("--trust-minimal", self.trust_minimal),
                         ("--trust-source-account", self.trust_source_account),
                         ("--trust-source-arn", self.trust_source_arn)):
            if on:
                a.append(flag)
        if not self.bindings_in_params:
            for binding in self.bindings:
                assert binding.as_flag is not None, f"{self.name}: {binding} needs a params file"
                a += ["--bind", binding.as_flag]
        return a

    def params_yaml(self) -> Optional[str]:
        """A params file holding only `bindings:` (the flags give the rest),
        every value a double-quoted YAML scalar; None without one."""
        if not self.bindings_in_params or not self.bindings:
            return None
        lines = ["bindings:"]
        for binding in self.bindings:
            keys = [(k, getattr(binding, k)) for k in ("cluster", "namespace", "service_account", "oidc_issuer")]
            keys = [(k, v) for k, v in keys if v is not None]
            for i, (k, v) in enumerate(keys):
                lines.append(f"  {'- ' if i == 0 else '  '}{k}: {json.dumps(v)}")
        return "\n".join(lines) + "\n"

    @property
    def workloads(self) -> List[Workload]:
        """Every workload the role admits: the top-level one, then each
        binding, a missing key taking the top-level value."""
        first = Workload(self.cluster, self.ns, self.sa, self.oidc_issuer)
        out = [first]
        for b in self.bindings:
            out.append(Workload(b.cluster if b.cluster is not None else first.cluster,
                                b.namespace if b.namespace is not None else first.namespace,
                                b.service_account if b.service_account is not None else first.service_account,
                                b.oidc_issuer if b.oidc_issuer is not None else first.oidc_issuer))
        return out

    # What the parameters mean (documented defaults and AWS facts).
    @property
    def effective_access(self) -> Optional[str]:
        """--access, else read-only for COPY (README), else read-write; None
        for a prefix without --mount-mode and --access (its task is COPYed, and
        whether that makes it read-only is not settled: no check relies on it)."""
        if self.access is not None:
            return self.access
        if self.mount_mode == "COPY":
            return "read-only"
        return None if self.prefixes else "read-write"

    @property
    def refusal(self) -> Optional[str]:
        """Why podiam must refuse these parameters (exit 2, nothing written), or None:
        read-only access with --multipart-cleanup grants a write-side action; a
        --prefix makes the source s3://B/P/, which SkyPilot mounts only with COPY
        (MOUNT and MOUNT_CACHED raise StorageModeError); a KMS key ARN whose
        region is not in its partition names no key; a binding with '*' or '?'
        under Pod Identity (an association names one namespace and one service
        account) or *:* (every service account); an IRSA binding on another
        cluster without that cluster's issuer (issue 11)."""
        if self.effective_access == "read-only" and self.multipart:
            return "read-only with --multipart-cleanup"
        if self.prefixes and self.mount_mode in ("MOUNT", "MOUNT_CACHED"):
            return f"--prefix with --mount-mode {self.mount_mode}"
        for w in self.workloads:
            if is_pattern(w.namespace) or is_pattern(w.service_account):
                if self.method != "irsa":
                    # A Pod Identity association names one namespace and one service account.
                    return f"a pattern {w.namespace}:{w.service_account} with --method {self.method}"
                if w.namespace == "*" and w.service_account == "*":
                    return "a binding *:* (every service account of the cluster)"
        for b in self.bindings:
            if self.method != "pod-identity" and b.cluster not in (None, self.cluster) and b.oidc_issuer is None:
                # Each cluster has its own OIDC provider: the top-level one is not it.
                return f"an IRSA binding on cluster {b.cluster} without its own oidc_issuer"
        for key in self.kms_keys:
            key_partition, key_region = key.split(":")[1], key.split(":")[3]
            if partition(key_region) != key_partition:
                # No such key can exist: a region belongs to exactly one partition.
                return f"a KMS key ARN in partition {key_partition} naming region {key_region}"
        return None

    @property
    def task_mode(self) -> str:
        """The test task's mode: --mount-mode, else COPY for a prefix (the
        only mode SkyPilot takes a sub-path source in), else the docs page's
        MOUNT_CACHED."""
        if self.mount_mode:
            return self.mount_mode
        return "COPY" if self.prefixes else "MOUNT_CACHED"

    @property
    def ns(self) -> str:
        return self.namespace or DEFAULT_NAMESPACE

    @property
    def sa(self) -> str:
        return self.service_account or DEFAULT_SERVICE_ACCOUNT

    @property
    def partition(self) -> str:
        return partition(self.region)

    @property
    def prefix_dirs(self) -> List[str]:
        """Each --prefix as a key prefix ending in one "/" ("shared/" and "shared" agree)."""
        return [p.strip("/") + "/" for p in self.prefixes]


@dataclasses.dataclass
class Outcome:
    """What `podiam generate` did: exit code, stderr, and the files it wrote."""

    code: int
    stderr: str
    out: pathlib.Path
    files: List[str]

    def first_error_line(self) -> str:
        lines = [l for l in self.stderr.splitlines() if l.strip()]
        errors = [l for l in lines if "error" in l.lower()]
        return (errors or lines or ["(no message)"])[0].strip()


def _clean_env(env: Optional[dict]) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("EKS_CLUSTER_NAME", "AWS_REGION", "S3_BUCKET", "K8S_NAMESPACE",
                          "K8S_SERVICE_ACCOUNT", "KUBE_CONTEXT", "AWS_ACCOUNT_ID",
                          "IAM_POLICY_NAME", "IAM_ROLE_NAME", "PODIAM_TF_NAME", "BUCKET_ACCOUNT_ID",
                          "TARGET_ACCOUNT_ID")}
    clean.update(env or {})
    return clean


def render(podiam: str, artifact: str, args: List[str], env: Optional[dict] = None) -> Tuple[int, str, str]:
    """Runs `podiam render ARTIFACT ARGS` with a clean environment -> (exit code, stdout, stderr)."""
    proc = subprocess.run([podiam, "render", artifact, *args], capture_output=True, text=True,
                          env=_clean_env(env), check=False)
    return proc.returncode, proc.stdout, proc.stderr


def generate(podiam: str, args: List[str], out: pathlib.Path,
             env: Optional[dict] = None) -> Outcome:
    """Runs `podiam generate ARGS --out OUT` with a clean environment (the
    docs page's variables must not leak in) and lists what it wrote."""
    clean = _clean_env(env)
    proc = subprocess.run([podiam, "generate", "--quiet", *args, "--out", str(out)],
                          capture_output=True, text=True, env=clean, check=False)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) if out.exists() else []
    return Outcome(proc.returncode, proc.stderr, out, files)


def kms_key_parts(arn: str) -> Tuple[str, str, str, str]:
    """arn:<partition>:kms:<region>:<account>:key/<id> -> (partition, region, account, id)."""
    fields = arn.split(":", 5)
    assert fields[0] == "arn" and fields[2] == "kms" and fields[5].startswith("key/"), arn
    return fields[1], fields[3], fields[4], fields[5][len("key/"):]
