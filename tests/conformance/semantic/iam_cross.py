"""Cross-account documents (issue 12): bucket policy, KMS key policy, role
chaining (target trust and the source role's inline policy), judged by
principalmapper and @cloud-copilot/iam-simulate.

Expectations come from the parameters passed to podiam and AWS semantics,
never from podiam's code or output:

- the role that calls S3 is the target role (--target-account) or else the
  cluster's role; both carry --role-name (default SkyPilotS3Role-<first
  bucket>, README "Parameters") and --iam-path (default "/"); the cluster's
  account is --account-id;
- a cross-account S3 or KMS request succeeds only when the caller's identity
  policy AND the bucket's (key's) policy allow it and neither denies it;
- with --bucket-account the bucket policy admits exactly that role, for the
  access profile's actions on the granted ARNs (iam_matrix's profile and
  prefix rules); never bucket administration, another principal (another
  role of the same account, the same name under another path or in another
  account, the cluster's source role when chaining), another bucket; each
  statement names one of the given buckets, and the statements that name a
  bucket admit nothing on the other buckets;
- the key policy admits that role for kms:Decrypt (and kms:GenerateDataKey
  when read-write) only through S3 of the key's region (kms:ViaService
  s3.<key region>.<DNS suffix>); not directly, not through another service
  or region (a region of none of the given keys), no other principal, no
  key administration;
- --target-account: the target role's trust admits the source role's
  session (aws:PrincipalArn = the source role ARN) for sts:AssumeRole only
  with sts:ExternalId equal to one association's id,
  "<region>/<cluster account>/<cluster>/<namespace>/<service account>"
  (AWS EKS API, PodIdentityAssociation.externalId), one per binding
  (default namespace/service account plus each --bind); sts:TagSession for
  the source role only; the source role's inline policy allows
  sts:AssumeRole and sts:TagSession on exactly the target role ARN and
  nothing else.

Each request is judged twice: with the real other half of the chain (the
generated identity policy) and with the other half allowing everything, so
that each document is shown to refuse on its own.
"""

import collections
import copy
import dataclasses
import json
from typing import List, Optional, Tuple

import iam_engine
from bundles import Bundle, dns_suffix, generate, kms_key_parts, other_partition, partition, OTHER_REGION
import iam_matrix
from iam_matrix import (ADMIN_BUCKET_ACTIONS, ADMIN_OBJECT_ACTIONS, OBJECT_ACTIONS, granted_object_actions,
                        key_in_scope, list_prefix_in_scope, _sample_keys, _sample_list_prefixes)
from principalmapper.common.nodes import Node  # noqa: E402  (iam_engine aliased collections first)
from principalmapper.querying.local_policy_simulation import resource_policy_matching_statements  # noqa: E402

CLUSTER_ACCOUNT = "111111111111"
BUCKET_ACCOUNT = "222222222222"
TARGET_ACCOUNT = "333333333333"
OTHER_ACCOUNT = "444444444444"
DEFAULT_WORKLOAD = ("default", "skypilot-service-account")   # README, "Parameters"
KEY_A = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_B = "5678efab-56ef-78ab-90cd-567890abcdef"
EXTRA_BUCKET_ADMIN = ("s3:PutBucketOwnershipControls", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
                      "s3:PutBucketCORS", "s3:PutReplicationConfiguration")
KMS_ADMIN = ("kms:Encrypt", "kms:ReEncryptFrom", "kms:CreateGrant", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy",
             "kms:DisableKey")
ANOTHER_PATH = "the same role name under another path"
EMPTY = {"Version": "2012-10-17", "Statement": []}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


