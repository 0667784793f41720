"""A recording kubectl for the conformance suite: there is no API server here.

Every call is appended to $KUBECTL_STUB_LOG as one JSON line (argv, and the
YAML read from stdin for `create -f -`). Calls with --dry-run=client or
--local need no server and run the real kubectl ($REAL_KUBECTL). The others
act on a small JSON state file ($KUBECTL_STUB_STATE) of contexts, namespaces
and service accounts. Anything else, including an unknown flag, fails.
"""

import json
import os
import re
import subprocess
import sys

import yaml

STATE = os.environ["KUBECTL_STUB_STATE"]
LOG = os.environ["KUBECTL_STUB_LOG"]
VALUE_FLAGS = {"--context", "--namespace", "-o", "-f"}
BOOL_FLAGS = {"--ignore-not-found", "--overwrite"}
JSONPATH = re.compile(r"^jsonpath=\{\.metadata\.(annotations|labels)\.(.+)\}$")


def load():
    with open(STATE, encoding="utf-8") as f:
        return json.load(f)


def save(state):
    with open(STATE, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, sort_keys=True)


def log(argv, stdin=None):
    with open(LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps({"argv": argv, "stdin": stdin}) + "\n")


def die(message, code=1):
    sys.stderr.write(message + "\n")
    sys.exit(code)


def parse(argv):
    flags, words, i = {}, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in VALUE_FLAGS:
            if i + 1 >= len(argv):
                die(f"error: flag needs an argument: {arg}")
            flags[arg] = argv[i + 1]
            i += 2
        elif arg in BOOL_FLAGS:
            flags[arg] = True
            i += 1
        elif arg.startswith("-") and arg != "-":
            die(f"error: unknown flag: {arg}")
        else:
            words.append(arg)
            i += 1
    return flags, words


def find(state, kind, name, namespace):
    if kind == "namespace":
        return state["namespaces"].get(name)
    if kind == "serviceaccount":
        return state["serviceaccounts"].get(f"{namespace}/{name}")
    die(f"kubectl stub: unsupported kind {kind}")


def output(obj, kind, name, fmt):
    if fmt == "name":
        print(f"{kind}/{name}")
        return
    match = JSONPATH.match(fmt or "")
    if not match:
        die(f"kubectl stub: unsupported output {fmt!r}")
    key = match.group(2).replace("\\.", ".")
    value = obj.get(match.group(1), {}).get(key, "")
    sys.stdout.write(value)


def get(state, flags, words):
    kind, name = words[1], words[2]
    namespace = flags.get("--namespace", "default")
    obj = find(state, kind, name, namespace)
    if obj is None:
        if flags.get("--ignore-not-found"):
            return
        die(f'Error from server (NotFound): {kind}s "{name}" not found')
    output(obj, kind, name, flags.get("-o"))


def create(state, flags, words, stdin):
    if words != ["create"] or flags.get("-f") != "-":
        die("kubectl stub: only `create -f -` is supported")
    doc = yaml.safe_load(stdin)
    kind, meta = doc["kind"], doc["metadata"]
    name, labels = meta["name"], meta.get("labels") or {}
    record = {"labels": labels, "annotations": meta.get("annotations") or {}}
    if kind == "Namespace":
        if name in state["namespaces"]:
            die(f'Error from server (AlreadyExists): namespaces "{name}" already exists')
        state["namespaces"][name] = record
    elif kind == "ServiceAccount":
        namespace = meta.get("namespace", "default")
        if namespace not in state["namespaces"]:
            die(f'Error from server (NotFound): namespaces "{namespace}" not found')
        key = f"{namespace}/{name}"
        if key in state["serviceaccounts"]:
            die(f'Error from server (AlreadyExists): serviceaccounts "{name}" already exists')
        state["serviceaccounts"][key] = record
    else:
        die(f"kubectl stub: unsupported kind {kind}")
    print(f"{kind.lower()}/{name} created")


def annotate(state, flags, words):
    kind, name, change = words[1], words[2], words[3:]
    namespace = flags.get("--namespace", "default")
    obj = find(state, kind, name, namespace)
    if obj is None:
        die(f'Error from server (NotFound): {kind}s "{name}" not found')
    for item in change:
        if item.endswith("-") and "=" not in item:
            obj["annotations"].pop(item[:-1], None)
            continue
        key, _, value = item.partition("=")
        if key in obj["annotations"] and not flags.get("--overwrite"):
            die(f"error: --overwrite is false but found the following declared annotation(s): '{key}' already has a value")
        obj["annotations"][key] = value
    print(f"{kind}/{name} annotated")


def delete(state, flags, words):
    kind, name = words[1], words[2]
    namespace = flags.get("--namespace", "default")
    if find(state, kind, name, namespace) is None:
        if flags.get("--ignore-not-found"):
            return
        die(f'Error from server (NotFound): {kind}s "{name}" not found')
    if kind == "namespace":
        del state["namespaces"][name]
        state["serviceaccounts"] = {k: v for k, v in state["serviceaccounts"].items() if not k.startswith(name + "/")}
    else:
        del state["serviceaccounts"][f"{namespace}/{name}"]
    print(f'{kind} "{name}" deleted')


def main():
    argv = sys.argv[1:]
    if "--dry-run=client" in argv or "--local" in argv:
        stdin = None if sys.stdin.isatty() else sys.stdin.read()
        log(argv, stdin)
        real = subprocess.run([os.environ["REAL_KUBECTL"], *argv], input=stdin, text=True)
        sys.exit(real.returncode)
    stdin = sys.stdin.read() if argv[:3] == ["create", "-f", "-"] or argv[-3:] == ["create", "-f", "-"] else None
    log(argv, stdin)
    flags, words = parse(argv)
    state = load()
    context = flags.get("--context")
    if words[:2] == ["config", "get-contexts"]:
        print("\n".join(state["contexts"]))
        return
    if state.get("require_context") and context != state["require_context"]:
        die(f"kubectl stub: expected --context {state['require_context']}, got {context}")
    verbs = {"get": get, "annotate": annotate, "delete": delete}
    if words and words[0] == "create":
        create(state, flags, words, stdin)
    elif words and words[0] in verbs and len(words) >= 3:
        verbs[words[0]](state, flags, words)
    else:
        die(f"kubectl stub: unsupported call: {argv}")
    save(state)


if __name__ == "__main__":
    main()
