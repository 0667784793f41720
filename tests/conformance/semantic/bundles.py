"""Shared by the semantic parts: AWS partition facts and running podiam.

Nothing here knows how podiam builds a document. The partition table is
AWS's (facts.md, "Partitions"); a bundle is only the parameters passed to
`podiam generate` and what the process did with them.
"""

import dataclasses
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


def partition(region: str) -> str:
    return next(p for prefix, p, _ in PARTITIONS if region.startswith(prefix))


def dns_suffix(region: str) -> str:
    return next(s for prefix, _, s in PARTITIONS if region.startswith(prefix))


def other_partition(region: str) -> str:
    """A partition that is not the region's: its ARNs must never match."""
    return "aws-cn" if partition(region) != "aws-cn" else "aws"


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


def generate(podiam: str, args: List[str], out: pathlib.Path,
             env: Optional[dict] = None) -> Outcome:
    """Runs `podiam generate ARGS --out OUT` with a clean environment (the
    docs page's variables must not leak in) and lists what it wrote."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("EKS_CLUSTER_NAME", "AWS_REGION", "S3_BUCKET", "K8S_NAMESPACE",
                          "K8S_SERVICE_ACCOUNT", "KUBE_CONTEXT", "AWS_ACCOUNT_ID",
                          "IAM_POLICY_NAME", "IAM_ROLE_NAME", "PODIAM_TF_NAME")}
    clean.update(env or {})
    proc = subprocess.run([podiam, "generate", "--quiet", *args, "--out", str(out)],
                          capture_output=True, text=True, env=clean, check=False)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) if out.exists() else []
    return Outcome(proc.returncode, proc.stderr, out, files)


def kms_key_parts(arn: str) -> Tuple[str, str, str, str]:
    """arn:<partition>:kms:<region>:<account>:key/<id> -> (partition, region, account, id)."""
    fields = arn.split(":", 5)
    assert fields[0] == "arn" and fields[2] == "kms" and fields[5].startswith("key/"), arn
    return fields[1], fields[3], fields[4], fields[5][len("key/"):]
