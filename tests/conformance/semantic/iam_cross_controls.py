"""Positive controls for iam_cross.py: documents written by hand from AWS's
docs (S3 bucket policy and KMS key policy examples, the EKS Pod Identity
target-role trust with sts:ExternalId) for one fixed parameter set pass the
cross-account matrix, and each deliberately broken copy fails it on the
request its break opens (so the checks can fail)."""

import collections
import copy

from iam_cross import (BUCKET_ACCOUNT, CLUSTER_ACCOUNT, TARGET_ACCOUNT, CrossBundle, Docs, evaluate, kms)

CONTROL = CrossBundle("control-cross", ["ctl-bucket", "ctl-archive"], target_account=TARGET_ACCOUNT,
                      bucket_account=BUCKET_ACCOUNT, prefixes=["team"], binds=[("ml", "runner")],
                      kms_keys=[kms("us-east-1")], role_name="CtlRole", iam_path="/ctl/")
CONTROL_RO = CrossBundle("control-cross-ro", ["ctl-bucket"], bucket_account=BUCKET_ACCOUNT, access="read-only",
                         role_name="CtlReader")

_TARGET = f"arn:aws:iam::{TARGET_ACCOUNT}:role/ctl/CtlRole"
_SOURCE = f"arn:aws:iam::{CLUSTER_ACCOUNT}:role/ctl/CtlRole"
_KEY = kms("us-east-1")
_IDS = [f"us-west-2/{CLUSTER_ACCOUNT}/c1/default/skypilot-service-account", f"us-west-2/{CLUSTER_ACCOUNT}/c1/ml/runner"]


# AWS's pattern for refusing uploads that set an ACL (as in iam_check.py):
# the identity side carries it; a bucket policy need not.
_ACL_DENIES = [
    {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*",
     "Condition": {"StringNotEquals": {"s3:x-amz-acl": ["private", "bucket-owner-full-control"]},
                   "Null": {"s3:x-amz-acl": "false"}}},
] + [{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*", "Condition": {"Null": {h: "false"}}}
     for h in ("s3:x-amz-grant-read", "s3:x-amz-grant-full-control", "s3:x-amz-grant-read-acp",
               "s3:x-amz-grant-write-acp")]


def _identity(buckets, prefix, rw=True, key=None):
    objects = ["s3:GetObject"] + (["s3:PutObject", "s3:DeleteObject"] if rw else [])
    sts = [{"Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": [f"arn:aws:s3:::{b}" for b in buckets]},
           {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": [f"arn:aws:s3:::{b}" for b in buckets]},
           {"Effect": "Allow", "Action": objects, "Resource": [f"arn:aws:s3:::{b}/{prefix}*" for b in buckets]}]
    if prefix:
        sts[1]["Condition"] = {"StringLike": {"s3:prefix": [prefix, prefix + "*"]}}
    if key:
        sts.append({"Effect": "Allow", "Action": ["kms:Decrypt"] + (["kms:GenerateDataKey"] if rw else []),
                    "Resource": key, "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}})
    return {"Version": "2012-10-17", "Statement": sts}


def _with_acl_denies(doc):
    return {**doc, "Statement": doc["Statement"] + _ACL_DENIES}


def _bucket_policy(role, buckets, prefix, rw=True):
    sts = []
    for b in buckets:
        for st in _identity([b], prefix, rw)["Statement"]:
            sts.append({**st, "Principal": {"AWS": role}})
    return {"Version": "2012-10-17", "Statement": sts}


REF = Docs(
    identity=_with_acl_denies(_identity(CONTROL.buckets, "team/", key=_KEY)),
    bucket=_bucket_policy(_TARGET, CONTROL.buckets, "team/"),
    kms={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": _TARGET}, "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
         "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]},
    target_trust={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CLUSTER_ACCOUNT}:root"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": _IDS}, "ArnEquals": {"aws:PrincipalArn": _SOURCE}}},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{CLUSTER_ACCOUNT}:root"}, "Action": "sts:TagSession",
         "Condition": {"ArnEquals": {"aws:PrincipalArn": _SOURCE}}}]},
    source={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": _TARGET}]},
)
_RO_ROLE = f"arn:aws:iam::{CLUSTER_ACCOUNT}:role/CtlReader"
REF_RO = Docs(identity=_identity(["ctl-bucket"], "", rw=False),
              bucket=_bucket_policy(_RO_ROLE, ["ctl-bucket"], "", rw=False))


def _broken(docs: Docs, field: str, edit) -> Docs:
    docs = copy.deepcopy(docs)
    edit(getattr(docs, field)["Statement"])
    return docs


def _set(i, **kw):
    return lambda s: s[i].update(kw)


def _cond_pop(i, op, key=None):
    def edit(s):
        if key is None:
            s[i]["Condition"].pop(op)
        else:
            s[i]["Condition"][op].pop(key)
        if not s[i]["Condition"]:
            s[i].pop("Condition")
    return edit


