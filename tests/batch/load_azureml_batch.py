"""Run by .tools/azure-ai-ml/bin/python: load the batch target's Azure ML YAML with the SDK's own loaders, offline.

    python load_azureml_batch.py ENDPOINT DEPLOYMENT  ->  JSON {file: {"ok": true, ...} | {"ok": false, "error": ...}}

The deployment names its pipeline component by file (``component: pipeline.yml``): the loader reads it too.
"""

import json
import sys
import warnings

from azure.ai.ml import load_batch_endpoint
from azure.ai.ml.entities._load_functions import load_pipeline_component_batch_deployment

warnings.simplefilter("error", UserWarning)  # the loaders warn on fields they ignore: treat as errors


def endpoint(path):
    e = load_batch_endpoint(path)
    return {"type": type(e).__name__, "name": e.name, "auth_mode": e.auth_mode}


def deployment(path):
    d = load_pipeline_component_batch_deployment(path)
    step = d.component.jobs["score"].component
    return {"type": type(d).__name__, "name": d.name, "endpoint_name": d.endpoint_name, "settings": d.settings,
            "command": step.command, "image": step.environment.image,
            "inputs": {k: v.type for k, v in d.component.inputs.items()}}


results = {}
for path, load in zip(sys.argv[1:], (endpoint, deployment), strict=True):
    try:
        results[path] = {"ok": True, **load(path)}
    except Exception as exc:  # noqa: BLE001 - report every file's failure to the test
        results[path] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
print(json.dumps(results))
