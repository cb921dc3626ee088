"""Run by .tools/azure-ai-ml/bin/python: load Azure ML YAML files with the SDK's own loaders, offline.

    python load_azureml.py FILE...   ->  JSON {file: {"ok": true, ...attributes} | {"ok": false, "error": "..."}}
"""

import json
import sys
import warnings

from azure.ai.ml import load_online_deployment, load_online_endpoint

warnings.simplefilter("error", UserWarning)  # the loaders warn on fields they ignore: treat as errors


def load(path: str) -> dict:
    if "endpoint" in path.rsplit("/", 1)[-1]:
        e = load_online_endpoint(path)
        return {"type": type(e).__name__, "name": e.name, "auth_mode": e.auth_mode, "traffic": dict(e.traffic or {})}
    d = load_online_deployment(path)
    env = d.environment
    routes = {k: dict(v) for k, v in (env.inference_config or {}).items()}
    return {"type": type(d).__name__, "name": d.name, "endpoint_name": d.endpoint_name,
            "instance_type": d.instance_type, "instance_count": d.instance_count, "image": env.image,
            "routes": routes, "request_timeout_ms": d.request_settings.request_timeout_ms,
            "readiness_failure_threshold": d.readiness_probe.failure_threshold}


results = {}
for path in sys.argv[1:]:
    try:
        results[path] = {"ok": True, **load(path)}
    except Exception as exc:  # noqa: BLE001 - report every file's failure to the test
        results[path] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
print(json.dumps(results))