@dataclasses.dataclass
class CrossBundle:
    name: str
    buckets: List[str]
    region: str = "us-west-2"
    cluster: str = "c1"
    access: str = "read-write"
    prefixes: List[str] = dataclasses.field(default_factory=list)
    kms_keys: List[str] = dataclasses.field(default_factory=list)
    bucket_account: Optional[str] = None
    target_account: Optional[str] = None
    binds: List[Tuple[str, str]] = dataclasses.field(default_factory=list)
    iam_path: Optional[str] = None
    role_name: Optional[str] = None

    def args(self) -> List[str]:
        a = ["--cluster", self.cluster, "--region", self.region, "--account-id", CLUSTER_ACCOUNT,
             "--access", self.access]
        for b in self.buckets:
            a += ["--bucket", b]
        for p in self.prefixes:
            a += ["--prefix", p]
        for k in self.kms_keys:
            a += ["--kms-key", k]
        for flag, value in (("--bucket-account", self.bucket_account), ("--target-account", self.target_account),
                            ("--iam-path", self.iam_path), ("--role-name", self.role_name)):
            if value is not None:
                a += [flag, value]
        for ns, sa in self.binds:
            a += ["--bind", f"{ns}:{sa}"]
        return a

    # what the parameters mean
    @property
    def p(self) -> str:
        return partition(self.region)

    @property
    def name_(self) -> str:
        return self.role_name or f"SkyPilotS3Role-{self.buckets[0]}"

    @property
    def path(self) -> str:
        return self.iam_path or "/"

    def role(self, account: str, name: Optional[str] = None, path: Optional[str] = None) -> str:
        return f"arn:{self.p}:iam::{account}:role{path or self.path}{name or self.name_}"

    @property
    def source_role(self) -> str:
        return self.role(CLUSTER_ACCOUNT)

    @property
    def target_role(self) -> Optional[str]:
        return self.role(self.target_account) if self.target_account else None

    @property
    def s3_role(self) -> str:
        return self.target_role or self.source_role

    @property
    def s3_account(self) -> str:
        return self.target_account or CLUSTER_ACCOUNT

    @property
    def cross_bucket(self) -> bool:
        """The buckets are in another account than the role that calls S3."""
        return self.bucket_account is not None and self.bucket_account != self.s3_account

    @property
    def external_ids(self) -> List[str]:
        return [f"{self.region}/{CLUSTER_ACCOUNT}/{self.cluster}/{ns}/{sa}"
                for ns, sa in [DEFAULT_WORKLOAD, *self.binds]]

    @property
    def shim(self) -> Bundle:
        """iam_matrix's profile and prefix rules take a Bundle."""
        return Bundle(self.name, self.region, self.buckets, cluster=self.cluster, access=self.access,
                      prefixes=self.prefixes, kms_keys=self.kms_keys)


def kms(region: str, account: str = BUCKET_ACCOUNT, key_id: str = KEY_A) -> str:
    return f"arn:{partition(region)}:kms:{region}:{account}:key/{key_id}"


def cross_bundles() -> List[CrossBundle]:
    b = BUCKET_ACCOUNT
    return [
        CrossBundle("x-bucket-rw", ["lake-data"], bucket_account=b),
        CrossBundle("x-bucket-ro", ["lake-data"], bucket_account=b, access="read-only", role_name="LakeReader"),
        CrossBundle("x-bucket-prefixes", ["lake-data"], bucket_account=b, prefixes=["team/a", "shared/"],
                    role_name="LakeTeam"),
        CrossBundle("x-bucket-two", ["lake-data", "lake-archive"], bucket_account=b, access="read-only",
                    prefixes=["runs"], role_name="LakeTwo"),
        CrossBundle("x-bucket-kms", ["lake-data"], bucket_account=b, role_name="LakeKms",
                    kms_keys=[kms("us-west-2"), kms("us-east-1", key_id=KEY_B)]),
        CrossBundle("x-bucket-kms-ro", ["lake-data"], bucket_account=b, access="read-only", role_name="LakeKmsRo",
                    kms_keys=[kms("us-west-2")]),
        CrossBundle("x-target-one", ["lake-data"], target_account=TARGET_ACCOUNT, role_name="LakeChain"),
        CrossBundle("x-target-two", ["lake-data"], target_account=TARGET_ACCOUNT, role_name="LakeChain2",
                    binds=[("ml", "runner")]),
        CrossBundle("x-target-bucket", ["lake-data", "lake-archive"], target_account=TARGET_ACCOUNT,
                    bucket_account=b, prefixes=["runs/"], binds=[("ml", "runner"), ("etl", "loader")],
                    kms_keys=[kms("us-west-2")], role_name="LakeThree"),
        CrossBundle("x-path", ["lake-data"], bucket_account=b, target_account=TARGET_ACCOUNT, iam_path="/team/x/",
                    access="read-only", kms_keys=[kms("us-west-2")]),
        # The buckets in the cluster's account, reached through the target role.
        CrossBundle("x-target-bucket-in-cluster", ["lake-data"], target_account=TARGET_ACCOUNT,
                    bucket_account=CLUSTER_ACCOUNT, role_name="LakeBack", kms_keys=[kms("us-west-2", CLUSTER_ACCOUNT)]),
        # --bucket-account naming the role's own account: nothing to add on the bucket.
        CrossBundle("x-same-account", ["lake-data"], bucket_account=CLUSTER_ACCOUNT, role_name="LakeSame"),
        CrossBundle("x-china", ["lake-data"], region="cn-north-1", bucket_account=b, role_name="LakeCn",
                    kms_keys=[kms("cn-north-1")]),
    ]


