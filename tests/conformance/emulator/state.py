"""Reads and seeds the emulator's state with boto3, independent of the scripts.

  state.py create-cluster NAME            creates an EKS cluster, prints its OIDC issuer
  state.py create-boundary NAME           creates a managed policy to use as a
                                          permissions boundary, prints its ARN
  state.py applied BUNDLE METHOD CLUSTER NAMESPACE SA ROLE POLICY
                                          asserts what apply.sh must have created;
                                          METHOD pod-identity, irsa or both (both sides)
  state.py gone BUNDLE METHOD CLUSTER NAMESPACE SA ROLE POLICY
                                          asserts what teardown.sh must have removed,
                                          and that the add-on / OIDC provider are kept

  state.py kube-applied BUNDLE METHOD NAMESPACE SA MODE
                                          asserts the Kubernetes objects apply.sh must
                                          have created (kubectl stub state), each equal
                                          to the bundle's manifest and labelled podiam's
  state.py kube-count METHOD NAMESPACE SA MODE
                                          prints how many objects apply.sh creates
  state.py kube-gone BUNDLE METHOD NAMESPACE SA MODE
                                          asserts teardown.sh removed exactly those,
                                          and kept what existed before and skypilot-system

The Kubernetes objects expected follow SkyPilot 0.14.1, independently of the
scripts: a namespace other than `default`; the service account when it is
not SkyPilot's default (SkyPilot creates that one) or for IRSA (it carries
the annotation); for a custom service account, the Role, RoleBinding,
ClusterRole and ClusterRoleBinding SkyPilot documents, and with MOUNT or
MOUNT_CACHED the skypilot-system namespace with a Role and RoleBinding for
the FUSE DaemonSet. EXPECT_PREEXISTING ("kind/namespace/name;...") names
objects that existed before apply.sh: they must be there, unlabelled, after
apply.sh and after teardown.sh. For IRSA the service account, created or
pre-existing, must carry the bundle's eks.amazonaws.com/role-arn annotation
after apply.sh; one that existed before, and so is kept, must have lost it
after teardown.sh, in any namespace, `default` included.

EXPECT_BINDINGS ("cluster/namespace/sa;...", the first included) names every
binding of the bundle: applied asserts exactly one association with the role
per binding and no other association naming the role; gone asserts none is
left; without it, the one CLUSTER/NAMESPACE/SA.

The endpoint and credentials come from the AWS_* environment variables. The
role options the bundle was generated with come from the test, not from the
bundle: EXPECT_PATH (default "/"), EXPECT_BOUNDARY (default: none),
EXPECT_DURATION (default 3600) and EXPECT_TAGS ("k=v;k2=v2", default: none,
on the role and on the policy).
"""

import json
import os
import pathlib
import sys

import boto3

REGION = "us-west-2"
ACCOUNT = "123456789012"


def client(name):
    return boto3.client(name, region_name=REGION)


def create_cluster(name):
    eks = client("eks")
    cluster = eks.create_cluster(
        name=name,
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": ["subnet-0123456789abcdef0"]},
    )["cluster"]
    print(cluster["identity"]["oidc"]["issuer"])


def iam_path():
    return os.environ.get("EXPECT_PATH", "/")


def expected_tags():
    pairs = [t.split("=", 1) for t in os.environ.get("EXPECT_TAGS", "").split(";") if t]
    return sorted((k, v) for k, v in pairs)


def policy_arn(policy):
    return f"arn:aws:iam::{ACCOUNT}:policy{iam_path()}{policy}"


def role_arn(role):
    return f"arn:aws:iam::{ACCOUNT}:role{iam_path()}{role}"


def create_boundary(name):
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    print(client("iam").create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))["Policy"]["Arn"])


def check_role_options(iam, role, policy):
    """The role's path, boundary, session duration and tags, and the policy's path and tags."""
    got = iam.get_role(RoleName=role)["Role"]
    assert got["Arn"] == role_arn(role), f"role ARN {got['Arn']} != {role_arn(role)}"
    assert got["Path"] == iam_path(), f"role path {got['Path']!r} != {iam_path()!r}"
    boundary = got.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn", "")
    assert boundary == os.environ.get("EXPECT_BOUNDARY", ""), f"permissions boundary {boundary!r}"
    duration = got["MaxSessionDuration"]
    assert duration == int(os.environ.get("EXPECT_DURATION", "3600")), f"max session duration {duration}"
    role_tags = sorted((t["Key"], t["Value"]) for t in iam.list_role_tags(RoleName=role)["Tags"])
    assert role_tags == expected_tags(), f"role tags {role_tags} != {expected_tags()}"
    meta = iam.get_policy(PolicyArn=policy_arn(policy))["Policy"]
    assert meta["Path"] == iam_path(), f"policy path {meta['Path']!r}"
    policy_tags = sorted((t["Key"], t["Value"]) for t in iam.list_policy_tags(PolicyArn=policy_arn(policy))["Tags"])
    assert policy_tags == expected_tags(), f"policy tags {policy_tags} != {expected_tags()}"


