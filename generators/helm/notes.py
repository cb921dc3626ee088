"""``templates/NOTES.txt``: what ``helm install`` prints — where the server runs and the call to make (a
KServe v2 inference request shaped from the model's signature, with zero-valued inputs)."""

from __future__ import annotations

import json
from typing import Any

from mlready.generators._shared.k8s_context import BundleContext
from mlready.generators.helm.holes import escape

_ZERO = {"BYTES": "", "BOOL": False, "FP16": 0.0, "FP32": 0.0, "FP64": 0.0}


def _request(signature: dict[str, Any]) -> dict[str, Any]:
    inputs = []
    for spec in signature.get("inputs", []):
        shape = [1 if not isinstance(d, int) or d < 0 else d for d in spec.get("shape", [1])] or [1]
        size = 1
        for d in shape:
            size *= d
        inputs.append({"name": spec["name"], "datatype": spec["datatype"], "shape": shape,
                       "data": [_ZERO.get(spec["datatype"], 0)] * size})
    return {"inputs": inputs}


def notes(ctx: BundleContext, signature: dict[str, Any], header: str) -> str:
    """The notes as a Go template: the literal text escaped, the release's namespace and environment live."""
    comment = "\n".join(line.removeprefix("# ") for line in header.strip().splitlines())
    port = ctx.ports.http
    serving = [(n, p) for n, p in ctx.ports.named() if n != "metrics"]
    base = f"http://localhost:{port}/v2/models/{ctx.model_name}"
    body = json.dumps(_request(signature), separators=(",", ":"))
    text = escape(
        f"Model server {ctx.name} (model {ctx.model_name}) is installed in namespace \x00NS\x00\x00ENV\x00.\n\n"
        f"Wait for it:\n"
        f"  kubectl -n \x00NS\x00 rollout status deployment/{ctx.name}\n\n"
        f"Reach it from this machine ({', '.join(f'{n} {p}' for n, p in serving)}):\n"
        f"  kubectl -n \x00NS\x00 port-forward service/{ctx.name} {' '.join(f'{p}:{p}' for _, p in serving)}\n\n"
        f"Call it (Open Inference Protocol / KServe v2; the metadata route lists the inputs):\n"
        f"  curl -s {base}\n"
        f"  curl -s {base}/infer -H 'Content-Type: application/json' \\\n"
        f"    -d '{body}'\n"
    )
    text = text.replace("\x00NS\x00", "{{ .Release.Namespace }}").replace(
        "\x00ENV\x00", '{{ with .Values.environment }} (environment {{ . }}){{ end }}')
    return "{{- /*\n" + comment.replace("*/", "* /") + "\n*/ -}}\n" + text
