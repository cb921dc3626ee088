"""Derive the JSON schemas in this folder from the projects' published CRDs (run by hand; the tests only read
the derived files, nothing is downloaded at test time).

    python tests/k8s/schemas/derive_crds.py GIT_DIR_GATEWAY_API GIT_DIR_KEDA GIT_DIR_KEDA_HTTP GIT_DIR_ISTIO_API

Each argument is a git directory of the project named in SOURCES (a clone of its GitHub repository); the CRD
is read at the release tag with ``git show TAG:PATH``. The derived schema keeps the CRD's ``openAPIV3Schema``
of one served version, with three changes, each recorded in the file's ``$comment``:

- objects that list their ``properties`` and do not preserve unknown fields get ``additionalProperties:
  false``: the API server's strict field validation (``kubectl apply --validate=strict``, server-side apply)
  rejects unknown fields, which a plain JSON-Schema reading of the CRD would let through;
- ``nullable`` and ``x-kubernetes-int-or-string`` become JSON-Schema types; descriptions, defaults and the
  other ``x-kubernetes-*`` keys are dropped (the CEL rules in ``x-kubernetes-validations`` are not checked);
- ``metadata`` is the ObjectMeta subset the bundle writes (name, namespace, labels, annotations); ``status``
  is dropped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
DNS = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
SUBDOMAIN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

#: out file -> (repository, tag, path in the repository, CRD name, version)
SOURCES = {
    "httproute-v1.schema.json": ("kubernetes-sigs/gateway-api", "v1.6.1",
                                 "config/crd/standard/gateway.networking.k8s.io_httproutes.yaml",
                                 "httproutes.gateway.networking.k8s.io", "v1"),
    "grpcroute-v1.schema.json": ("kubernetes-sigs/gateway-api", "v1.6.1",
                                 "config/crd/standard/gateway.networking.k8s.io_grpcroutes.yaml",
                                 "grpcroutes.gateway.networking.k8s.io", "v1"),
    "gateway-v1.schema.json": ("kubernetes-sigs/gateway-api", "v1.6.1",
                               "config/crd/standard/gateway.networking.k8s.io_gateways.yaml",
                               "gateways.gateway.networking.k8s.io", "v1"),
    "scaledobject-v1alpha1.schema.json": ("kedacore/keda", "v2.20.2", "config/crd/bases/keda.sh_scaledobjects.yaml",
                                          "scaledobjects.keda.sh", "v1alpha1"),
    "httpscaledobject-v1alpha1.schema.json": ("kedacore/http-add-on", "v0.15.0",
                                              "config/crd/bases/http.keda.sh_httpscaledobjects.yaml",
                                              "httpscaledobjects.http.keda.sh", "v1alpha1"),
    "virtualservice-v1.schema.json": ("istio/api", "v1.30.3", "kubernetes/customresourcedefinitions.gen.yaml",
                                      "virtualservices.networking.istio.io", "v1"),
}
DROP = {"description", "default", "example"}


def strict(node: Any) -> Any:
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strict(v) for k, v in node.items() if k not in DROP and not k.startswith("x-kubernetes-")
           and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in node and "additionalProperties" not in node and \
            not node.get("x-kubernetes-preserve-unknown-fields"):
        out["additionalProperties"] = False
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def metadata() -> dict[str, Any]:
    labels = {"type": "object", "additionalProperties": {"type": "string"}}
    return {"type": "object", "additionalProperties": False, "required": ["name"],
            "properties": {"name": {"type": "string", "maxLength": 253, "pattern": SUBDOMAIN},
                           "namespace": {"type": "string", "maxLength": 63, "pattern": DNS},
                           "labels": labels, "annotations": labels}}


def derive(text: str, crd_name: str, version: str, source: str) -> dict[str, Any]:
    crd = next(d for d in yaml.safe_load_all(text) if d and d.get("metadata", {}).get("name") == crd_name)
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    ver = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    root = ver["schema"]["openAPIV3Schema"]
    spec = strict(root["properties"]["spec"])
    required = ["apiVersion", "kind", "metadata", *(["spec"] if "spec" in root.get("required", []) else [])]
    return {
        "$comment": f"{kind} {group}/{version} from {source} (CRD {crd_name}): strict (unknown fields rejected, "
                    "as the API server's strict field validation does); CEL x-kubernetes-validations not checked; "
                    "derived by tests/k8s/schemas/derive_crds.py",
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": {"apiVersion": {"const": f"{group}/{version}"}, "kind": {"const": kind},
                       "metadata": metadata(), "spec": spec},
    }


def main(git_dirs: list[str]) -> None:
    repos = dict(zip(["kubernetes-sigs/gateway-api", "kedacore/keda", "kedacore/http-add-on", "istio/api"],
                     git_dirs, strict=True))
    for out, (repo, tag, path, crd_name, version) in SOURCES.items():
        text = subprocess.run(["git", "-C", repos[repo], "show", f"{tag}:{path}"], check=True,
                              capture_output=True, text=True).stdout
        source = f"https://github.com/{repo}/blob/{tag}/{path}"
        doc = derive(text, crd_name, version, source)
        (HERE / out).write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
