"""moto's server, plus the EKS endpoints moto 5.2 lacks, on 127.0.0.1.

moto implements IAM, STS, EKS clusters and OIDC providers, but answers 404
for EKS add-ons and Pod Identity associations. This launcher puts a small
WSGI layer in front of moto's own server application that serves those
endpoints from in-memory state, with the error codes EKS returns:

- ResourceNotFoundException (404) for an unknown cluster, add-on or association;
- ResourceInUseException (409) for a second association of one namespace and
  service account, or a second add-on of one name;
- InvalidParameterException (400) for a role ARN that IAM does not know, a
  missing parameter, or a session policy on an association that keeps its
  session tags (EKS requires disableSessionTags for one).

Associations carry disableSessionTags (false unless asked), and targetRoleArn
with its externalId when a target role is given, as EKS returns them since
June 2025; UpdatePodIdentityAssociation changes the role, the target role and
disableSessionTags. The externalId is
"<region>/<cluster account>/<cluster>/<namespace>/<service account>", the
format the AWS EKS user guide documents ("Access AWS Resources using EKS Pod
Identity Target IAM Roles") and the EKS launch post's
create-pod-identity-association output shows. With the environment variable
EMULATOR_EXTERNAL_ID_SKEW set, that text is appended to every externalId: a
test hook that stands for EKS giving another value than the documented one. IAM's AddClientIDToOpenIDConnectProvider, which moto
lacks, adds an audience to a provider moto holds.

Every request is appended to the log file given by --log as
"<service> <operation>" so a test can tell reads from writes.

Usage: python aws_emulator.py --port-file FILE --log FILE
Binds port 0 (the kernel picks a free port) and writes the port to FILE.
"""

import argparse
import io
import json
import os
import re
import secrets
import threading
import time
import uuid
from urllib.parse import parse_qs, unquote

from moto.eks import models as eks_models
from moto.eks.models import eks_backends
from moto.iam.models import iam_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

ACCOUNT = "123456789012"

# Real EKS issuer ids are 32 uppercase hex digits; moto's are 10 mixed-case
# letters, which podiam rightly refuses. Make moto's clusters look like EKS's.
eks_models.ISSUER_TEMPLATE = "https://oidc.eks.{region}.amazonaws.com/id/" + secrets.token_hex(16).upper()

ADDON_PATH = re.compile(r"^/clusters/(?P<cluster>[^/]+)/addons(?:/(?P<addon>[^/]+))?$")
ASSOC_PATH = re.compile(r"^/clusters/(?P<cluster>[^/]+)/pod-identity-associations(?:/(?P<id>[^/]+))?$")
SCOPE = re.compile(r"Credential=[^/]+/[^/]+/(?P<region>[^/]+)/(?P<service>[^/]+)/")


