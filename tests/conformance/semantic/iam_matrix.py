"""The bundles to generate and, for each, the requests and their expected outcome.

Every expectation is derived here from the parameters handed to podiam and
from AWS semantics (facts.md and the issue's access profiles), never from
podiam's code or output:

- read-write grants s3:ListBucket and s3:GetBucketLocation on the bucket ARN
  and s3:GetObject, s3:PutObject, s3:DeleteObject on its objects; read-only
  grants ListBucket, GetBucketLocation and GetObject; --multipart-cleanup
  adds s3:AbortMultipartUpload (and read-only with it is refused, exit 2);
- --prefix P limits objects to B/P/* and s3:ListBucket to s3:prefix "P/" or
  "P/*"; nothing else is granted (bucket administration, ACLs, other
  buckets, other partitions, "*");
- --kms-key arn:<p>:kms:<kr>:<acct>:key/<id> grants kms:Decrypt (and
  kms:GenerateDataKey for read-write) on that key only, when the call comes
  through S3 of the KEY's region: kms:ViaService = s3.<kr>.<DNS suffix>;
- Pod Identity: the pods.eks.amazonaws.com service calls sts:AssumeRole and
  sts:TagSession with the session tags EKS attaches (aws:RequestTag/*); by
  default only the bound namespace, service account and cluster (ARN: name,
  region, and the account when --account-id is given) get the role;
  --trust-minimal lets any association in the account use it;
  --trust-source-account pins aws:SourceAccount; --trust-source-arn pins
  aws:SourceArn to this cluster's associations;
- s3:PutObject can set an ACL itself (x-amz-acl, x-amz-grant-*) without
  s3:PutObjectAcl: an upload naming a canned ACL other than private or
  bucket-owner-full-control, or any grant header, is refused; an upload with
  no ACL header or a private one is not;
- IRSA: the cluster's OIDC provider (Federated) calls
  sts:AssumeRoleWithWebIdentity with <provider>:sub =
  system:serviceaccount:<ns>:<sa> and <provider>:aud = sts.amazonaws.com.
- Bindings (issue 11): the role admits every bound workload, each
  (cluster, namespace, service account) as a whole and nothing else: never a
  namespace of one binding with the service account of another (a swapped
  pair), never one cluster's workload on another cluster. Under IRSA a
  namespace or service account holding '*' or '?' is a pattern with IAM's
  StringLike meaning (like() below: '*' any run of characters, the empty
  one too, '?' exactly one character, case-sensitive), matched against the
  namespace and the service account separately; each binding belongs to
  its own cluster's OIDC provider. --method both admits each workload by
  Pod Identity and by IRSA, and neither caller through the other's
  statements.
"""

import dataclasses
import re
from typing import List, Optional, Tuple

from bundles import (DEFAULT_NAMESPACE, DEFAULT_SERVICE_ACCOUNT, OTHER_REGION, Binding, Bundle, Workload,
                     dns_suffix, is_pattern, kms_key_parts, other_partition, partition)

ACCOUNT = "123456789012"        # the account passed as --account-id
OTHER_ACCOUNT = "210987654321"  # someone else's account
OIDC_ID = "EXAMPLED539D4633E53DE1B71EXAMPLE"
OTHER_OIDC_ID = "0123456789ABCDEF0123456789ABCDEF"
SECOND_OIDC_ID = "B0B0B0B0C1C1C1C1D2D2D2D2E3E3E3E3"   # a second bound cluster's provider
KMS_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KMS_ID_2 = "5678efab-56ef-78ab-90cd-567890abcdef"
OTHER_KMS_ID = "9999aaaa-99aa-99aa-99aa-999999999999"

BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation")
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
# Never granted by any profile: bucket administration, ACLs, other listings.
ADMIN_BUCKET_ACTIONS = ("s3:PutBucketPolicy", "s3:GetBucketPolicy", "s3:DeleteBucketPolicy",
                        "s3:DeleteBucket", "s3:PutBucketAcl", "s3:PutBucketPublicAccessBlock",
                        "s3:PutLifecycleConfiguration", "s3:ListBucketMultipartUploads",
                        "s3:ListBucketVersions")
ADMIN_OBJECT_ACTIONS = ("s3:PutObjectAcl", "s3:GetObjectAcl", "s3:DeleteObjectVersion",
                        "s3:GetObjectVersion", "s3:PutObjectTagging", "s3:ListMultipartUploadParts")


@dataclasses.dataclass
class Request:
    """One request: `actions` all must be allowed for the call to succeed."""

    doc: str                    # "policy" or "trust"
    name: str
    actions: Tuple[str, ...]
    resource: str
    keys: dict
    expected: str               # "allow" or "deny"
    principal: Optional[Tuple[str, str]] = None
    category: Optional[str] = None   # binding requests: what the request is (bound workload, swapped pair...)

    def label(self) -> str:
        return f"{self.name} [{' + '.join(self.actions)} on {self.resource}]"


# --------------------------------------------------------------------------
# permission policy (iam/s3-access-policy.json)
# --------------------------------------------------------------------------

def granted_object_actions(b: Bundle) -> set:
    granted = {"s3:GetObject"}
    if b.effective_access == "read-write":
        granted |= {"s3:PutObject", "s3:DeleteObject"}
    if b.multipart:
        granted.add("s3:AbortMultipartUpload")
    return granted