@dataclasses.dataclass
class XRequest:
    doc: str                 # bucket | kms | target-trust | source
    name: str
    action: str
    resource: str
    resource_account: str
    caller: str              # the calling role's ARN (aws:PrincipalArn)
    keys: dict
    expected: str
    identity: Optional[dict] = None      # set at evaluation
    resource_policy: Optional[dict] = None

    def label(self) -> str:
        return f"{self.name} [{self.action} on {self.resource} by {self.caller}]"


def session(role_arn: str) -> str:
    """The assumed-role session ARN of a role (its path is not part of it)."""
    fields = role_arn.split(":")
    return f"arn:{fields[1]}:sts::{fields[4]}:assumed-role/{role_arn.rsplit('/', 1)[1]}/podiam-test"


def other_principals(b: CrossBundle) -> List[Tuple[str, str]]:
    out = [("another role of the role's account", b.role(b.s3_account, name="OtherRole")),
           ("the same role name in a third account", b.role(OTHER_ACCOUNT)),
           (ANOTHER_PATH, b.role(b.s3_account, path="/elsewhere/"))]
    if b.target_account:
        out.append(("the cluster's source role (S3 goes through the target role)", b.source_role))
    return out


# --------------------------------------------------------------------------
# bucket policy
# --------------------------------------------------------------------------

def bucket_requests(b: CrossBundle, bucket: str) -> List[XRequest]:
    p, s, reqs = b.p, b.shim, []
    arn = f"arn:{p}:s3:::{bucket}"
    granted = granted_object_actions(s)

    def add(name, action, resource, expected, keys=None, caller=None):
        reqs.append(XRequest("bucket", f"{bucket}: {name}", action, resource, BUCKET_ACCOUNT, caller or b.s3_role,
                             dict(keys or {}), expected))

    add("locate bucket", "s3:GetBucketLocation", arn, "allow")
    for prefix in _sample_list_prefixes(s):
        keys = {} if prefix is None else {"s3:prefix": prefix}
        add(f"list with {'no s3:prefix' if prefix is None else repr(prefix)}", "s3:ListBucket", arn,
            "allow" if list_prefix_in_scope(s, prefix) else "deny", keys)
    for key in _sample_keys(s):
        for action in OBJECT_ACTIONS:
            ok = action in granted and key_in_scope(s, key)
            add(f"{action} key {key!r}", action, f"{arn}/{key}", "allow" if ok else "deny")
    inside = (s.prefix_dirs[0] if s.prefix_dirs else "") + "file.txt"
    for action in ADMIN_BUCKET_ACTIONS + EXTRA_BUCKET_ADMIN:
        add("bucket administration", action, arn, "deny")
    for action in ADMIN_OBJECT_ACTIONS:
        add("object administration", action, f"{arn}/{inside}", "deny")
    add("another partition's ARN", "s3:GetObject", f"arn:{other_partition(b.region)}:s3:::{bucket}/{inside}", "deny")
    for other in [o for o in b.buckets if o != bucket] + [bucket + "-other"]:
        add(f"another bucket {other}", "s3:GetObject", f"arn:{p}:s3:::{other}/{inside}", "deny")
        add(f"another bucket {other}", "s3:ListBucket", f"arn:{p}:s3:::{other}", "deny",
            {"s3:prefix": s.prefix_dirs[0] if s.prefix_dirs else "x/"})
        add(f"another bucket {other}", "s3:GetBucketLocation", f"arn:{p}:s3:::{other}", "deny")
    list_keys = {"s3:prefix": s.prefix_dirs[0]} if s.prefix_dirs else {}
    for who, caller in other_principals(b):
        add(f"{who}: read", "s3:GetObject", f"{arn}/{inside}", "deny", caller=caller)
        add(f"{who}: write", "s3:PutObject", f"{arn}/{inside}", "deny", caller=caller)
        add(f"{who}: list", "s3:ListBucket", arn, "deny", list_keys, caller=caller)
        add(f"{who}: locate", "s3:GetBucketLocation", arn, "deny", caller=caller)
    return reqs