def associations(cluster, namespace, sa):
    eks = client("eks")
    ids = eks.list_pod_identity_associations(clusterName=cluster, namespace=namespace, serviceAccount=sa)
    return [
        eks.describe_pod_identity_association(clusterName=cluster, associationId=a["associationId"])["association"]
        for a in ids["associations"]
    ]


def bindings(cluster, namespace, sa):
    """(cluster, namespace, sa) of every binding: EXPECT_BINDINGS ("c/ns/sa;...",
    the first included) or the one given."""
    given = [tuple(b.split("/", 2)) for b in os.environ.get("EXPECT_BINDINGS", "").split(";") if b]
    return given or [(cluster, namespace, sa)]


def role_associations(clusters, role):
    """Every association of the clusters that names the role, as (cluster, namespace, sa)."""
    eks = client("eks")
    found = []
    for cluster in clusters:
        for a in eks.list_pod_identity_associations(clusterName=cluster)["associations"]:
            got = eks.describe_pod_identity_association(clusterName=cluster, associationId=a["associationId"])["association"]
            if got["roleArn"] == role_arn(role):
                found.append((cluster, got["namespace"], got["serviceAccount"]))
    return sorted(found)


def providers():
    return [p["Arn"] for p in client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]]


def trust_providers(bundle):
    """Every OIDC provider the bundle's trust policy names, each once."""
    trust = json.loads((bundle / "iam/trust-policy.json").read_text())
    found = []
    for statement in trust["Statement"]:
        federated = statement["Principal"].get("Federated")
        if federated and federated not in found:
            found.append(federated)
    return found


def applied(bundle, method, cluster, namespace, sa, role, policy):
    iam = client("iam")
    arn = policy_arn(policy)
    meta = iam.get_policy(PolicyArn=arn)["Policy"]
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=meta["DefaultVersionId"])["PolicyVersion"]["Document"]
    want = json.loads((bundle / "iam/s3-access-policy.json").read_text())
    assert doc == want, f"policy document differs:\n{doc}\n{want}"
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    want = json.loads((bundle / "iam/trust-policy.json").read_text())
    assert trust == want, f"trust policy differs:\n{trust}\n{want}"
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
    assert attached == [arn], f"attached policies: {attached}"
    check_role_options(iam, role, policy)
    bound = bindings(cluster, namespace, sa)
    clusters = sorted({b[0] for b in bound})
    if method in ("pod-identity", "both"):
        for c in clusters:
            addons = client("eks").list_addons(clusterName=c)["addons"]
            assert addons == ["eks-pod-identity-agent"], f"cluster {c}: {addons}"
        for c, ns, name in bound:
            found = associations(c, ns, name)
            assert [a["roleArn"] for a in found] == [role_arn(role)], f"{c}/{ns}/{name}: {found}"
        every = role_associations(clusters, role)
        assert every == sorted(bound), f"associations with the role {every} != the bindings {sorted(bound)}"
    if method in ("irsa", "both"):
        want = trust_providers(bundle)
        assert want, "the trust policy names no OIDC provider"
        for provider in want:
            assert provider in providers(), f"{provider} not in {providers()}"
            clients = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider)["ClientIDList"]
            assert clients == ["sts.amazonaws.com"], clients
    print(f"state: {method} resources present and equal to the bundle's documents; path {iam_path()}, boundary {os.environ.get('EXPECT_BOUNDARY') or 'none'}, {os.environ.get('EXPECT_DURATION', '3600')} s, tags {expected_tags()}")


