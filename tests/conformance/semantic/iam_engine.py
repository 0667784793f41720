"""IAM evaluation through principalmapper 1.1.5 (an engine independent of podiam).

principalmapper judges Action, Resource and Condition of a statement
(`policy_has_matching_statement`). It knows no Principal element, so for a
trust policy this module matches the statement's Principal against the
caller itself, exactly (or "*"), and hands principalmapper a copy of the
statement without it. The decision follows IAM: an explicit Deny wins, else
any Allow, else the implicit deny.
"""

import collections
import collections.abc

# principalmapper 1.1.5 imports Mapping and MutableMapping from `collections`,
# which Python 3.10 removed: alias them before the import.
for _name in ("Mapping", "MutableMapping", "Sequence", "Iterable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

from principalmapper.querying.local_policy_simulation import policy_has_matching_statement  # noqa: E402
from principalmapper.util.case_insensitive_dict import CaseInsensitiveDict  # noqa: E402

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "allow", "explicit-deny", "implicit-deny"


def _listify(value):
    return value if isinstance(value, list) else [value]


def _context(keys: dict) -> CaseInsensitiveDict:
    # principalmapper compares Bool/Null values with the strings "true" and
    # "false" and every other value as a string (or a list of strings).
    ctx = CaseInsensitiveDict()
    for key, value in keys.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        ctx[key] = value
    return ctx


def _check_supported(statement: dict) -> None:
    # principalmapper falls into its NotAction branch without "Action", and a
    # NotPrincipal would need the matching below to be inverted: refuse both
    # rather than judge them wrongly.
    if "Action" not in statement and "NotAction" not in statement:
        raise ValueError(f"statement without Action or NotAction: {statement}")
    if "NotPrincipal" in statement:
        raise ValueError(f"NotPrincipal is not supported by this checker: {statement}")
    if statement.get("Effect") not in ("Allow", "Deny"):
        raise ValueError(f"Effect must be exactly Allow or Deny: {statement}")


def identity_decision(policy: dict, action: str, resource: str, keys: dict) -> str:
    """Decision of an identity-based (permission) policy for one request."""
    for statement in _listify(policy["Statement"]):
        _check_supported(statement)
        if "Principal" in statement:
            raise ValueError(f"a permission policy statement has a Principal: {statement}")
    ctx = _context(keys)
    if policy_has_matching_statement(policy, "Deny", action, resource, ctx):
        return EXPLICIT_DENY
    if policy_has_matching_statement(policy, "Allow", action, resource, ctx):
        return ALLOW
    return IMPLICIT_DENY


def _principal_matches(element, principal_type: str, principal_value: str) -> bool:
    """A trust statement's Principal against the caller, e.g. ("Service",
    "pods.eks.amazonaws.com") or ("Federated", "arn:aws:iam::1:oidc-provider/...")."""
    if element == "*":
        return True
    if not isinstance(element, dict):
        raise ValueError(f"malformed Principal: {element!r}")
    for kind, values in element.items():
        if kind not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise ValueError(f"unknown Principal type {kind!r}")
        if kind == principal_type and any(v == "*" or v == principal_value for v in _listify(values)):
            return True
    return False


def trust_decision(policy: dict, principal: tuple, action: str, role_arn: str, keys: dict) -> str:
    """Decision of a role trust policy for one call of `action` by `principal`."""
    ctx = _context(keys)
    matched = {"Allow": False, "Deny": False}
    for statement in _listify(policy["Statement"]):
        _check_supported(statement)
        if "Principal" not in statement:
            raise ValueError(f"a trust policy statement without Principal: {statement}")
        if not _principal_matches(statement["Principal"], *principal):
            continue
        rest = {k: v for k, v in statement.items() if k != "Principal"}
        single = {"Version": policy.get("Version", "2012-10-17"), "Statement": [rest]}
        effect = statement["Effect"]
        if policy_has_matching_statement(single, effect, action, role_arn, ctx):
            matched[effect] = True
    if matched["Deny"]:
        return EXPLICIT_DENY
    if matched["Allow"]:
        return ALLOW
    return IMPLICIT_DENY


class IamSimulate:
    """The second engine: @cloud-copilot/iam-simulate's runSimulation in a node
    process (iam_simulate.mjs), one request per line.

    Its runSimulation validates each request against AWS's service reference:
    it judges a wildcard resource as "may any matching resource be reached"
    (not the literal ARN IAM compares), refuses an action on a resource type
    it does not take, and ignores context keys that the action does not
    carry, which includes an OIDC provider's <issuer>:sub and :aud keys.
    `decision` returns None for those requests: principalmapper alone judges
    them."""

    def __init__(self, script: str, project_dir: str):
        import subprocess  # pylint: disable=import-outside-toplevel
        self.proc = subprocess.Popen(["node", script, project_dir], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def run(self, simulation: dict) -> dict:
        import json  # pylint: disable=import-outside-toplevel
        self.proc.stdin.write(json.dumps(simulation) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("iam-simulate stopped")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)

    def decision(self, principal: str, action: str, resource: str, resource_account: str, keys: dict,
                 identity_policies=(), resource_policy=None):
        """-> (decision or None, why not judged)"""
        if "*" in resource:
            return None, "wildcard resource"
        simulation = {
            "request": {"principal": principal, "action": action,
                        "resource": {"resource": resource, "accountId": resource_account},
                        "contextVariables": {k: v for k, v in keys.items()}},
            "identityPolicies": [{"name": f"policy{i}", "policy": p} for i, p in enumerate(identity_policies)],
            "serviceControlPolicies": [], "resourceControlPolicies": [],
        }
        if resource_policy is not None:
            simulation["resourcePolicy"] = resource_policy
        answer = self.run(simulation)
        if answer["resultType"] != "single":
            return None, f"{answer['resultType']}: {(answer.get('errors') or {}).get('message')}"
        if answer["ignoredContextKeys"]:
            return None, f"ignored context keys {answer['ignoredContextKeys']}"
        result = answer["overallResult"]
        if result == "Allowed":
            return ALLOW, ""
        if result == "ExplicitlyDenied":
            return EXPLICIT_DENY, ""
        if result == "ImplicitlyDenied":
            return IMPLICIT_DENY, ""
        return None, f"result {result}"
