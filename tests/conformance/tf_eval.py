"""Helpers of check-20-terraform's evaluations: Terraform text read as blocks
and attributes, references swapped for mocks, and policy documents in a
comparable form (IAM reads a one-element list as its element and ignores the
order of lists and statements, so `semantic` compares two documents as IAM
would read them).
"""

import json
import pathlib
import re


def read_blocks(src):
    """The text of every `*.tf` file of `src`, and its top-level blocks as (kind, labels, body)."""
    text = "\n".join(p.read_text() for p in sorted(pathlib.Path(src).glob("*.tf")))
    return text, re.findall(r'(?ms)^(\w+)((?: "[^"]*")*) \{\n(.*?)^\}', text)


def attribute(body, key):
    """The expression of attribute `key` (indented two spaces), brackets balanced."""
    lines = body.split("\n")
    for i, line in enumerate(lines):
        m = re.match(rf"^  {key}\s*=\s*(.*)$", line)
        if not m:
            continue
        expr = [m.group(1)]
        depth = sum(m.group(1).count(c) for c in "([{") - sum(m.group(1).count(c) for c in ")]}")
        for more in lines[i + 1:]:
            if depth <= 0:
                break
            expr.append(more)
            depth += sum(more.count(c) for c in "([{") - sum(more.count(c) for c in ")]}")
        return "\n".join(expr)
    raise SystemExit(f"no attribute {key}")


def substitute(expr, mocks):
    """`expr` with each (pattern, local) of `mocks` replaced."""
    for pattern, local in mocks:
        expr = re.sub(pattern, local, expr)
    return expr


def variables_and_locals(blocks, mocked):
    """The variable blocks as they are and the locals blocks through `mocked`."""
    out = [f"variable {labels.strip()} {{\n{body}}}\n" for k, labels, body in blocks if k == "variable"]
    return out + [f"locals {{\n{mocked(body)}}}\n" for k, labels, body in blocks if k == "locals"]


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