def statements_by_bucket(b: CrossBundle, doc: dict) -> Tuple[dict, List[str]]:
    """-> ({bucket: the policy the owner puts on it}, [problems]): every
    statement must name exactly one given bucket (its ARN or objects)."""
    per, problems = {bucket: [] for bucket in b.buckets}, []
    for st in iam_engine._listify(doc["Statement"]):
        resources = iam_engine._listify(st.get("Resource", []))
        named = {r.split(":::", 1)[1].split("/", 1)[0] if ":::" in r else r for r in resources}
        if len(named) != 1 or not named <= set(b.buckets):
            problems.append(f"statement {st.get('Sid')} names {sorted(named)}, not one of {b.buckets}")
            continue
        per[named.pop()].append(st)
    return {k: {"Version": "2012-10-17", "Statement": v} for k, v in per.items()}, problems


# --------------------------------------------------------------------------
# KMS key policy
# --------------------------------------------------------------------------

def kms_requests(b: CrossBundle) -> List[XRequest]:
    reqs = []
    key_regions = {kms_key_parts(k)[1] for k in b.kms_keys}
    for key in b.kms_keys:
        kp, kr, acct, _ = kms_key_parts(key)
        sfx = dns_suffix(kr)
        via = f"s3.{kr}.{sfx}"

        def add(name, action, expected, keys, caller=None, isolated_expected=None):
            r = XRequest("kms", f"key in {kr}: {name}", action, key, acct, caller or b.s3_role, keys, expected)
            r.isolated_expected = isolated_expected or expected
            reqs.append(r)

        add("decrypt through S3", "kms:Decrypt", "allow", {"kms:ViaService": via})
        add("generate a data key through S3", "kms:GenerateDataKey",
            "allow" if b.access == "read-write" else "deny", {"kms:ViaService": via})
        for action in ("kms:Decrypt", "kms:GenerateDataKey"):
            add(f"{action} directly", action, "deny", {})
            add(f"{action} through EC2", action, "deny", {"kms:ViaService": f"ec2.{kr}.{sfx}"})
            for region in sorted({OTHER_REGION[kr], b.region} - {kr}):
                # The whole file may sit on every key: through the S3 of
                # another given key's region it is the identity policy that refuses.
                add(f"{action} through S3 of {region}", action, "deny", {"kms:ViaService": f"s3.{region}.{sfx}"},
                    isolated_expected="allow" if region in key_regions and (
                        action == "kms:Decrypt" or b.access == "read-write") else "deny")
        for action in KMS_ADMIN:
            add(action, action, "deny", {"kms:ViaService": via})
        for who, caller in other_principals(b):
            add(f"{who}: decrypt through S3", "kms:Decrypt", "deny", {"kms:ViaService": via}, caller=caller)
    return reqs


# --------------------------------------------------------------------------
# role chaining: the target role's trust and the source role's policy
# --------------------------------------------------------------------------