class EksExtension:
    """Add-ons and Pod Identity associations, keyed by (region, cluster)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.addons = {}
        self.associations = {}

    def cluster_exists(self, region, cluster):
        return cluster in eks_backends[ACCOUNT][region].clusters

    def role_exists(self, arn):
        partition = arn.split(":")[1] if arn.count(":") >= 5 else "aws"
        backend = iam_backends[ACCOUNT][partition]
        return any(role.arn == arn for role in backend.get_roles())

    def handle(self, method, path, query, body, region):
        """Returns (status, payload) or None when the path is not ours."""
        for pattern, handler in ((ADDON_PATH, self.addon), (ASSOC_PATH, self.association)):
            match = pattern.match(unquote(path))
            if match:
                groups = match.groupdict()
                if not self.cluster_exists(region, groups["cluster"]):
                    return error(404, "ResourceNotFoundException", f"No cluster found for name: {groups['cluster']}.")
                with self.lock:
                    return handler(method, groups, query, body, region)
        return None

    def addon(self, method, groups, query, body, region):
        cluster, name = groups["cluster"], groups.get("addon")
        addons = self.addons.setdefault((region, cluster), {})
        if name is None and method == "GET":
            return 200, {"addons": sorted(addons), "nextToken": None}
        if name is None and method == "POST":
            name = body.get("addonName")
            if not name:
                return error(400, "InvalidParameterException", "addonName is required")
            if name in addons:
                return error(409, "ResourceInUseException", f"Addon already exists: {name}")
            addons[name] = addon_record(region, cluster, name, body)
            return 200, {"addon": dict(addons[name])}
        if name not in addons:
            return error(404, "ResourceNotFoundException", f"No addon: {name} found in cluster: {cluster}")
        record = addons[name]
        if method == "GET":
            shown = dict(record)
            # The first describe after create sees CREATING, later ones ACTIVE,
            # so a script's wait loop is exercised.
            if record["status"] == "CREATING":
                record["status"] = "ACTIVE"
            return 200, {"addon": shown}
        if method == "DELETE":
            del addons[name]
            return 200, {"addon": dict(record, status="DELETING")}
        return error(400, "InvalidParameterException", f"{method} is not supported on an addon")

    def association(self, method, groups, query, body, region):
        cluster, assoc_id = groups["cluster"], groups.get("id")
        table = self.associations.setdefault((region, cluster), {})
        if assoc_id is None and method == "GET":
            found = [
                summary(a)
                for a in table.values()
                if query.get("namespace", [a["namespace"]])[0] == a["namespace"]
                and query.get("serviceAccount", [a["serviceAccount"]])[0] == a["serviceAccount"]
            ]
            return 200, {"associations": found, "nextToken": None}
        if assoc_id is None and method == "POST":
            return self.create_association(table, region, cluster, body)
        if assoc_id not in table:
            return error(404, "ResourceNotFoundException", f"No Pod Identity Association found for id: {assoc_id}")
        if method == "GET":
            return 200, {"association": shown(table[assoc_id])}
        if method == "DELETE":
            return 200, {"association": table.pop(assoc_id)}
        if method == "POST":
            return self.update_association(table[assoc_id], body)
        return error(400, "InvalidParameterException", f"{method} is not supported on an association")

    def update_association(self, record, body):
        role = body.get("roleArn") or record["roleArn"]
        if not self.role_exists(role):
            return error(400, "InvalidParameterException", f"Role {role} does not exist")
        changed = dict(record, roleArn=role)
        if "disableSessionTags" in body:
            changed["disableSessionTags"] = bool(body["disableSessionTags"])
        if "policy" in body:
            changed["policy"] = body["policy"] or None
        if "targetRoleArn" in body:
            changed["targetRoleArn"] = body["targetRoleArn"] or None
        problem = session_problem(changed)
        if problem:
            return error(400, "InvalidParameterException", problem)
        record.clear()
        record.update(with_target(changed))
        record["modifiedAt"] = time.time()
        return 200, {"association": shown(record)}

    def create_association(self, table, region, cluster, body):
        for key in ("namespace", "serviceAccount", "roleArn"):
            if not body.get(key):
                return error(400, "InvalidParameterException", f"{key} is required")
        if not self.role_exists(body["roleArn"]):
            return error(400, "InvalidParameterException", f"Role {body['roleArn']} does not exist")
        problem = session_problem(body)
        if problem:
            return error(400, "InvalidParameterException", problem)
        for a in table.values():
            if (a["namespace"], a["serviceAccount"]) == (body["namespace"], body["serviceAccount"]):
                return error(409, "ResourceInUseException", f"Association already exists: {a['associationArn']}")
        assoc_id = "a-" + uuid.uuid4().hex[:17]
        now = time.time()
        table[assoc_id] = {
            "clusterName": cluster,
            "namespace": body["namespace"],
            "serviceAccount": body["serviceAccount"],
            "roleArn": body["roleArn"],
            "associationArn": f"arn:aws:eks:{region}:{ACCOUNT}:podidentityassociation/{cluster}/{assoc_id}",
            "associationId": assoc_id,
            "tags": body.get("tags") or {},
            "createdAt": now,
            "modifiedAt": now,
            "disableSessionTags": bool(body.get("disableSessionTags", False)),
            "targetRoleArn": body.get("targetRoleArn") or None,
            "policy": body.get("policy") or None,
        }
        table[assoc_id] = with_target(table[assoc_id])
        return 200, {"association": shown(table[assoc_id])}


def addon_record(region, cluster, name, body):
    now = time.time()
    return {
        "addonName": name,
        "clusterName": cluster,
        "status": "CREATING",
        "addonVersion": body.get("addonVersion") or "v1.3.4-eksbuild.1",
        "health": {"issues": []},
        "addonArn": f"arn:aws:eks:{region}:{ACCOUNT}:addon/{cluster}/{name}/{uuid.uuid4()}",
        "createdAt": now,
        "modifiedAt": now,
        "tags": body.get("tags") or {},
    }


def session_problem(a):
    """EKS refuses a session policy on an association that keeps session tags."""
    if a.get("policy") and not a.get("disableSessionTags"):
        return "disableSessionTags must be true when a session policy is given"
    return None


def with_target(a):
    """The record with externalId set exactly when it names a target role."""
    a = dict(a)
    a.pop("externalId", None)
    if a.get("targetRoleArn"):
        region = a["associationArn"].split(":")[3]
        a["externalId"] = (
            f"{region}/{ACCOUNT}/{a['clusterName']}/{a['namespace']}/{a['serviceAccount']}"
            + os.environ.get("EMULATOR_EXTERNAL_ID_SKEW", "")
        )
    return a


def shown(a):
    """An association as DescribePodIdentityAssociation returns it: optional fields only when set."""
    return {k: v for k, v in a.items() if v is not None}


def summary(a):
    keys = ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId")
    return {k: a[k] for k in keys}


def error(status, code, message):
    return status, {"__type": code, "message": message}, code


class App:
    """WSGI: our EKS routes first, moto for everything else; logs each call."""

    def __init__(self, log_path):
        self.moto = DomainDispatcherApplication(create_backend_app)
        self.eks = EksExtension()
        self.log_path = log_path
        self.log_lock = threading.Lock()

    def log(self, line):
        with self.log_lock, open(self.log_path, "a", encoding="utf-8") as f:
            f.write(line + "\n")

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        scope = SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = scope["service"] if scope else "?"
        region = scope["region"] if scope else "us-east-1"
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        if service in ("iam", "sts"):
            form = parse_qs(body.decode("utf-8", "replace"))
            action = form.get("Action", ["?"])[0]
            self.log(f"{service} {action}")
            if action == "AddClientIDToOpenIDConnectProvider":
                return respond_xml(start_response, add_client_id(form))
        else:
            self.log(f"{service} {method} {path}")
        if service == "eks":
            payload = json.loads(body) if body else {}
            query = parse_qs(environ.get("QUERY_STRING", ""))
            answer = self.eks.handle(method, path, query, payload, region)
            if answer is not None:
                return respond(start_response, answer)
        return self.moto(environ, start_response)


def add_client_id(form):
    """IAM AddClientIDToOpenIDConnectProvider on moto's provider (idempotent, as in IAM)."""
    arn = form.get("OpenIDConnectProviderArn", [""])[0]
    client_id = form.get("ClientID", [""])[0]
    partition = arn.split(":")[1] if arn.count(":") >= 5 else "aws"
    provider = iam_backends[ACCOUNT][partition].open_id_providers.get(arn)
    if not client_id:
        return 400, iam_error("Sender", "ValidationError", "ClientID is required")
    if provider is None:
        return 404, iam_error("Sender", "NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}")
    if client_id not in provider.client_id_list:
        provider.client_id_list.append(client_id)
    return 200, (
        '<AddClientIDToOpenIDConnectProviderResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</AddClientIDToOpenIDConnectProviderResponse>"
    )


def iam_error(kind, code, message):
    return (
        '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )


def respond_xml(start_response, answer):
    status, text = answer
    data = text.encode()
    headers = [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))]
    start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers)
    return [data]


def respond(start_response, answer):
    status, payload = answer[0], answer[1]
    headers = [("Content-Type", "application/json")]
    if len(answer) > 2:
        headers.append(("x-amzn-ErrorType", answer[2]))
    data = json.dumps(payload).encode()
    headers.append(("Content-Length", str(len(data))))
    start_response(f"{status} {'OK' if status == 200 else 'Error'}", headers)
    return [data]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    server = make_server("127.0.0.1", 0, App(args.log), threaded=True)
    with open(args.port_file + ".tmp", "w", encoding="utf-8") as f:
        f.write(str(server.server_port))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