def gone(bundle, method, cluster, namespace, sa, role, policy):
    iam = client("iam")
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert role not in roles, f"role {role} still exists"
    policies = [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert policy_arn(policy) not in policies, f"policy {policy} still exists"
    bound = bindings(cluster, namespace, sa)
    clusters = sorted({b[0] for b in bound})
    if method in ("pod-identity", "both"):
        for c, ns, name in bound:
            assert associations(c, ns, name) == [], f"association of {c}/{ns}/{name} still exists"
        left = role_associations(clusters, role)
        assert left == [], f"associations with the role remain: {left}"
        for c in clusters:
            addons = client("eks").list_addons(clusterName=c)["addons"]
            assert addons == ["eks-pod-identity-agent"], f"add-on of {c} must be kept: {addons}"
    if method in ("irsa", "both"):
        for provider in trust_providers(bundle):
            assert provider in providers(), f"the OIDC provider {provider} must be kept without --delete-oidc-provider"
    print(f"state: {method} resources removed; shared ones kept")


DEFAULT_SA = "skypilot-service-account"
MANAGED = "app.kubernetes.io/managed-by"
ROLE_ARN = "eks.amazonaws.com/role-arn"
INSTANCE = "app.kubernetes.io/instance"


def kube_state():
    with open(os.environ["KUBECTL_STUB_STATE"], encoding="utf-8") as f:
        return json.load(f)


def kube_find(state, kind, namespace, name):
    if kind == "namespace":
        return state["namespaces"].get(name)
    if kind == "serviceaccount":
        return state["serviceaccounts"].get(f"{namespace}/{name}")
    return state.get("rbac", {}).get(f"{kind}/{namespace}/{name}")


def manifests(bundle):
    """Every document of the bundle's kubernetes/*.yaml, by (kind, namespace, name)."""
    import yaml

    found = {}
    for path in sorted((bundle / "kubernetes").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                meta = doc["metadata"]
                found[(doc["kind"].lower(), meta.get("namespace", ""), meta["name"])] = doc
    return found


def expected_objects(method, namespace, sa, mode):
    """(kind, namespace, name) of what apply.sh creates, per SkyPilot 0.14.1 (see above)."""
    objects = []
    if namespace != "default":
        objects.append(("namespace", "", namespace))
    custom = sa != DEFAULT_SA
    if custom or method in ("irsa", "both"):
        objects.append(("serviceaccount", namespace, sa))
    if custom:
        for kind, ns in (("role", namespace), ("rolebinding", namespace), ("clusterrole", ""), ("clusterrolebinding", "")):
            objects.append((kind, ns, None))
        if mode != "COPY":
            objects.append(("namespace", "", "skypilot-system"))
            objects.append(("role", "skypilot-system", None))
            objects.append(("rolebinding", "skypilot-system", None))
    return objects


def preexisting():
    return [tuple(item.split("/", 2)) for item in os.environ.get("EXPECT_PREEXISTING", "").split(";") if item]


def resolve(bundle, method, namespace, sa, mode):
    """The expected objects with their manifests; RBAC names come from the bundle's files."""
    docs = manifests(bundle)
    out = []
    for kind, ns, name in expected_objects(method, namespace, sa, mode):
        if name is None:
            names = [n for (k, d, n) in docs if k == kind and d == ns]
            assert len(names) == 1, f"the bundle holds {len(names)} {kind} in {ns or 'the cluster'}: {names}"
            name = names[0]
        assert (kind, ns, name) in docs, f"the bundle has no manifest for {kind} {ns}/{name}"
        out.append((kind, ns, name, docs[(kind, ns, name)]))
    return out


def kube_applied(bundle, method, namespace, sa, mode):
    state = kube_state()
    before = preexisting()
    instance = None
    for kind, ns, name, doc in resolve(bundle, method, namespace, sa, mode):
        obj = kube_find(state, kind, ns, name)
        assert obj is not None, f"{kind} {ns}/{name} was not created"
        if kind == "serviceaccount" and method in ("irsa", "both"):
            want, got = doc["metadata"]["annotations"][ROLE_ARN], obj["annotations"].get(ROLE_ARN)
            assert got == want, f"serviceaccount {ns}/{name}: annotation {ROLE_ARN} is {got!r}, not {want!r}"
        if (kind, ns, name) in before:
            assert MANAGED not in obj["labels"], f"pre-existing {kind} {ns}/{name} was labelled: {obj['labels']}"
            continue
        if name == "skypilot-system" and obj["labels"].get("parent") == "skypilot":
            continue  # SkyPilot's own
        labels = doc["metadata"]["labels"]
        assert obj["labels"] == labels, f"{kind} {ns}/{name} labels {obj['labels']} != {labels}"
        assert labels[MANAGED] == "podiam", labels
        instance = instance or labels[INSTANCE]
        assert labels[INSTANCE] == instance, labels
        if "object" in obj:
            assert obj["object"] == doc, f"{kind} {ns}/{name} differs from the bundle's manifest"
    for kind, ns, name in before:
        assert kube_find(state, kind, ns, name) is not None, f"pre-existing {kind} {ns}/{name} is gone"
    print(f"kube state: {len(resolve(bundle, method, namespace, sa, mode))} objects as the bundle's manifests, labelled podiam")


def kube_gone(bundle, method, namespace, sa, mode):
    state = kube_state()
    before = preexisting()
    for kind, ns, name, _ in resolve(bundle, method, namespace, sa, mode):
        obj = kube_find(state, kind, ns, name)
        if (kind, ns, name) in before or name == "skypilot-system":
            assert obj is not None, f"{kind} {ns}/{name} must be kept"
            if kind == "serviceaccount" and method in ("irsa", "both"):
                left = obj["annotations"].get(ROLE_ARN)
                assert left is None, f"serviceaccount {ns}/{name} is kept, but teardown.sh left its annotation {ROLE_ARN}={left}"
        else:
            assert obj is None, f"{kind} {ns}/{name} is still there"
    print(f"kube state: podiam's objects removed; {len(before)} pre-existing kept")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "create-cluster":
        create_cluster(*args)
    elif command == "create-boundary":
        create_boundary(*args)
    elif command in ("applied", "gone"):
        globals()[command](pathlib.Path(args[0]), *args[1:])
    elif command == "kube-count":
        print(len(expected_objects(*args)))
    elif command in ("kube-applied", "kube-gone"):
        globals()[command.replace("-", "_")](pathlib.Path(args[0]), *args[1:])
    elif command == "providers":
        print("\n".join(providers()))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