# (what is broken, bundle, documents, a substring of a failure line it must cause)
BROKEN = [
    ("bucket: Principal \"*\"", CONTROL, _broken(REF, "bucket", lambda s: [st.update(Principal="*") for st in s]),
     "another role of the role's account: read"),
    ("bucket: Principal the role's account root", CONTROL,
     _broken(REF, "bucket", lambda s: [st.update(Principal={"AWS": f"arn:aws:iam::{TARGET_ACCOUNT}:root"})
                                       for st in s]), "another role of the role's account: read"),
    ("bucket: s3:PutBucketPolicy added", CONTROL,
     _broken(REF, "bucket", lambda s: s[0].update(Action=["s3:GetBucketLocation", "s3:PutBucketPolicy"])),
     "bucket administration"),
    ("bucket: a statement names both buckets", CONTROL,
     _broken(REF, "bucket", lambda s: s[2].update(Resource=s[2]["Resource"] + ["arn:aws:s3:::ctl-archive/team/*"])),
     "names ['ctl-archive', 'ctl-bucket']"),
    ("bucket: objects on bucket/* instead of bucket/team/*", CONTROL,
     _broken(REF, "bucket", _set(2, Resource=["arn:aws:s3:::ctl-bucket/*"])), "key 'other/file.txt'"),
    ("bucket: ListBucket without its s3:prefix condition", CONTROL,
     _broken(REF, "bucket", lambda s: s[1].pop("Condition")), "list with no s3:prefix"),
    ("bucket: writes granted on a read-only bundle", CONTROL_RO,
     _broken(REF_RO, "bucket", _set(2, Action=["s3:GetObject", "s3:PutObject"])),
     "s3:PutObject key 'file.txt' (this document alone)"),
    ("kms: kms:ViaService condition removed", CONTROL, _broken(REF, "kms", lambda s: s[0].pop("Condition")),
     "kms:Decrypt directly (this document alone)"),
    ("kms: kms:ViaService of the cluster's region", CONTROL,
     _broken(REF, "kms", _set(0, Condition={"StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}})),
     "through S3 of us-west-2 (this document alone)"),
    ("kms: Principal \"*\"", CONTROL, _broken(REF, "kms", _set(0, Principal="*")),
     "another role of the role's account: decrypt"),
    ("kms: kms:* granted", CONTROL, _broken(REF, "kms", _set(0, Action="kms:*")), "kms:PutKeyPolicy"),
    ("target trust: sts:ExternalId condition removed", CONTROL,
     _broken(REF, "target_trust", _cond_pop(0, "StringEquals")), "source role without ExternalId"),
    ("target trust: aws:PrincipalArn condition removed", CONTROL,
     _broken(REF, "target_trust", _cond_pop(0, "ArnEquals")),
     "another role of the cluster account with a bound ExternalId"),
    ("target trust: Principal \"*\", pinned by ExternalId only", CONTROL,
     _broken(REF, "target_trust", lambda s: (s[0].update(Principal="*"), _cond_pop(0, "ArnEquals")(s))),
     "the same role name in a third account with a bound ExternalId"),
    ("target trust: ExternalId StringLike \"*\"", CONTROL,
     _broken(REF, "target_trust", lambda s: s[0]["Condition"].update(
         StringEquals={}, StringLike={"sts:ExternalId": "*"})), "a wrong ExternalId"),
    ("target trust: the second binding's ExternalId dropped", CONTROL,
     _broken(REF, "target_trust", lambda s: s[0]["Condition"]["StringEquals"].update({"sts:ExternalId": _IDS[0]})),
     "ExternalId of binding " + _IDS[1]),
    ("target trust: sts:TagSession for any principal of the account", CONTROL,
     _broken(REF, "target_trust", lambda s: s[1].pop("Condition")),
     "another role of the cluster account tags a session"),
    ("identity: the role's own S3 policy empty (cross-account needs both sides)", CONTROL,
     _broken(REF, "identity", lambda s: s.clear()), "locate bucket (with the identity policy)"),
    ("identity: the role's own S3 policy grants s3:*", CONTROL,
     _broken(REF, "identity", lambda s: s.append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
     "identity: ctl-bucket: bucket administration"),
    ("source policy: Resource \"*\"", CONTROL, _broken(REF, "source", _set(0, Resource="*")),
     "another role of the target account"),
    ("source policy: S3 granted in the cluster account", CONTROL,
     _broken(REF, "source", lambda s: s.append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
     "S3 in the cluster account"),
]


def run_controls(engines) -> bool:
    ok = True
    checked = collections.Counter()
    for bundle, docs in ((CONTROL, REF), (CONTROL_RO, REF_RO)):
        checks, failures, _ = evaluate(bundle, docs, engines)
        checked += checks
        for f in failures:
            print(f"CONTROL BROKEN: the cross-account reference documents of {bundle.name} fail: {f}")
            ok = False
    caught, judging = collections.Counter(), collections.Counter()
    for what, bundle, docs, must_fail in BROKEN:
        _, failures, _ = evaluate(bundle, docs, engines)
        for engine, _ in engines:
            mine = [f for f in failures if f.startswith(f"[{engine}]") or not f.startswith("[")]
            judging[engine] += 1
            if any(must_fail in f for f in mine):
                caught[engine] += 1
            elif engine == engines[0][0]:
                print(f"CONTROL BROKEN: {engine}: cross-account {what}: no failure mentions {must_fail!r} "
                      f"({len(mine)} failures: {mine[:2]})")
                ok = False
    print("iam-semantics cross-account controls: reference documents pass ("
          + ", ".join(f"{e}: {n}" for e, n in sorted(checked.items())) + f"); {len(BROKEN)} broken documents, "
          + ", ".join(f"{e} catches {caught[e]}" for e, _ in engines))
    return ok
