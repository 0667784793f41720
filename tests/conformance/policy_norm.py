"""Policy documents in a comparable form, for the conformance checks.

IAM reads a one-element list as its element and ignores the order of lists
and statements, so `semantic` compares two documents as IAM would read them.
"""

import json


def norm(v):
    """Strings as one-element lists, lists of strings sorted, recursively."""
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return sorted(v)
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    return v


def semantic(policy):
    """The version and the sorted, normalised statements of `policy`."""
    return policy["Version"], sorted(json.dumps(norm(s), sort_keys=True) for s in policy["Statement"])
