"""A recording kubectl for the conformance suite: there is no API server here.

Every call is appended to $KUBECTL_STUB_LOG as one JSON line (argv, and the
YAML read from stdin for `create -f -`, or from FILE for `create -f FILE`).
Calls with --dry-run=client or --local need no server and run the real
kubectl ($REAL_KUBECTL). The others act on a small JSON state file
($KUBECTL_STUB_STATE) of contexts, namespaces, service accounts, pods and RBAC
objects (Role, RoleBinding, ClusterRole, ClusterRoleBinding, stored whole).
`create -f FILE -l k=v` creates the documents of FILE whose labels match, as
kubectl filters files by the selector. Deleting a namespace deletes what it
holds. Anything else, including an unknown flag, fails.
"""

import json
import os
import re
import subprocess
import sys

import yaml

STATE = os.environ["KUBECTL_STUB_STATE"]
LOG = os.environ["KUBECTL_STUB_LOG"]
VALUE_FLAGS = {"--context", "--namespace", "-o", "-f", "-l"}
NAMESPACED = {"serviceaccount", "pod", "role", "rolebinding"}
CLUSTER = {"namespace", "clusterrole", "clusterrolebinding"}
KINDS = {k.lower(): k for k in ("Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")}
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


def table(state, kind, namespace, name):
    """The dict that holds objects of KIND, and the key of NAME in it."""
    if kind == "namespace":
        return state["namespaces"], name
    if kind == "serviceaccount":
        return state["serviceaccounts"], f"{namespace}/{name}"
    if kind == "pod":
        return state.setdefault("pods", {}), f"{namespace}/{name}"
    if kind in NAMESPACED:
        return state.setdefault("rbac", {}), f"{kind}/{namespace}/{name}"
    if kind in CLUSTER:
        return state.setdefault("rbac", {}), f"{kind}//{name}"
    die(f"kubectl stub: unsupported kind {kind}")


def find(state, kind, name, namespace):
    objects, key = table(state, kind, namespace, name)
    return objects.get(key)


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


def listing(state, flags, words):
    """`get KIND[,KIND...] --namespace NS -o name`: every object of those kinds in NS."""
    namespace = flags.get("--namespace", "default")
    if flags.get("-o") != "name":
        die("kubectl stub: a listing needs -o name")
    for kind in words[1].split(","):
        kind = kind[:-1] if kind.endswith("s") else kind
        if kind not in NAMESPACED:
            die(f"kubectl stub: cannot list {kind}")
        objects, prefix = table(state, kind, namespace, "")
        for key in sorted(objects):
            if key.startswith(prefix):
                print(f"{kind}/{key[len(prefix):]}")


def get(state, flags, words):
    if len(words) == 2:
        listing(state, flags, words)
        return
    kind, name = words[1], words[2]
    namespace = flags.get("--namespace", "default")
    obj = find(state, kind, name, namespace)
    if obj is None:
        if flags.get("--ignore-not-found"):
            return
        die(f'Error from server (NotFound): {kind}s "{name}" not found')
    output(obj, kind, name, flags.get("-o"))


def selected(doc, selector):
    labels = (doc.get("metadata") or {}).get("labels") or {}
    wanted = [item.split("=", 1) for item in selector.split(",")] if selector else []
    return all(labels.get(k) == v for k, v in wanted)


def create(state, flags, words, stdin):
    if words != ["create"] or not flags.get("-f"):
        die("kubectl stub: only `create -f -` and `create -f FILE [-l SELECTOR]` are supported")
    docs = [d for d in yaml.safe_load_all(stdin) if d is not None]
    docs = [d for d in docs if selected(d, flags.get("-l"))]
    if not docs:
        die("error: no objects passed to create")
    for doc in docs:
        create_one(state, doc)


def create_one(state, doc):
    kind, meta = KINDS.get(doc["kind"].lower(), doc["kind"]), doc["metadata"]
    name, lower = meta["name"], doc["kind"].lower()
    if lower not in NAMESPACED | CLUSTER:
        die(f"kubectl stub: unsupported kind {kind}")
    namespace = meta.get("namespace", "default") if lower in NAMESPACED else None
    if namespace is not None and namespace not in state["namespaces"]:
        die(f'Error from server (NotFound): namespaces "{namespace}" not found')
    objects, key = table(state, lower, namespace, name)
    if key in objects:
        die(f'Error from server (AlreadyExists): {lower}s "{name}" already exists')
    record = {"labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {}}
    if lower not in ("namespace", "serviceaccount"):
        record["object"] = doc
    objects[key] = record
    print(f"{lower}/{name} created")


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
    objects, key = table(state, kind, namespace, name)
    del objects[key]
    if kind == "namespace":
        state["serviceaccounts"] = {k: v for k, v in state["serviceaccounts"].items() if not k.startswith(name + "/")}
        state["pods"] = {k: v for k, v in state.get("pods", {}).items() if not k.startswith(name + "/")}
        state["rbac"] = {k: v for k, v in state.get("rbac", {}).items() if k.split("/")[1] != name}
    print(f'{kind} "{name}" deleted')


def main():
    argv = sys.argv[1:]
    if "--dry-run=client" in argv or "--local" in argv:
        stdin = None if sys.stdin.isatty() else sys.stdin.read()
        log(argv, stdin)
        real = subprocess.run([os.environ["REAL_KUBECTL"], *argv], input=stdin, text=True)
        sys.exit(real.returncode)
    flags, words = parse(argv)
    stdin = None
    if words == ["create"] and flags.get("-f") == "-":
        stdin = sys.stdin.read()
    elif words == ["create"] and flags.get("-f"):
        with open(flags["-f"], encoding="utf-8") as f:
            stdin = f.read()
    log(argv, stdin)
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
    elif words and words[0] in verbs and (len(words) >= 3 or (words[0] == "get" and len(words) == 2)):
        verbs[words[0]](state, flags, words)
    else:
        die(f"kubectl stub: unsupported call: {argv}")
    save(state)


if __name__ == "__main__":
    main()