def trust_requests(b: CrossBundle) -> List[XRequest]:
    reqs, target = [], b.target_role
    ids = b.external_ids

    def add(name, action, expected, keys, caller=None):
        reqs.append(XRequest("target-trust", name, action, target, b.target_account, caller or b.source_role,
                             keys, expected))

    for ext in ids:
        add(f"source role, ExternalId of binding {ext}", "sts:AssumeRole", "allow", {"sts:ExternalId": ext})
    add("source role tags the session", "sts:TagSession", "allow", {})
    add("source role without ExternalId", "sts:AssumeRole", "deny", {})
    add("source role with a wrong ExternalId", "sts:AssumeRole", "deny", {"sts:ExternalId": "wrong"})
    ns, sa = DEFAULT_WORKLOAD
    unbound = [f"{b.region}/{CLUSTER_ACCOUNT}/{b.cluster}/{ns}-other/{sa}",
               f"{b.region}/{CLUSTER_ACCOUNT}/{b.cluster}/{ns}/{sa}-other",
               f"{b.region}/{CLUSTER_ACCOUNT}/{b.cluster}-other/{ns}/{sa}",
               f"{OTHER_REGION[b.region]}/{CLUSTER_ACCOUNT}/{b.cluster}/{ns}/{sa}",
               f"{b.region}/{OTHER_ACCOUNT}/{b.cluster}/{ns}/{sa}",
               f"{b.region}/{CLUSTER_ACCOUNT}/{b.cluster}/{ns}/{sa}/x", ids[0].upper()]
    for bound_ns, bound_sa in b.binds:   # swapped pair
        unbound.append(f"{b.region}/{CLUSTER_ACCOUNT}/{b.cluster}/{bound_ns}/{sa}")
    for ext in unbound:
        if ext not in ids:
            add(f"source role, ExternalId of an unbound association {ext}", "sts:AssumeRole", "deny",
                {"sts:ExternalId": ext})
    callers = [("another role of the cluster account", b.role(CLUSTER_ACCOUNT, name="OtherRole")),
               (ANOTHER_PATH, b.role(CLUSTER_ACCOUNT, path="/elsewhere/")),
               ("the same role name in a third account", b.role(OTHER_ACCOUNT)),
               ("a role of the target account", b.role(b.target_account, name="OtherRole"))]
    for who, caller in callers:
        add(f"{who} with a bound ExternalId", "sts:AssumeRole", "deny", {"sts:ExternalId": ids[0]}, caller)
        add(f"{who} tags a session", "sts:TagSession", "deny", {}, caller)
    return reqs


def source_requests(b: CrossBundle) -> List[XRequest]:
    """The source role's inline policy alone (identity side)."""
    reqs = []

    def add(name, action, resource, account, expected, keys=None):
        reqs.append(XRequest("source", name, action, resource, account, b.source_role, keys or {}, expected))

    for action in ("sts:AssumeRole", "sts:TagSession"):
        add("the target role", action, b.target_role, b.target_account, "allow")
        add("another role of the target account", action, b.role(b.target_account, name="OtherRole"),
            b.target_account, "deny")
        add("the same role name in a third account", action, b.role(OTHER_ACCOUNT), OTHER_ACCOUNT, "deny")
        add(ANOTHER_PATH, action, b.role(b.target_account, path="/elsewhere/"),
            b.target_account, "deny")
    for bucket in b.buckets:
        arn = f"arn:{b.p}:s3:::{bucket}"
        bucket_owner = b.bucket_account or CLUSTER_ACCOUNT
        add(f"S3 in the cluster account: {bucket}", "s3:GetObject", f"{arn}/file.txt", bucket_owner, "deny")
        add(f"S3 in the cluster account: {bucket}", "s3:PutObject", f"{arn}/file.txt", bucket_owner, "deny")
        add(f"S3 in the cluster account: {bucket}", "s3:ListBucket", arn, bucket_owner, "deny")
    add("another STS action", "sts:AssumeRoleWithWebIdentity", b.target_role, b.target_account, "deny")
    add("iam:PassRole", "iam:PassRole", b.target_role, b.target_account, "deny")
    add("every role (wildcard)", "sts:AssumeRole", f"arn:{b.p}:iam::*:role/*", b.target_account, "deny")
    return reqs