def key_in_scope(b: Bundle, key: str) -> bool:
    return not b.prefix_dirs or any(key.startswith(d) for d in b.prefix_dirs)


def list_prefix_in_scope(b: Bundle, prefix: Optional[str]) -> bool:
    """s3:ListBucket with this s3:prefix (None: the key is absent)."""
    if not b.prefix_dirs:
        return True
    return prefix is not None and any(prefix.startswith(d) for d in b.prefix_dirs)


def _sample_keys(b: Bundle) -> List[str]:
    if not b.prefix_dirs:
        return ["file.txt", "dir/sub/file.bin", "a"]
    keys = ["other/file.txt", "file-at-root.txt"]
    for d in b.prefix_dirs:
        bare = d[:-1]
        keys += [d + "file.txt", d + "deep/er/file.bin", d,  # inside (the folder marker too)
                 bare,                                       # the prefix itself, no "/"
                 bare + "2/file.txt",                        # a sibling prefix P2/
                 bare + "file.txt",                          # no separator
                 "x" + d + "file.txt"]                       # P/ not at the start
        if "/" in bare:
            keys.append(bare.rsplit("/", 1)[0] + "/file.txt")  # the parent folder
    return keys


def _sample_list_prefixes(b: Bundle) -> List[Optional[str]]:
    values: List[Optional[str]] = [None, "", "other/"]
    for d in b.prefix_dirs:
        bare = d[:-1]
        values += [d, d + "sub/", d + "x", bare, bare + "2/", "x" + d]
        if "/" in bare:
            values.append(bare.rsplit("/", 1)[0] + "/")
    return values


def policy_requests(b: Bundle) -> List[Request]:
    assert b.effective_access is not None, f"{b.name}: pass --access with a prefix"
    p, reqs = b.partition, []
    granted = granted_object_actions(b)

    def add(name, action, resource, expected, keys=None):
        reqs.append(Request("policy", name, (action,), resource, keys or {}, expected))

    for bucket in b.buckets:
        arn = f"arn:{p}:s3:::{bucket}"
        add(f"{bucket}: locate bucket", "s3:GetBucketLocation", arn, "allow")
        for prefix in _sample_list_prefixes(b):
            keys = {} if prefix is None else {"s3:prefix": prefix}
            shown = "no s3:prefix" if prefix is None else f"s3:prefix={prefix!r}"
            add(f"{bucket}: list with {shown}", "s3:ListBucket", arn,
                "allow" if list_prefix_in_scope(b, prefix) else "deny", keys)
        for key in _sample_keys(b):
            for action in OBJECT_ACTIONS:
                ok = action in granted and key_in_scope(b, key)
                add(f"{bucket}: {action} key {key!r}", action, f"{arn}/{key}", "allow" if ok else "deny")
        inside = (b.prefix_dirs[0] if b.prefix_dirs else "") + "file.txt"
        for action in ADMIN_BUCKET_ACTIONS:
            add(f"{bucket}: bucket administration", action, arn, "deny")
        for action in ADMIN_OBJECT_ACTIONS:
            add(f"{bucket}: object administration", action, f"{arn}/{inside}", "deny")
        # Object actions on the bucket ARN and bucket actions on objects.
        add(f"{bucket}: object action on the bucket ARN", "s3:GetObject", arn, "deny")
        add(f"{bucket}: bucket action on an object ARN", "s3:ListBucket", f"{arn}/{inside}", "deny",
            {"s3:prefix": inside})
        # The same bucket in another partition, and look-alike buckets.
        wrong = f"arn:{other_partition(b.region)}:s3:::{bucket}"
        add(f"{bucket}: another partition's ARN", "s3:GetObject", f"{wrong}/{inside}", "deny")
        add(f"{bucket}: another partition's ARN", "s3:ListBucket", wrong, "deny",
            {"s3:prefix": b.prefix_dirs[0] if b.prefix_dirs else "x/"})
        for other in (bucket + "x", bucket + "-other"):
            if other in b.buckets:
                continue
            add(f"other bucket {other}", "s3:GetObject", f"arn:{p}:s3:::{other}/{inside}", "deny")
            add(f"other bucket {other}", "s3:ListBucket", f"arn:{p}:s3:::{other}", "deny",
                {"s3:prefix": b.prefix_dirs[0] if b.prefix_dirs else "x/"})
    reqs += acl_requests(b)
    for action in ("s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteBucket"):
        add("every bucket", action, f"arn:{p}:s3:::*", "deny")
        add("every resource", action, "*", "deny")
    add("list all buckets", "s3:ListAllMyBuckets", "*", "deny")
    add("create a bucket", "s3:CreateBucket", f"arn:{p}:s3:::new-bucket-by-pod", "deny")
    add("another service", "iam:PassRole", f"arn:{p}:iam::{ACCOUNT}:role/admin", "deny")
    add("another service", "sts:AssumeRole", f"arn:{p}:iam::{ACCOUNT}:role/admin", "deny")
    reqs += kms_requests(b)
    return reqs


# Canned ACLs an upload may set and still keep the object private.
PRIVATE_ACLS = ("private", "bucket-owner-full-control")
SHARING_ACLS = ("public-read", "public-read-write", "authenticated-read", "aws-exec-read",
                "bucket-owner-read")
GRANT_HEADERS = ("s3:x-amz-grant-read", "s3:x-amz-grant-full-control", "s3:x-amz-grant-read-acp",
                 "s3:x-amz-grant-write-acp")
