"""check-45: evaluates every generated permission and trust policy with
principalmapper (and @cloud-copilot/iam-simulate) against a request matrix
whose expected outcomes come from the parameters passed to podiam
(iam_matrix.py).

Usage: iam_check.py PODIAM WORKDIR [IAM_SIMULATE_DIR]

With IAM_SIMULATE_DIR (an `npm ci` of semantic/iam-simulate), every request
that @cloud-copilot/iam-simulate can judge is judged by it too, as a second
engine (iam_engine.IamSimulate says which it cannot).

First the positive controls: hand-written reference documents must pass the
matrix (so the expectations are satisfiable), and each deliberately broken
copy must fail it on the request that the break opens. Then every bundle of
iam_matrix.bundles() is generated and evaluated. Last the cross-account
bundles (issue 12: bucket policy, KMS key policy, target trust and source
role policy), with their own controls: iam_cross.py, iam_cross_controls.py. Prints one line per failing
request and a summary; exits 1 on any failure.
"""

import collections
import copy
import json
import pathlib
import sys

import iam_cross
import iam_engine
from bundles import Binding, generate, render
from iam_matrix import (ACCOUNT, KMS_ID, KMS_ID_2, LIKE_CASES, SECOND_OIDC_ID, Bundle, bundles, issuer_host_path,
                        kms_arn, like, oidc_issuer, policy_requests, trust_requests)

POLICY_PATH = "iam/s3-access-policy.json"
TRUST_PATH = "iam/trust-policy.json"


def _combine(actions, decisions) -> str:
    """The call succeeds only if every action it needs is allowed."""
    if all(d == iam_engine.ALLOW for d in decisions):
        return "allow"
    return "deny (" + ", ".join(f"{a}: {d}" for a, d in zip(actions, decisions)) + ")"


def principalmapper_decide(doc: dict, req):
    decisions = []
    for action in req.actions:
        if req.doc == "policy":
            decisions.append(iam_engine.identity_decision(doc, action, req.resource, req.keys))
        else:
            decisions.append(iam_engine.trust_decision(doc, req.principal, action, req.resource, req.keys))
    return _combine(req.actions, decisions), ""


def default_key_policy(key_arn: str) -> dict:
    """AWS's default key policy: the key's account may use the key as its IAM
    policies allow (without a key policy iam-simulate denies every KMS call)."""
    partition, account = key_arn.split(":")[1], key_arn.split(":")[4]
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"}]}


def iam_simulate_decider(engine: "iam_engine.IamSimulate"):
    def decide(doc: dict, req):
        decisions = []
        if "*" in req.resource:
            return None, "wildcard resource (runSimulation asks whether any match may be reached)"
        for action in req.actions:
            fields = req.resource.split(":")
            account = (fields[4] if len(fields) > 4 else "") or ACCOUNT  # S3 ARNs: the bucket owner's
            if req.doc == "policy":
                principal = f"arn:{fields[1]}:sts::{ACCOUNT}:assumed-role/role-under-test/pod"
                key_policy = default_key_policy(req.resource) if action.startswith("kms:") else None
                got, why = engine.decision(principal, action, req.resource, account, req.keys,
                                           identity_policies=[doc], resource_policy=key_policy)
            elif req.principal[0] == "Service":
                got, why = engine.decision(req.principal[1], action, req.resource, account, req.keys,
                                           resource_policy=doc)
            else:
                got, why = None, "Federated principal (runSimulation drops <issuer>:sub/:aud)"
            if got is None:
                return None, why
            decisions.append(got)
        return _combine(req.actions, decisions), ""
    return decide


def evaluate(bundle: Bundle, engines, policy=None, trust=None):
    """-> (checks per engine, [(engine, request, got)] of the failing ones,
    Counter of why a request was not judged); a document given as None is
    not evaluated."""
    failures, checks, unjudged = [], collections.Counter(), collections.Counter()
    for doc, requests in ((policy, policy_requests), (trust, trust_requests)):
        if doc is None:
            continue
        for req in requests(bundle):
            for name, decide in engines:
                got, why = decide(doc, req)
                if got is None:
                    unjudged[f"{name}: {why}"] += 1
                    continue
                checks[name] += 1
                if got.split(" ")[0] != req.expected:
                    failures.append((name, req, got))
    return checks, failures, unjudged


