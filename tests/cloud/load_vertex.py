"""Run by .tools/google-cloud-aiplatform/bin/python: parse Vertex AI JSON into the API's request types.

    python load_vertex.py TYPE=FILE...   (TYPE: UploadModelRequest, Endpoint, DeployModelRequest)
    -> JSON {file: {"ok": true, "message": <the parsed message as JSON>} | {"ok": false, "error": "..."}}
"""

import json
import sys

from google.cloud import aiplatform_v1

results = {}
for arg in sys.argv[1:]:
    type_name, _, path = arg.partition("=")
    cls = getattr(aiplatform_v1.types, type_name)
    try:
        with open(path) as fh:
            message = cls.from_json(fh.read(), ignore_unknown_fields=False)
        results[path] = {"ok": True, "message": json.loads(cls.to_json(message))}
    except Exception as exc:  # noqa: BLE001
        results[path] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:2000]}
print(json.dumps(results))