EVERYONE = "uri=http://acs.amazonaws.com/groups/global/AllUsers"


def acl_requests(b: Bundle) -> List[Request]:
    """Uploads inside the granted keys that set ACLs: only private ones pass."""
    if "s3:PutObject" not in granted_object_actions(b):
        return []
    reqs = []
    key = (b.prefix_dirs[0] if b.prefix_dirs else "") + "acl-test.txt"
    for bucket in b.buckets:
        obj = f"arn:{b.partition}:s3:::{bucket}/{key}"

        def add(name, keys, expected):
            reqs.append(Request("policy", f"{bucket}: upload {name}", ("s3:PutObject",), obj, keys, expected))

        for acl in PRIVATE_ACLS:
            add(f"with x-amz-acl {acl}", {"s3:x-amz-acl": acl}, "allow")
        for acl in SHARING_ACLS:
            add(f"with x-amz-acl {acl}", {"s3:x-amz-acl": acl}, "deny")
        for header in GRANT_HEADERS:
            add(f"with {header}", {header: EVERYONE}, "deny")
            add(f"with {header} and x-amz-acl private", {header: EVERYONE, "s3:x-amz-acl": "private"}, "deny")
    return reqs


def kms_requests(b: Bundle) -> List[Request]:
    reqs = []

    def add(name, action, resource, via, expected):
        keys = {} if via is None else {"kms:ViaService": via}
        shown = "no kms:ViaService" if via is None else f"via {via}"
        reqs.append(Request("policy", f"{name}, {shown}", (action,), resource, keys, expected))

    if not b.kms_keys:
        region, suffix = b.region, dns_suffix(b.region)
        key = f"arn:{b.partition}:kms:{region}:{ACCOUNT}:key/{KMS_ID}"
        add("kms without --kms-key", "kms:Decrypt", key, f"s3.{region}.{suffix}", "deny")
        add("kms without --kms-key", "kms:GenerateDataKey", key, f"s3.{region}.{suffix}", "deny")
        return reqs
    given = set(b.kms_keys)
    for key in b.kms_keys:
        kp, kr, acct, key_id = kms_key_parts(key)
        suffix = dns_suffix(kr)
        via_s3 = f"s3.{kr}.{suffix}"
        add(f"key in {kr}: decrypt", "kms:Decrypt", key, via_s3, "allow")
        add(f"key in {kr}: generate a data key", "kms:GenerateDataKey", key, via_s3,
            "allow" if b.effective_access == "read-write" else "deny")
        for action in ("kms:Decrypt", "kms:GenerateDataKey"):
            if kr != b.region:
                add(f"key in {kr}: {action} through the cluster region's S3", action, key,
                    f"s3.{b.region}.{dns_suffix(b.region)}", "deny")
            if OTHER_REGION[kr] != b.region:
                add(f"key in {kr}: {action} through another region's S3", action, key,
                    f"s3.{OTHER_REGION[kr]}.{suffix}", "deny")
            add(f"key in {kr}: {action} through EC2", action, key, f"ec2.{kr}.{suffix}", "deny")
            add(f"key in {kr}: {action} directly", action, key, None, "deny")
        for action in ("kms:Encrypt", "kms:ReEncryptFrom", "kms:CreateGrant", "kms:ScheduleKeyDeletion",
                       "kms:PutKeyPolicy", "kms:DescribeKey"):
            add(f"key in {kr}: {action}", action, key, via_s3, "deny")
        other = f"arn:{kp}:kms:{kr}:{acct}:key/{OTHER_KMS_ID}"
        if other not in given:
            add(f"another key in {kr}", "kms:Decrypt", other, via_s3, "deny")
        wrong = f"arn:{other_partition(kr)}:kms:{kr}:{acct}:key/{key_id}"
        add(f"key in {kr}: another partition's ARN", "kms:Decrypt", wrong, via_s3, "deny")
        add(f"key in {kr}: every key", "kms:Decrypt", f"arn:{kp}:kms:{kr}:{acct}:key/*", via_s3, "deny")
    return reqs


# --------------------------------------------------------------------------
# trust policy (iam/trust-policy.json)
# --------------------------------------------------------------------------

POD_IDENTITY_SERVICE = "pods.eks.amazonaws.com"
IRSA_AUDIENCE = "sts.amazonaws.com"   # in every partition (facts.md)


def role_arn(b: Bundle) -> str:
    return f"arn:{b.partition}:iam::{b.account_id or ACCOUNT}:role/role-under-test"


def _other(value: str, suffix: str) -> str:
    """A value that is not the bound one."""
    return value + suffix


