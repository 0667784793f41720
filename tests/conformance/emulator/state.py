"""Reads and seeds the emulator's state with boto3, independent of the scripts.

  state.py create-cluster NAME            creates an EKS cluster, prints its OIDC issuer
  state.py applied BUNDLE METHOD CLUSTER NAMESPACE SA ROLE POLICY
                                          asserts what apply.sh must have created
  state.py gone BUNDLE METHOD CLUSTER NAMESPACE SA ROLE POLICY
                                          asserts what teardown.sh must have removed,
                                          and that the add-on / OIDC provider are kept

The endpoint and credentials come from the AWS_* environment variables.
"""

import json
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


def policy_arn(policy):
    return f"arn:aws:iam::{ACCOUNT}:policy/{policy}"


def role_arn(role):
    return f"arn:aws:iam::{ACCOUNT}:role/{role}"


def associations(cluster, namespace, sa):
    eks = client("eks")
    ids = eks.list_pod_identity_associations(clusterName=cluster, namespace=namespace, serviceAccount=sa)
    return [
        eks.describe_pod_identity_association(clusterName=cluster, associationId=a["associationId"])["association"]
        for a in ids["associations"]
    ]


def providers():
    return [p["Arn"] for p in client("iam").list_open_id_connect_providers()["OpenIDConnectProviderList"]]


def trust_provider(bundle):
    trust = json.loads((bundle / "iam/trust-policy.json").read_text())
    return trust["Statement"][0]["Principal"]["Federated"]


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
    if method == "pod-identity":
        addons = client("eks").list_addons(clusterName=cluster)["addons"]
        assert addons == ["eks-pod-identity-agent"], addons
        found = associations(cluster, namespace, sa)
        assert [a["roleArn"] for a in found] == [role_arn(role)], found
    else:
        provider = trust_provider(bundle)
        assert provider in providers(), f"{provider} not in {providers()}"
        clients = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider)["ClientIDList"]
        assert clients == ["sts.amazonaws.com"], clients
    print(f"state: {method} resources present and equal to the bundle's documents")


def gone(bundle, method, cluster, namespace, sa, role, policy):
    iam = client("iam")
    roles = [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert role not in roles, f"role {role} still exists"
    policies = [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert policy_arn(policy) not in policies, f"policy {policy} still exists"
    if method == "pod-identity":
        assert associations(cluster, namespace, sa) == [], "association still exists"
        addons = client("eks").list_addons(clusterName=cluster)["addons"]
        assert addons == ["eks-pod-identity-agent"], f"add-on must be kept: {addons}"
    else:
        assert trust_provider(bundle) in providers(), "the OIDC provider must be kept without --delete-oidc-provider"
    print(f"state: {method} resources removed; shared ones kept")


def main():
    command, args = sys.argv[1], sys.argv[2:]
    if command == "create-cluster":
        create_cluster(*args)
    elif command in ("applied", "gone"):
        globals()[command](pathlib.Path(args[0]), *args[1:])
    elif command == "providers":
        print("\n".join(providers()))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