# ---------------------------------------------------------------------------
# positive controls: reference documents written by hand from AWS's docs for
# two fixed parameter sets, then broken one way at a time
# ---------------------------------------------------------------------------

CONTROL = Bundle("control", "us-west-2", ["ctl-bucket"], access="read-write", multipart=True,
                 prefixes=["team"], kms_keys=[kms_arn("us-east-1")], account_id=ACCOUNT)
CONTROL_IRSA = Bundle("control-irsa", "us-west-2", ["ctl-bucket"], method="irsa", account_id=ACCOUNT,
                      oidc_issuer=oidc_issuer("us-west-2"), namespace="ml-team", service_account="s3-reader")

# AWS's pattern for refusing uploads that set an ACL (S3 user guide, "Requiring
# ... canned ACL" examples): a Deny for the canned ACLs other than the private
# ones, only when the header is present, and a Deny for each grant header.
REFERENCE_ACL_DENIES = [
    {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*",
     "Condition": {"StringNotEquals": {"s3:x-amz-acl": ["private", "bucket-owner-full-control"]},
                   "Null": {"s3:x-amz-acl": "false"}}},
] + [{"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*", "Condition": {"Null": {h: "false"}}}
     for h in ("s3:x-amz-grant-read", "s3:x-amz-grant-full-control", "s3:x-amz-grant-read-acp",
               "s3:x-amz-grant-write-acp")]

REFERENCE_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": ["arn:aws:s3:::ctl-bucket"]},
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::ctl-bucket"],
     "Condition": {"StringLike": {"s3:prefix": ["team/", "team/*"]}}},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
     "Resource": ["arn:aws:s3:::ctl-bucket/team/*"]},
    {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
     "Resource": [f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KMS_ID}"],
     "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
] + REFERENCE_ACL_DENIES}
REFERENCE_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
     "Action": ["sts:AssumeRole", "sts:TagSession"],
     "Condition": {"StringEquals": {
         "aws:RequestTag/eks-cluster-arn": f"arn:aws:eks:us-west-2:{ACCOUNT}:cluster/my-eks-cluster",
         "aws:RequestTag/kubernetes-namespace": "default",
         "aws:RequestTag/kubernetes-service-account": "skypilot-service-account"}}},
]}
CONTROL_TWO_KEYS = Bundle("control-two-keys", "us-west-2", ["ctl-bucket"], access="read-write",
                          kms_keys=[kms_arn("us-west-2"), kms_arn("us-east-1", KMS_ID_2)])
REFERENCE_TWO_KEYS_POLICY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": "arn:aws:s3:::ctl-bucket"},
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
     "Resource": "arn:aws:s3:::ctl-bucket/*"},
    {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
     "Resource": f"arn:aws:kms:us-west-2:{ACCOUNT}:key/{KMS_ID}",
     "Condition": {"StringEquals": {"kms:ViaService": "s3.us-west-2.amazonaws.com"}}},
    {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
     "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KMS_ID_2}",
     "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
] + REFERENCE_ACL_DENIES}
_HP = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
REFERENCE_IRSA_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{_HP}"},
     "Action": "sts:AssumeRoleWithWebIdentity",
     "Condition": {"StringEquals": {f"{_HP}:sub": "system:serviceaccount:ml-team:s3-reader",
                                    f"{_HP}:aud": "sts.amazonaws.com"}}},
]}


# Bindings (issue 11), written by hand from AWS's docs: one Pod Identity
# statement per namespace with its service accounts; one IRSA statement per
# provider, patterns under StringLike; both methods side by side.
CONTROL_BIND = Bundle("control-bind", "us-west-2", ["ctl-bucket"], account_id=ACCOUNT, namespace="team-a",
                      service_account="runner", bindings=[Binding("team-b", "reader"), Binding("team-a", "writer")])