def pod_identity_call(b: Bundle, name: str, expected: str, *, namespace=None, service_account=None,
                      cluster=None, region=None, account=None, service=POD_IDENTITY_SERVICE,
                      tags=True, source_account="same", source_arn="same") -> Request:
    """EKS Auth assuming the role for a pod: sts:AssumeRole with the session
    tags (hence also sts:TagSession), or without them when the association
    disables session tags."""
    region = region or b.region
    account = account or b.account_id or ACCOUNT
    cluster = cluster or b.cluster
    p = partition(region)
    keys = {}
    if tags:
        tag_values = {
            "eks-cluster-arn": f"arn:{p}:eks:{region}:{account}:cluster/{cluster}",
            "eks-cluster-name": cluster,
            "kubernetes-namespace": namespace or b.ns,
            "kubernetes-service-account": service_account or b.sa,
            "kubernetes-pod-name": "test-s3-mount-2ea4-head",
            "kubernetes-pod-uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        }
        keys.update({f"aws:RequestTag/{k}": v for k, v in tag_values.items()})
        keys["aws:TagKeys"] = list(tag_values)
    if source_account is not None:
        keys["aws:SourceAccount"] = account if source_account == "same" else source_account
    if source_arn is not None:
        arn_cluster = cluster if source_arn == "same" else source_arn
        keys["aws:SourceArn"] = (f"arn:{p}:eks:{region}:{account}:podidentityassociation/"
                                 f"{arn_cluster}/a-0a1b2c3d4e5f6a7b8")
    actions = ("sts:AssumeRole", "sts:TagSession") if tags else ("sts:AssumeRole",)
    return Request("trust", name, actions, role_arn(b), keys, expected, ("Service", service))


def pod_identity_requests(b: Bundle) -> List[Request]:
    pinned = not b.trust_minimal
    if_pinned = "deny" if pinned else "allow"
    reqs = [
        pod_identity_call(b, "the bound pod", "allow"),
        pod_identity_call(b, "a pod in another namespace", if_pinned, namespace=_other(b.ns, "-other")),
        pod_identity_call(b, "a pod with another service account", if_pinned,
                          service_account=_other(b.sa, "-other")),
        pod_identity_call(b, "a pod of another cluster", if_pinned, cluster=_other(b.cluster, "-other")),
        pod_identity_call(b, "a same-named cluster in another region", if_pinned,
                          region=OTHER_REGION[b.region]),
        pod_identity_call(b, "an association without session tags", if_pinned, tags=False),
        *(pod_identity_call(b, f"another service principal {service}", "deny", service=service)
          for service in ("ec2.amazonaws.com", "eks.amazonaws.com")),
    ]
    # Another account's cluster of the same name and region: the role can only
    # tell it apart when it knows its own account.
    if b.account_id and (pinned or b.trust_source_account):
        reqs.append(pod_identity_call(b, "a same-named cluster in another account", "deny",
                                      account=OTHER_ACCOUNT))
    if b.trust_source_account:
        reqs.append(pod_identity_call(b, "the bound pod's tags from another account (aws:SourceAccount)",
                                      "deny", source_account=OTHER_ACCOUNT))
        reqs.append(pod_identity_call(b, "the bound pod's tags without aws:SourceAccount", "deny",
                                      source_account=None))
    if b.trust_source_arn:
        reqs.append(pod_identity_call(b, "the bound pod's tags from another cluster's association "
                                      "(aws:SourceArn)", "deny", source_arn=_other(b.cluster, "-other")))
    return reqs


def issuer_host_path(issuer: str) -> str:
    return issuer.removeprefix("https://").rstrip("/")


def irsa_call(b: Bundle, name: str, expected: str, *, host_path=None, account=None, namespace=None,
              service_account=None, audience=IRSA_AUDIENCE, action="sts:AssumeRoleWithWebIdentity",
              provider_partition=None) -> Request:
    host_path = host_path or issuer_host_path(b.oidc_issuer)
    provider = (f"arn:{provider_partition or b.partition}:iam::{account or b.account_id}:"
                f"oidc-provider/{host_path}")
    keys = {
        f"{host_path}:sub": f"system:serviceaccount:{namespace or b.ns}:{service_account or b.sa}",
        f"{host_path}:aud": audience,
    }
    return Request("trust", name, (action,), role_arn(b), keys, expected, ("Federated", provider))


def irsa_requests(b: Bundle) -> List[Request]:
    hp = issuer_host_path(b.oidc_issuer)
    host = hp.split("/", 1)[0]
    other_region = OTHER_REGION[b.region]
    return [
        irsa_call(b, "the bound service account", "allow"),
        irsa_call(b, "another namespace", "deny", namespace=_other(b.ns, "-other")),
        irsa_call(b, "another service account", "deny", service_account=_other(b.sa, "-other")),
        irsa_call(b, "another OIDC provider (other id)", "deny", host_path=f"{host}/id/{OTHER_OIDC_ID}"),
        irsa_call(b, "another OIDC provider (other region's host)", "deny",
                  host_path=f"oidc.eks.{other_region}.{dns_suffix(other_region)}/id/{OIDC_ID}"),
        irsa_call(b, "the same provider in another account", "deny", account=OTHER_ACCOUNT),
        irsa_call(b, "the same provider in another partition", "deny",
                  provider_partition=other_partition(b.region)),
        *(irsa_call(b, f"another audience {aud}", "deny", audience=aud)
          for aud in ("sts.amazonaws.com.cn", f"sts.{b.region}.{dns_suffix(b.region)}",
                      "https://kubernetes.default.svc")),
        irsa_call(b, "another action", "deny", action="sts:AssumeRole"),
        Request("trust", "the Pod Identity service", ("sts:AssumeRole", "sts:TagSession"), role_arn(b),
                {}, "deny", ("Service", POD_IDENTITY_SERVICE)),
    ]


def trust_requests(b: Bundle) -> List[Request]:
    reqs: List[Request] = []
    if b.method in ("irsa", "both"):
        reqs += irsa_requests(b)
    if b.method in ("pod-identity", "both"):
        reqs += pod_identity_requests(b)
    if b.bindings or b.method == "both":
        reqs += binding_requests(b)
    return reqs


# --------------------------------------------------------------------------
# bindings (issue 11): every bound workload admitted, every near miss refused
# --------------------------------------------------------------------------

def like(pattern: str, value: str) -> bool:
    """IAM's StringLike, written from its documented meaning (not with fnmatch
    or re, whose '[' and escapes differ): '*' matches any run of characters,
    the empty one too, '?' exactly one character; everything else matches
    itself, case-sensitively. A pattern without '*' or '?' is equality."""
    reach = [True] + [False] * len(value)   # reach[j]: the pattern so far matches value[:j]
    for c in pattern:
        if c == "*":
            run, nxt = False, []
            for j in range(len(value) + 1):
                run = run or reach[j]
                nxt.append(run)
        else:
            nxt = [False] + [reach[j - 1] and (c == "?" or c == value[j - 1]) for j in range(1, len(value) + 1)]
        reach = nxt
    return reach[-1]


LIKE_CASES = [  # (pattern, value, matches): the matcher's own test
    ("team-*", "team-a", True), ("team-*", "team-", True), ("team-*", "teams-x", False),
    ("team-*", "team", False), ("team-*", "xteam-a", False), ("job-?", "job-1", True),
    ("job-?", "job-10", False), ("job-?", "job-", False), ("*", "", True), ("*", "anything", True),
    ("a*b*c", "abc", True), ("a*b*c", "axxbyyc", True), ("a*b*c", "acb", False), ("?*", "", False),
    ("Team-*", "team-a", False), ("team-a", "team-a", True), ("team-a", "team-ab", False),
    ("*:runner", "x:runner", True), ("**", "x", True), ("a?c", "abc", True), ("a?c", "ac", False),
]

# Kubernetes names: a namespace is a DNS-1123 label, a service account a
# DNS-1123 subdomain. Near misses that no pod could carry are left out.
NAMESPACE_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
SERVICE_ACCOUNT_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def _dedupe(items) -> list:
    return list(dict.fromkeys(items))


def _fill(pattern: str, star: str, one: str) -> str:
    return pattern.replace("*", star).replace("?", one)


def names_inside(name: str) -> List[str]:
    """The bound name, or for a pattern names it matches ('*' empty, short, long)."""
    if not is_pattern(name):
        return [name]
    return _dedupe(_fill(name, star, one) for star, one in (("", "1"), ("x", "z"), ("x-y9", "7")))


def names_outside(name: str) -> List[str]:
    """Names next to a bound name or pattern that it does not match: a
    suffix, a leading or trailing extra character, '?' filled with two
    characters or none, a letter inside the literal part before a '*'
    (team-* -> teams-x), the literal part alone (team-* -> team)."""
    if not is_pattern(name):
        return [name + "-other"]
    base = _fill(name, "x", "1")
    candidates = ["x" + base, base + "x", _fill(name, "x", "10"), _fill(name, "x", "")]
    literal = name.split("*")[0]
    if "*" in name and literal:
        rest = _fill(name[len(literal):], "x", "1")
        candidates.append(_fill(literal[:-1], "x", "1") + "s" + _fill(literal[-1], "x", "1") + rest)
        candidates.append(_fill(literal, "x", "1").rstrip("-."))
    return _dedupe(c for c in candidates if c and not like(name, c))


def _matches(w: Workload, namespace: str, service_account: str) -> bool:
    return like(w.namespace, namespace) and like(w.service_account, service_account)


def near_miss_category(here: List[Workload], elsewhere: List[Workload], namespace: str, service_account: str,
                       outside: set) -> str:
    """Why a (namespace, service account) on one cluster (provider) is not
    admitted, from the bindings: `here` are that cluster's, `elsewhere` the
    other clusters'."""
    if any(_matches(w, namespace, service_account) for w in elsewhere):
        return "another cluster"
    if any(like(w.namespace, namespace) for w in here) and any(like(w.service_account, service_account)
                                                               for w in here):
        return "swapped pair"
    if namespace in outside or service_account in outside:
        return "name outside a wildcard"
    if any(like(w.service_account, service_account) for w in here):
        return "another namespace"
    if any(like(w.namespace, namespace) for w in here):
        return "another service account"
    return "an unbound cluster" if not here else "an unbound pair"


def _candidate_names(b: Bundle):
    """Namespaces and service accounts to try: every bound name (or names a
    pattern matches), and the near misses of each; -> (namespaces, service
    accounts, the names generated as outside a pattern)."""
    namespaces, accounts, outside = [], [], set()
    for w in b.workloads:
        namespaces += names_inside(w.namespace) + names_outside(w.namespace)
        accounts += names_inside(w.service_account) + names_outside(w.service_account)
        for name in (w.namespace, w.service_account):
            if is_pattern(name):
                outside.update(names_outside(name))
    namespaces = [n for n in _dedupe(namespaces) if NAMESPACE_RE.fullmatch(n) and len(n) <= 63]
    accounts = [n for n in _dedupe(accounts) if SERVICE_ACCOUNT_RE.fullmatch(n) and len(n) <= 253]
    return namespaces, accounts, outside


def pod_identity_admits(b: Bundle, *, cluster: str, region: str, account: str, namespace: str,
                        service_account: str, association_cluster: str) -> bool:
    """An EKS Auth call with session tags for this pod (aws:SourceAccount the
    pod's account, aws:SourceArn an association of `association_cluster`)."""
    if b.trust_minimal:
        return True
    if region != b.region or (b.account_id and account != b.account_id):
        return False
    return any(w.cluster == cluster and w.namespace == namespace and w.service_account == service_account
               and (not b.trust_source_arn or association_cluster == w.cluster) for w in b.workloads)


def irsa_admits(b: Bundle, *, host_path: str, account: str, provider_partition: str, namespace: str,
                service_account: str, audience: str = IRSA_AUDIENCE,
                action: str = "sts:AssumeRoleWithWebIdentity") -> bool:
    """A web identity token of this provider for system:serviceaccount:NS:SA."""
    if action != "sts:AssumeRoleWithWebIdentity" or audience != IRSA_AUDIENCE:
        return False
    if account != b.account_id or provider_partition != b.partition:
        return False
    return any(issuer_host_path(w.oidc_issuer) == host_path and _matches(w, namespace, service_account)
               for w in b.workloads)


def _verdict(ok: bool) -> str:
    return "allow" if ok else "deny"


def _bound_category(here: List[Workload], namespace: str, service_account: str) -> str:
    patterned = all(is_pattern(w.namespace) or is_pattern(w.service_account)
                    for w in here if _matches(w, namespace, service_account))
    return "bound workload (through a pattern)" if patterned else "bound workload"


def binding_requests(b: Bundle) -> List[Request]:
    """Every cluster (provider) x namespace x service account of the
    candidates, each judged by the bindings; then per bound workload the
    near misses of its other attributes, and callers of one method through
    the other's statements."""
    reqs: List[Request] = []
    namespaces, accounts, outside = _candidate_names(b)
    workloads = b.workloads

    def add(req: Request, category: str) -> None:
        req.category = category
        reqs.append(req)

    if b.method in ("pod-identity", "both"):
        clusters = _dedupe([w.cluster for w in workloads] + [b.cluster + "-other"])
        for cluster in clusters:
            here = [w for w in workloads if w.cluster == cluster]
            elsewhere = [w for w in workloads if w.cluster != cluster]
            for ns in namespaces:
                for sa in accounts:
                    ok = pod_identity_admits(b, cluster=cluster, region=b.region, account=b.account_id or ACCOUNT,
                                             namespace=ns, service_account=sa, association_cluster=cluster)
                    cat = _bound_category(here, ns, sa) if ok else near_miss_category(here, elsewhere, ns, sa,
                                                                                       outside)
                    add(pod_identity_call(b, f"{cat} (Pod Identity): cluster {cluster}, {ns}:{sa}", _verdict(ok),
                                          namespace=ns, service_account=sa, cluster=cluster), cat)
        for w in workloads:
            who = f"cluster {w.cluster}, {w.namespace}:{w.service_account}"
            pod = dict(namespace=w.namespace, service_account=w.service_account, cluster=w.cluster)
            other_region = OTHER_REGION[b.region]
            add(pod_identity_call(b, f"near miss (Pod Identity): a same-named cluster in {other_region}, {who}",
                                  "allow" if b.trust_minimal else "deny", region=other_region, **pod),
                "another cluster")
            if b.account_id:
                add(pod_identity_call(b, f"near miss (Pod Identity): a same-named cluster in another account, "
                                      f"{who}", "deny", account=OTHER_ACCOUNT, **pod), "another cluster")
            add(pod_identity_call(b, f"near miss (Pod Identity): no session tags, {who}",
                                  "allow" if b.trust_minimal else "deny", tags=False, **pod), "no session tags")
            if b.trust_source_arn:
                for cluster in clusters:
                    if cluster == w.cluster:
                        continue
                    ok = pod_identity_admits(b, cluster=w.cluster, region=b.region, account=b.account_id or ACCOUNT,
                                             namespace=w.namespace, service_account=w.service_account,
                                             association_cluster=cluster)
                    add(pod_identity_call(b, f"near miss (Pod Identity): {who} through an association of "
                                          f"cluster {cluster}", _verdict(ok), source_arn=cluster, **pod),
                        "another cluster")
            # The OIDC provider calling with this pod's session tags.
            provider_host = issuer_host_path(w.oidc_issuer or oidc_issuer(b.region))
            tagged = pod_identity_call(b, "", "deny", **pod)
            add(dataclasses.replace(
                tagged, name=f"principal mismatch: an OIDC provider with the session tags of {who}",
                principal=("Federated", f"arn:{b.partition}:iam::{b.account_id or ACCOUNT}:oidc-provider/"
                                        f"{provider_host}")), "principal mismatch")

    if b.method in ("irsa", "both"):
        providers = _dedupe([issuer_host_path(w.oidc_issuer) for w in workloads]
                            + [f"{issuer_host_path(b.oidc_issuer).split('/', 1)[0]}/id/{OTHER_OIDC_ID}"])
        for hp in providers:
            here = [w for w in workloads if issuer_host_path(w.oidc_issuer) == hp]
            elsewhere = [w for w in workloads if issuer_host_path(w.oidc_issuer) != hp]
            for ns in namespaces:
                for sa in accounts:
                    ok = irsa_admits(b, host_path=hp, account=b.account_id, provider_partition=b.partition,
                                     namespace=ns, service_account=sa)
                    cat = _bound_category(here, ns, sa) if ok else near_miss_category(here, elsewhere, ns, sa,
                                                                                       outside)
                    add(irsa_call(b, f"{cat} (IRSA): provider {hp}, {ns}:{sa}", _verdict(ok), host_path=hp,
                                  namespace=ns, service_account=sa), cat)
        for w in workloads:
            hp = issuer_host_path(w.oidc_issuer)
            ns, sa = names_inside(w.namespace)[-1], names_inside(w.service_account)[-1]
            who = f"provider {hp}, {ns}:{sa}"
            token = dict(host_path=hp, namespace=ns, service_account=sa)
            for aud in ("sts.amazonaws.com.cn", f"sts.{b.region}.{dns_suffix(b.region)}",
                        "https://kubernetes.default.svc", ""):
                add(irsa_call(b, f"near miss (IRSA): audience {aud!r}, {who}", "deny", audience=aud, **token),
                    "wrong audience")
            add(irsa_call(b, f"near miss (IRSA): the provider in another account, {who}", "deny",
                          account=OTHER_ACCOUNT, **token), "another cluster")
            add(irsa_call(b, f"near miss (IRSA): the provider in another partition, {who}", "deny",
                          provider_partition=other_partition(b.region), **token), "another cluster")
            bound = irsa_call(b, "", "deny", **token)
            # The Pod Identity service presenting this workload's token keys.
            add(dataclasses.replace(bound, name=f"principal mismatch: the Pod Identity service with the token "
                                                f"of {who}", principal=("Service", POD_IDENTITY_SERVICE)),
                "principal mismatch")
            add(dataclasses.replace(bound, name=f"principal mismatch: the Pod Identity service, sts:AssumeRole "
                                                f"with the token keys of {who}",
                                    actions=("sts:AssumeRole", "sts:TagSession"),
                                    principal=("Service", POD_IDENTITY_SERVICE)), "principal mismatch")
            add(dataclasses.replace(bound, name=f"principal mismatch: the provider calling sts:AssumeRole with "
                                                f"the token keys of {who}",
                                    actions=("sts:AssumeRole", "sts:TagSession")), "principal mismatch")
    return reqs

# --------------------------------------------------------------------------
# the bundles
# --------------------------------------------------------------------------

def kms_arn(region: str, key_id: str = KMS_ID) -> str:
    return f"arn:{partition(region)}:kms:{region}:{ACCOUNT}:key/{key_id}"


def oidc_issuer(region: str, https: bool = True, oidc_id: str = OIDC_ID) -> str:
    return f"{'https://' if https else ''}oidc.eks.{region}.{dns_suffix(region)}/id/{oidc_id}"


def binding_bundles(r: str) -> List[Bundle]:
    """The binding shapes of issue 11 in region r."""
    issuer, second = oidc_issuer(r), oidc_issuer(r, https=False, oidc_id=SECOND_OIDC_ID)
    namespaces = [Binding("team-b", "reader"), Binding("team-a", "writer")]   # first: team-a:runner
    wildcards = [Binding("team-*", "reader"), Binding("ns", "job-?")]
    irsa = dict(method="irsa", account_id=ACCOUNT, oidc_issuer=issuer)
    first = dict(namespace="team-a", service_account="runner")
    return [
        # Several namespaces, two service accounts in one of them; swapped pairs
        # team-a:reader and team-b:runner must be refused.
        Bundle(f"{r}-bind-namespaces", r, ["my-bucket"], account_id=ACCOUNT, bindings=namespaces,
               shape="several namespaces (Pod Identity)", **first),
        Bundle(f"{r}-bind-namespaces-no-account", r, ["my-bucket"], bindings=namespaces,
               shape="several namespaces (Pod Identity)", **first),
        # Several clusters (params file): the same workload on both, one only on
        # beta, one taking the top-level cluster; pinned to each cluster's associations.
        Bundle(f"{r}-bind-clusters", r, ["my-bucket"], account_id=ACCOUNT, cluster="alpha",
               trust_source_account=True, trust_source_arn=True, bindings_in_params=True,
               bindings=[Binding("team-a", "runner", cluster="beta"), Binding("team-b", "reader", cluster="beta"),
                         Binding("team-c")], shape="several clusters (Pod Identity)", **first),
        # Several clusters under IRSA (params file): beta's bindings carry beta's
        # issuer; a binding without cluster and issuer takes alpha's.
        Bundle(f"{r}-bind-irsa-clusters", r, ["my-bucket"], cluster="alpha", bindings_in_params=True,
               bindings=[Binding("team-b", "reader", cluster="beta", oidc_issuer=second),
                         Binding("team-a", "writer", cluster="beta", oidc_issuer=second),
                         Binding("team-b", "writer")], shape="several clusters (IRSA)", **irsa, **first),
        Bundle(f"{r}-bind-irsa-namespaces", r, ["my-bucket"], bindings=namespaces,
               shape="several namespaces (IRSA)", **irsa, **first),
        # Wildcards: team-*:reader, ns:job-?; then *:runner next to a literal pair.
        Bundle(f"{r}-bind-irsa-wildcards", r, ["my-bucket"], bindings=wildcards, shape="wildcards (IRSA)",
               **irsa, **first),
        Bundle(f"{r}-bind-irsa-any-namespace", r, ["my-bucket"], namespace="ml", service_account="reader",
               bindings=[Binding("*", "runner")], shape="wildcards (IRSA)", **irsa),
        # Wildcards on one cluster, literal names on another (params file).
        Bundle(f"{r}-bind-irsa-clusters-wildcards", r, ["my-bucket"], cluster="alpha", bindings_in_params=True,
               bindings=[Binding("team-*", "reader"),
                         Binding("ns", "job-?", cluster="beta", oidc_issuer=second),
                         Binding("team-b", "runner", cluster="beta", oidc_issuer=second)],
               shape="wildcards (IRSA)", **irsa, **first),
        # Migration: both methods at once, alone and with more bindings.
        Bundle(f"{r}-bind-both", r, ["my-bucket"], method="both", account_id=ACCOUNT, oidc_issuer=issuer,
               shape="migration (both)", **first),
        Bundle(f"{r}-bind-both-namespaces", r, ["my-bucket"], method="both", account_id=ACCOUNT,
               oidc_issuer=issuer, bindings=namespaces, trust_source_account=True,
               shape="migration (both)", **first),
        # Refused: patterns outside IRSA, *:*, another cluster without its issuer.
        Bundle(f"{r}-bind-wildcard-pod-identity", r, ["my-bucket"], account_id=ACCOUNT,
               bindings=[Binding("team-*", "reader")], **first),
        Bundle(f"{r}-bind-wildcard-both", r, ["my-bucket"], method="both", account_id=ACCOUNT,
               oidc_issuer=issuer, bindings=[Binding("ns", "job-?")], **first),
        Bundle(f"{r}-bind-irsa-every-service-account", r, ["my-bucket"], bindings=[Binding("*", "*")],
               **irsa, **first),
        Bundle(f"{r}-bind-irsa-cluster-without-issuer", r, ["my-bucket"], cluster="alpha",
               bindings_in_params=True, bindings=[Binding("team-b", "reader", cluster="beta")], **irsa, **first),
    ]


PREFIX_SETS = ([], ["team-a"], ["team/a", "shared/"])


def bundles() -> List[Bundle]:
    out: List[Bundle] = []
    for region in ("us-west-2", "cn-north-1", "us-gov-west-1"):
        r = region
        key_region = OTHER_REGION[region]
        # The docs page's values and podiam's defaults (read-write).
        out.append(Bundle(f"{r}-docs", r, ["my-bucket"], access=None))
        # COPY implies read-only unless --access says otherwise (documented).
        out.append(Bundle(f"{r}-copy-default-access", r, ["my-bucket"], access=None, mount_mode="COPY"))
        # Access profiles x multipart clean-up x prefixes; methods and buckets vary along.
        n = 0
        for access in ("read-write", "read-only"):
            for multipart in (False, True):
                for prefixes in PREFIX_SETS:
                    n += 1
                    irsa = n % 2 == 0
                    out.append(Bundle(
                        f"{r}-{access}{'-multipart' if multipart else ''}-p{len(prefixes)}"
                        f"{'-irsa' if irsa else ''}",
                        r, ["my-bucket", "second.bucket"] if n % 3 == 0 else ["my-bucket"],
                        access=access, multipart=multipart, prefixes=list(prefixes),
                        method="irsa" if irsa else "pod-identity",
                        account_id=ACCOUNT if irsa or n % 3 == 1 else None,
                        oidc_issuer=oidc_issuer(r, https=n % 4 == 0) if irsa else None,
                        namespace="ml-team" if n % 3 == 2 else None,
                        service_account="s3-reader" if n % 3 == 2 else None))
        # KMS: a key in the cluster's region, a key in another region, two keys in two regions.
        for access in ("read-write", "read-only"):
            out.append(Bundle(f"{r}-kms-same-region-{access}", r, ["my-bucket"], access=access,
                              kms_keys=[kms_arn(r)]))
            out.append(Bundle(f"{r}-kms-other-region-{access}", r, ["my-bucket"], access=access,
                              kms_keys=[kms_arn(key_region)], prefixes=["team-a"]))
        # A key ARN of the cluster's partition naming a region of another partition.
        foreign = "cn-north-1" if partition(r) != "aws-cn" else "us-west-2"
        out.append(Bundle(f"{r}-kms-region-outside-partition", r, ["my-bucket"],
                          kms_keys=[f"arn:{partition(r)}:kms:{foreign}:{ACCOUNT}:key/{KMS_ID}"]))
        out.append(Bundle(f"{r}-kms-two-regions", r, ["my-bucket", "second.bucket"],
                          kms_keys=[kms_arn(r), kms_arn(key_region, KMS_ID_2)], multipart=True))
        # Pod Identity trust variants.
        out.append(Bundle(f"{r}-trust-pinned-account", r, ["my-bucket"], account_id=ACCOUNT,
                          namespace="team-b", service_account="runner.s3"))
        out.append(Bundle(f"{r}-trust-minimal", r, ["my-bucket"], trust_minimal=True))
        out.append(Bundle(f"{r}-trust-minimal-account", r, ["my-bucket"], trust_minimal=True,
                          account_id=ACCOUNT))
        out.append(Bundle(f"{r}-trust-source-account", r, ["my-bucket"], account_id=ACCOUNT,
                          trust_source_account=True))
        out.append(Bundle(f"{r}-trust-source-arn", r, ["my-bucket"], account_id=ACCOUNT,
                          trust_source_arn=True, trust_source_account=True,
                          cluster="Prod_Cluster-1"))
        # IRSA with a custom namespace and service account.
        out.append(Bundle(f"{r}-irsa-custom", r, ["my-bucket"], method="irsa", account_id=ACCOUNT,
                          oidc_issuer=oidc_issuer(r), namespace="ml-team", service_account="s3-reader"))
        out += binding_bundles(r)
    return out
