"""Run by .tools/botocore/bin/python: check SageMaker API request bodies against botocore's service model, offline.

    python load_sagemaker.py OPERATION=FILE...   (CreateModel, CreateTransformJob)
    -> JSON {"results": {file: {"ok": bool, "errors": [...]}}, "transform_instance_types": [...]}

botocore's ParamValidator checks required members, types, lengths and ranges; enum members (instance types,
content types, strategies) are checked here against the shapes' enum lists, which it does not check.
"""

import json
import sys

import botocore.session
from botocore.validate import ParamValidator


def enum_errors(value, shape, path):
    out = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            if name in value:
                out += enum_errors(value[name], member, f"{path}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            out += enum_errors(item, shape.member, f"{path}[{i}]")
    elif shape.type_name == "string" and shape.enum and value not in shape.enum:
        out.append(f"{path}: {value!r} is not one of the {shape.name} values")
    return out


model = botocore.session.get_session().get_service_model("sagemaker")
results = {}
for arg in sys.argv[1:]:
    operation, _, path = arg.partition("=")
    shape = model.operation_model(operation).input_shape
    with open(path) as fh:
        params = json.load(fh)
    report = ParamValidator().validate(params, shape)
    errors = ([report.generate_report()] if report.has_errors() else []) + enum_errors(params, shape, operation)
    results[path] = {"ok": not errors, "errors": errors}
print(json.dumps({"results": results,
                  "transform_instance_types": list(model.shape_for("TransformInstanceType").enum)}))