_CLUSTER_ARN = f"arn:aws:eks:us-west-2:{ACCOUNT}:cluster/my-eks-cluster"


def _pod_identity_statement(namespace, service_accounts):
    return {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {"StringEquals": {"aws:RequestTag/eks-cluster-arn": _CLUSTER_ARN,
                                           "aws:RequestTag/kubernetes-namespace": namespace,
                                           "aws:RequestTag/kubernetes-service-account": service_accounts}}}


REFERENCE_BIND_TRUST = {"Version": "2012-10-17", "Statement": [
    _pod_identity_statement("team-a", ["runner", "writer"]), _pod_identity_statement("team-b", "reader")]}
_HP2 = issuer_host_path(oidc_issuer("us-west-2", oidc_id=SECOND_OIDC_ID))


def _irsa_statement(host_path, subjects, op="StringEquals"):
    sub = {f"{host_path}:sub": [f"system:serviceaccount:{s}" for s in subjects]}
    aud = {f"{host_path}:aud": "sts.amazonaws.com"}
    return {"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host_path}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {**sub, **aud}} if op == "StringEquals" else
            {"StringEquals": aud, "StringLike": sub}}


_IRSA = dict(method="irsa", account_id=ACCOUNT, oidc_issuer=oidc_issuer("us-west-2"), namespace="team-a",
             service_account="runner")
CONTROL_BIND_WILDCARDS = Bundle("control-bind-wildcards", "us-west-2", ["ctl-bucket"],
                                bindings=[Binding("team-*", "reader"), Binding("ns", "job-?")], **_IRSA)
_WILDCARD_SUBJECTS = ["team-a:runner", "team-*:reader", "ns:job-?"]
REFERENCE_BIND_WILDCARDS_TRUST = {"Version": "2012-10-17", "Statement": [
    _irsa_statement(_HP, _WILDCARD_SUBJECTS, "StringLike")]}
CONTROL_BIND_CLUSTERS = Bundle("control-bind-clusters", "us-west-2", ["ctl-bucket"], bindings_in_params=True,
                               bindings=[Binding("team-b", "reader", cluster="beta",
                                                 oidc_issuer=oidc_issuer("us-west-2", oidc_id=SECOND_OIDC_ID))],
                               **_IRSA)
REFERENCE_BIND_CLUSTERS_TRUST = {"Version": "2012-10-17", "Statement": [
    _irsa_statement(_HP, ["team-a:runner"]), _irsa_statement(_HP2, ["team-b:reader"])]}
CONTROL_BIND_BOTH = Bundle("control-bind-both", "us-west-2", ["ctl-bucket"], **{**_IRSA, "method": "both"})
REFERENCE_BIND_BOTH_TRUST = {"Version": "2012-10-17", "Statement": [
    _irsa_statement(_HP, ["team-a:runner"]), _pod_identity_statement("team-a", "runner")]}


def _cross_product(statements):
    """Every namespace and every service account in one statement."""
    merged = statements[0]
    _cond(merged, "StringEquals").update({"aws:RequestTag/kubernetes-namespace": ["team-a", "team-b"],
                                          "aws:RequestTag/kubernetes-service-account": ["runner", "writer",
                                                                                        "reader"]})
    del statements[1:]


def _to_string_equals(statement):
    statement["Condition"] = {"StringEquals": {**statement["Condition"]["StringEquals"],
                                               **statement["Condition"].pop("StringLike")}}


def _edit(doc, fn):
    doc = copy.deepcopy(doc)
    fn(doc["Statement"])
    return doc


def _cond(statement, op):
    return statement["Condition"][op]


def _merge_kms_statements(statements):
    """Both keys in one statement, each region's S3 allowed for either key."""
    second = statements.pop(3)
    merged = statements[2]
    merged["Resource"] = [merged["Resource"], second["Resource"]]
    _cond(merged, "StringEquals")["kms:ViaService"] = [_cond(merged, "StringEquals")["kms:ViaService"],
                                                       _cond(second, "StringEquals")["kms:ViaService"]]