def identity_requests(b: CrossBundle) -> List[XRequest]:
    """iam_matrix's matrix for the S3 role's own policy (s3-access-policy.json),
    its S3 resources in the bucket owner's account, its keys in theirs; the
    other side (bucket or key policy) admits the caller's account for
    everything, or is absent in the same account, so the identity side decides."""
    reqs = []
    owner = b.bucket_account or b.s3_account
    for m in iam_matrix.policy_requests(b.shim):
        (action,) = m.actions
        account = m.resource.split(":")[4] if action.startswith("kms:") else owner
        r = XRequest("identity", m.name, action, m.resource, account or owner, b.s3_role, m.keys, m.expected)
        if action.startswith("kms:") or account != b.s3_account:
            r.resource_policy = permissive_resource_policy(b.s3_role)
        reqs.append(r)
    return reqs


# --------------------------------------------------------------------------
# engines
# --------------------------------------------------------------------------

def _node(role_arn: str) -> Node:
    return Node(role_arn, "AROAPODIAMTEST", [], [], {"Version": "2012-10-17", "Statement": []}, None, 0, False,
                False, None, False, {})


def _keys(r: XRequest) -> dict:
    keys = dict(r.keys)
    keys["aws:PrincipalArn"] = r.caller
    keys["aws:PrincipalAccount"] = r.caller.split(":")[4]
    return keys


def principalmapper_decide(r: XRequest):
    keys = _keys(r)
    ident = iam_engine.identity_decision(r.identity, r.action, r.resource, keys)
    if r.resource_policy is None:
        return ident, ""
    matched = resource_policy_matching_statements(_node(r.caller), r.resource_policy, r.action, r.resource,
                                                  iam_engine._context(keys))
    if any(s["Effect"] == "Deny" for s in matched) or ident == iam_engine.EXPLICIT_DENY:
        return iam_engine.EXPLICIT_DENY, ""
    # Cross-account: both sides must allow.
    if ident == iam_engine.ALLOW and any(s["Effect"] == "Allow" for s in matched):
        return iam_engine.ALLOW, ""
    return iam_engine.IMPLICIT_DENY, ""


def simulate_decider(engine):
    def decide(r: XRequest):
        if "*" in r.resource:
            return None, "wildcard resource"
        keys = _keys(r)
        if r.action == "sts:TagSession":
            keys.pop("sts:ExternalId", None)
        # A session ARN carries the role's name but not its path, and
        # iam-simulate matches a session against a role ARN by name: for the
        # same name under another path the caller is the role ARN itself
        # (IAM resolves a role principal to the role's unique id).
        caller = r.caller if ANOTHER_PATH in r.name else session(r.caller)
        return engine.decision(caller, r.action, r.resource, r.resource_account, keys,
                               identity_policies=[r.identity], resource_policy=r.resource_policy)
    return decide


def permissive_resource_policy(caller: str) -> dict:
    """A resource policy that admits the caller's account for everything:
    the identity side alone decides."""
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "AWS": f"arn:{caller.split(':')[1]}:iam::{caller.split(':')[4]}:root"}, "Action": "*", "Resource": "*"}]}


@dataclasses.dataclass
class Docs:
    identity: Optional[dict] = None       # s3-access-policy.json (on the S3 role)
    bucket: Optional[dict] = None
    kms: Optional[dict] = None
    target_trust: Optional[dict] = None
    source: Optional[dict] = None


def requests_with_docs(b: CrossBundle, docs: Docs) -> Tuple[List[XRequest], List[str]]:
    """Every request, in each mode, with the documents it is judged with ->
    (requests, structural problems)."""
    out, problems = [], []

    def both(r: XRequest, resource_policy: dict, chain_identity: dict, isolated_expected=None):
        r.resource_policy = resource_policy
        # Across accounts the other side allowing everything leaves the
        # decision to this document; in the resource's own account a
        # resource policy grants by itself, so the other side grants nothing.
        other_side = ALLOW_ALL if r.caller.split(":")[4] != r.resource_account else EMPTY
        real = copy.copy(r)
        # Another principal has its own identity policy (that other side).
        real.identity = chain_identity if r.caller == own(r) else other_side
        real.name = f"{r.name} (with the identity policy)"
        alone = copy.copy(r)
        alone.identity = other_side
        alone.name = f"{r.name} (this document alone)"
        alone.expected = isolated_expected or r.expected
        out.extend([real, alone])

    def own(r):
        return b.source_role if r.doc == "target-trust" else b.s3_role

    for r in identity_requests(b):
        r.identity = docs.identity
        out.append(r)
    if b.cross_bucket:
        per, problems = statements_by_bucket(b, docs.bucket)
        for bucket in b.buckets:
            for r in bucket_requests(b, bucket):
                both(r, per[bucket], docs.identity)
        if b.kms_keys:
            for r in kms_requests(b):
                both(r, docs.kms, docs.identity, getattr(r, "isolated_expected", None))
    if b.target_account:
        for r in trust_requests(b):
            both(r, docs.target_trust, docs.source)
        for r in source_requests(b):
            r.identity = docs.source
            r.resource_policy = permissive_resource_policy(r.caller)
            out.append(r)
    return out, problems