# (what is broken, bundle, which document, broken document, a request name it must fail on)
BROKEN = [
    ("policy: Resource \"*\" added to the object statement", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s[2]["Resource"].append("*")), "other bucket ctl-bucketx"),
    ("policy: object statement on bucket/* instead of bucket/team/*", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s[2].update(Resource=["arn:aws:s3:::ctl-bucket/*"])),
     "ctl-bucket: s3:GetObject key 'other/file.txt'"),
    ("policy: object statement on bucket/team* (no separator)", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s[2].update(Resource=["arn:aws:s3:::ctl-bucket/team*"])),
     "ctl-bucket: s3:GetObject key 'team2/file.txt'"),
    ("policy: s3:prefix condition removed from ListBucket", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s[1].pop("Condition")), "ctl-bucket: list with no s3:prefix"),
    ("policy: s3:PutBucketPolicy added", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s[0]["Action"].append("s3:PutBucketPolicy")),
     "ctl-bucket: bucket administration"),
    ("policy: another partition's ARNs", CONTROL, "policy",
     json.loads(json.dumps(REFERENCE_POLICY).replace("arn:aws:s3", "arn:aws-cn:s3")),
     "ctl-bucket: locate bucket"),
    ("policy: explicit Deny of s3:GetObject added (deny must win)", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s.append({"Effect": "Deny", "Action": "s3:GetObject",
                                                  "Resource": "*"})),
     "ctl-bucket: s3:GetObject key 'team/file.txt'"),
    ("policy: kms:ViaService of the cluster's region instead of the key's", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: _cond(s[3], "StringEquals").update(
         {"kms:ViaService": "s3.us-west-2.amazonaws.com"})),
     "key in us-east-1: decrypt, via s3.us-east-1.amazonaws.com"),
    ("policy: the Deny on a sharing canned ACL removed", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s.pop(4)), "ctl-bucket: upload with x-amz-acl public-read"),
    ("policy: the Deny on the grant-read header removed", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s.pop(5)), "ctl-bucket: upload with s3:x-amz-grant-read"),
    ("policy: kms:ViaService condition removed", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s[3].pop("Condition")),
     "key in us-east-1: kms:Decrypt directly, no kms:ViaService"),
    ("policy: two keys in one statement with both regions' kms:ViaService", CONTROL_TWO_KEYS, "policy",
     _edit(REFERENCE_TWO_KEYS_POLICY, lambda s: _merge_kms_statements(s)),
     "key in us-east-1: kms:Decrypt through the cluster region's S3"),
    ("policy: kms statement on key/*", CONTROL, "policy",
     _edit(REFERENCE_POLICY, lambda s: s[3].update(
         Resource=[f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"])), "another key in us-east-1"),
    ("trust: namespace condition removed", CONTROL, "trust",
     _edit(REFERENCE_TRUST, lambda s: _cond(s[0], "StringEquals").pop("aws:RequestTag/kubernetes-namespace")),
     "a pod in another namespace"),
    ("trust: eks-cluster-name pinned instead of eks-cluster-arn", CONTROL, "trust",
     _edit(REFERENCE_TRUST, lambda s: s[0]["Condition"].update(StringEquals={
         "aws:RequestTag/eks-cluster-name": "my-eks-cluster",
         "aws:RequestTag/kubernetes-namespace": "default",
         "aws:RequestTag/kubernetes-service-account": "skypilot-service-account"})),
     "a same-named cluster in another region"),
    ("trust: eks-cluster-arn with any account", CONTROL, "trust",
     _edit(REFERENCE_TRUST, lambda s: s[0]["Condition"].update(StringLike={
         "aws:RequestTag/eks-cluster-arn": _cond(s[0], "StringEquals").pop(
             "aws:RequestTag/eks-cluster-arn").replace(ACCOUNT, "*")})),
     "a same-named cluster in another account"),
    ("trust: service account matched with StringLike \"*\"", CONTROL, "trust",
     _edit(REFERENCE_TRUST, lambda s: (_cond(s[0], "StringEquals").pop("aws:RequestTag/kubernetes-service-account"),
                                       s[0]["Condition"].update(StringLike={
                                           "aws:RequestTag/kubernetes-service-account": "*"}))),
     "a pod with another service account"),
    ("trust: Principal \"*\"", CONTROL, "trust",
     _edit(REFERENCE_TRUST, lambda s: s[0].update(Principal="*")), "another service principal"),
    ("trust: conditions removed", CONTROL, "trust",
     _edit(REFERENCE_TRUST, lambda s: s[0].pop("Condition")), "an association without session tags"),
    ("irsa trust: aud condition removed", CONTROL_IRSA, "trust",
     _edit(REFERENCE_IRSA_TRUST, lambda s: _cond(s[0], "StringEquals").pop(f"{_HP}:aud")),
     "another audience sts.amazonaws.com.cn"),
    ("irsa trust: sub StringLike system:serviceaccount:ml-team:*", CONTROL_IRSA, "trust",
     _edit(REFERENCE_IRSA_TRUST, lambda s: (_cond(s[0], "StringEquals").pop(f"{_HP}:sub"),
                                            s[0]["Condition"].update(StringLike={
                                                f"{_HP}:sub": "system:serviceaccount:ml-team:*"}))),
     "another service account"),
    ("irsa trust: any OIDC provider (Federated \"*\")", CONTROL_IRSA, "trust",
     _edit(REFERENCE_IRSA_TRUST, lambda s: s[0].update(Principal={"Federated": "*"})),
     "the same provider in another account"),
    ("irsa trust: sts:AssumeRole allowed too", CONTROL_IRSA, "trust",
     _edit(REFERENCE_IRSA_TRUST, lambda s: s[0].update(
         Action=["sts:AssumeRoleWithWebIdentity", "sts:AssumeRole"])), "another action"),
    ("bindings: every namespace and every service account in one Pod Identity statement", CONTROL_BIND, "trust",
     _edit(REFERENCE_BIND_TRUST, _cross_product), "swapped pair"),
    ("bindings: the second namespace's statement without its cluster", CONTROL_BIND, "trust",
     _edit(REFERENCE_BIND_TRUST, lambda s: _cond(s[1], "StringEquals").pop("aws:RequestTag/eks-cluster-arn")),
     "another cluster"),
    ("bindings: IRSA patterns under StringEquals (a literal '*')", CONTROL_BIND_WILDCARDS, "trust",
     _edit(REFERENCE_BIND_WILDCARDS_TRUST, lambda s: _to_string_equals(s[0])),
     "bound workload (through a pattern)"),
    ("bindings: job-* instead of job-?", CONTROL_BIND_WILDCARDS, "trust",
     _edit(REFERENCE_BIND_WILDCARDS_TRUST, lambda s: _cond(s[0], "StringLike").update(
         {f"{_HP}:sub": ["system:serviceaccount:team-a:runner", "system:serviceaccount:team-*:reader",
                         "system:serviceaccount:ns:job-*"]})), "name outside a wildcard"),
    ("bindings: *:reader instead of team-*:reader", CONTROL_BIND_WILDCARDS, "trust",
     _edit(REFERENCE_BIND_WILDCARDS_TRUST, lambda s: _cond(s[0], "StringLike").update(
         {f"{_HP}:sub": ["system:serviceaccount:team-a:runner", "system:serviceaccount:*:reader",
                         "system:serviceaccount:ns:job-?"]})), "name outside a wildcard"),
    ("bindings: each IRSA provider lists every cluster's subjects", CONTROL_BIND_CLUSTERS, "trust",
     {"Version": "2012-10-17", "Statement": [_irsa_statement(_HP, ["team-a:runner", "team-b:reader"]),
                                             _irsa_statement(_HP2, ["team-a:runner", "team-b:reader"])]},
     "another cluster"),
    ("bindings: both, the IRSA statement also trusts the Pod Identity service", CONTROL_BIND_BOTH, "trust",
     _edit(REFERENCE_BIND_BOTH_TRUST, lambda s: s[0]["Principal"].update(Service="pods.eks.amazonaws.com")),
     "principal mismatch: the Pod Identity service with the token"),
    ("bindings: both, the Pod Identity statement also trusts the OIDC provider", CONTROL_BIND_BOTH, "trust",
     _edit(REFERENCE_BIND_BOTH_TRUST, lambda s: s[1]["Principal"].update(
         Federated=f"arn:aws:iam::{ACCOUNT}:oidc-provider/{_HP}")),
     "principal mismatch: an OIDC provider with the session tags"),
]


def run_controls(engines) -> bool:
    ok = True
    # The matrix's expectations must be satisfiable: correct documents pass.
    for pattern, value, matches in LIKE_CASES:
        if like(pattern, value) != matches:
            print(f"CONTROL BROKEN: the StringLike matcher: {pattern!r} against {value!r} should give {matches}")
            ok = False
    references = ((CONTROL, REFERENCE_POLICY, REFERENCE_TRUST), (CONTROL_IRSA, None, REFERENCE_IRSA_TRUST),
                  (CONTROL_TWO_KEYS, REFERENCE_TWO_KEYS_POLICY, None), (CONTROL_BIND, None, REFERENCE_BIND_TRUST),
                  (CONTROL_BIND_WILDCARDS, None, REFERENCE_BIND_WILDCARDS_TRUST),
                  (CONTROL_BIND_CLUSTERS, None, REFERENCE_BIND_CLUSTERS_TRUST),
                  (CONTROL_BIND_BOTH, None, REFERENCE_BIND_BOTH_TRUST))
    checked = collections.Counter()
    for bundle, policy, trust in references:
        checks, failures, _ = evaluate(bundle, engines, policy, trust)
        checked += checks
        for engine, req, got in failures:
            print(f"CONTROL BROKEN: {engine}: the reference documents of {bundle.name} fail {req.doc}: "
                  f"{req.label()}: expected {req.expected}, got {got}")
            ok = False
    # Each broken document must fail the request its break opens, in every
    # engine that judges that request.
    caught, judging = collections.Counter(), collections.Counter()
    for what, bundle, which, broken, must_fail in BROKEN:
        _, failures, _ = evaluate(bundle, engines, **{which: broken})
        for engine, decide in engines:
            requests = policy_requests(bundle) if which == "policy" else trust_requests(bundle)
            judged = [r for r in requests if r.name.startswith(must_fail) and decide(broken, r)[0] is not None]
            if not judged:
                continue
            judging[engine] += 1
            names = [req.name for e, req, _ in failures if e == engine]
            if any(n.startswith(must_fail) for n in names):
                caught[engine] += 1
            else:
                print(f"CONTROL BROKEN: {engine}: {what}: the matrix did not fail {must_fail!r} "
                      f"(it failed {len(names)} requests: {names[:3]})")
                ok = False
    print("iam-semantics controls: reference documents pass ("
          + ", ".join(f"{e}: {n} requests" for e, n in sorted(checked.items()))
          + f"); {len(BROKEN)} broken documents, caught by "
          + ", ".join(f"{e}: {caught[e]} of the {judging[e]} it judges" for e, _ in engines))
    if caught[engines[0][0]] != len(BROKEN):
        ok = False
    return ok


def main() -> int:
    podiam, work = sys.argv[1], pathlib.Path(sys.argv[2])
    engines = [("principalmapper", principalmapper_decide)]
    simulate = None
    if len(sys.argv) > 3:
        simulate = iam_engine.IamSimulate(str(pathlib.Path(__file__).with_name("iam_simulate.mjs")), sys.argv[3])
        engines.append(("iam-simulate", iam_simulate_decider(simulate)))
    try:
        ok = run(podiam, work, engines) == 0
        # Cross-account documents (issue 12): iam_cross.py and its controls.
        ok = iam_cross.run(podiam, work / "cross-account", simulate) and ok
        return 0 if ok else 1
    finally:
        if simulate is not None:
            simulate.close()


def run(podiam: str, work: pathlib.Path, engines) -> int:
    if not run_controls(engines):
        return 1
    total = failed = generated = rendered = 0
    by_request = collections.Counter()
    per_engine, unjudged = collections.Counter(), collections.Counter()
    lines = []
    shapes = collections.defaultdict(collections.Counter)   # shape -> (category, expected) -> requests
    shape_bundles, shape_failed = collections.Counter(), collections.Counter()
    for bundle in bundles():
        args = bundle.args()
        params = bundle.params_yaml()
        if params is not None:
            params_file = work / f"{bundle.name}.params.yaml"
            params_file.parent.mkdir(parents=True, exist_ok=True)
            params_file.write_text(params)
            args += ["--params", str(params_file)]
        outcome = generate(podiam, args, work / bundle.name)
        if bundle.refusal:
            # Contradictory parameters: exit 2 and nothing written.
            total += 1
            if outcome.code != 2 or outcome.files:
                failed += 1
                by_request[f"refused: {bundle.refusal}"] += 1
                lines.append(f"FAIL {bundle.name}: generate: expected exit 2 and no files ({bundle.refusal}), "
                             f"got exit {outcome.code} and {len(outcome.files)} files")
            continue
        total += 1
        if outcome.code != 0:
            failed += 1
            by_request["generate succeeds"] += 1
            lines.append(f"FAIL {bundle.name}: generate: expected exit 0, got exit {outcome.code}: "
                         + " ".join(l.strip() for l in outcome.stderr.splitlines()[:3]))
            # The documents are still judged, from `podiam render`, so that one
            # failure of the bundle does not hide what its policies admit.
            docs = [render(podiam, artifact, args) for artifact in ("s3-access-policy", "trust-policy")]
            if not bundle.shape or any(code != 0 for code, _, _ in docs):
                continue
            lines.append(f"NOTE {bundle.name}: its documents are judged from `podiam render`")
            rendered += 1
            policy, trust = (json.loads(text) for _, text, _ in docs)
        else:
            generated += 1
            policy = json.loads((outcome.out / POLICY_PATH).read_text())
            trust = json.loads((outcome.out / TRUST_PATH).read_text())
        checks, failures, skipped = evaluate(bundle, engines, policy, trust)
        if bundle.shape:
            shape_bundles[bundle.shape] += 1
            shape_failed[bundle.shape] += len(failures)
            for req in trust_requests(bundle):
                if req.category:
                    shapes[bundle.shape][(req.category, req.expected)] += 1
        total += sum(checks.values())
        per_engine += checks
        unjudged += skipped
        failed += len(failures)
        for engine, req, got in failures:
            by_request[f"{engine}: {req.doc}: {req.name}"] += 1
            lines.append(f"FAIL [{engine}] {bundle.name} {req.doc}: {req.label()}: expected {req.expected}, "
                         f"got {got}")
    for line in lines:
        print(line)
    if by_request:
        print("iam-semantics failures by request:")
        for name, n in sorted(by_request.items()):
            print(f"  {n:4d}  {name}")
    for shape, counts in sorted(shapes.items()):
        print(f"iam-semantics bindings, {shape}: {shape_bundles[shape]} bundles; "
              + ", ".join(f"{cat} {n} {'admitted' if expected == 'allow' else 'refused'}"
                          for (cat, expected), n in sorted(counts.items()))
              + f"; {shape_failed[shape]} failed")
    for why, n in sorted(unjudged.items()):
        print(f"iam-semantics: not judged by {why}: {n} requests")
    print(f"iam-semantics: {generated} bundles generated and evaluated, {rendered} judged from render, {total} checks ("
          + ", ".join(f"{e}: {n}" for e, n in sorted(per_engine.items())) + f"), {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