DOC_FILES = {"identity": "iam/s3-access-policy.json", "bucket": "iam/bucket-policy.json",
             "kms": "iam/kms-key-policy.json", "target_trust": "iam/target-trust-policy.json",
             "source": "iam/source-role-policy.json"}


def expected_files(b: CrossBundle) -> set:
    want = {"identity"}
    if b.cross_bucket:
        want.add("bucket")
        if b.kms_keys:
            want.add("kms")
    if b.target_account:
        want |= {"target_trust", "source"}
    return want


def evaluate(b: CrossBundle, docs: Docs, engines):
    """-> (Counter of checks per engine, [failure lines], Counter unjudged)"""
    checks, failures, unjudged = collections.Counter(), [], collections.Counter()
    reqs, problems = requests_with_docs(b, docs)
    for problem in problems:
        failures.append(f"{b.name} bucket-policy: {problem}")
    checks["structure"] += 1
    for r in reqs:
        for name, decide in engines:
            got, why = decide(r)
            if got is None:
                unjudged[f"{name}: {why}"] += 1
                continue
            checks[name] += 1
            verdict = "allow" if got == iam_engine.ALLOW else "deny"
            if verdict != r.expected:
                failures.append(f"[{name}] {b.name} {r.doc}: {r.label()}: expected {r.expected}, got {got}")
    return checks, failures, unjudged


def engines_for(simulate) -> list:
    engines = [("principalmapper", principalmapper_decide)]
    if simulate is not None:
        engines.append(("iam-simulate", simulate_decider(simulate)))
    return engines


def run(podiam: str, work, simulate) -> bool:
    import iam_cross_controls  # pylint: disable=import-outside-toplevel
    engines = engines_for(simulate)
    ok = iam_cross_controls.run_controls(engines)
    total, failed, per_engine, unjudged, lines = 0, 0, collections.Counter(), collections.Counter(), []
    nreq = 0
    for b in cross_bundles():
        outcome = generate(podiam, b.args(), work / b.name)
        if outcome.code != 0:
            lines.append(f"FAIL {b.name}: generate exit {outcome.code}: {outcome.first_error_line()}")
            failed += 1
            continue
        want = expected_files(b)
        docs = Docs()
        for field, path in DOC_FILES.items():
            present = path in outcome.files
            if present != (field in want):
                lines.append(f"FAIL {b.name}: {path} {'written' if present else 'missing'}, expected "
                             f"{'it' if field in want else 'no such file'}")
                failed += 1
            if present:
                setattr(docs, field, json.loads((outcome.out / path).read_text()))
        if any(getattr(docs, f) is None for f in want):
            continue
        checks, failures, skipped = evaluate(b, docs, engines)
        nreq += len(requests_with_docs(b, docs)[0])
        per_engine += checks
        unjudged += skipped
        failed += len(failures)
        lines += ["FAIL " + f for f in failures]
    for line in lines[:200]:
        print(line)
    if len(lines) > 200:
        print(f"... and {len(lines) - 200} more")
    for why, n in sorted(unjudged.items()):
        print(f"iam-semantics cross-account: not judged by {why}: {n} requests")
    total = sum(per_engine.values())
    print(f"iam-semantics cross-account: {len(cross_bundles())} bundles, {nreq} requests, {total} checks ("
          + ", ".join(f"{e}: {n}" for e, n in sorted(per_engine.items())) + f"), {failed} failed")
    return ok and failed == 0
