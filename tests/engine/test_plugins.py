"""Open extension points: an installed plugin package (tests/plugins/mlready-hello, installed by
tools/test.sh) adds a target whose switch has no YAML file anywhere, and a config group of its own."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mlready.engine import api
from mlready.engine.errors import SpecError
from mlready.engine.groups import available_groups, option_file, switches
from mlready.engine.manifest import Manifest
from mlready.engine.registry import generators
from mlready.generators.model import ModelGenerator

try:
    import mlready_hello  # noqa: F401
except ImportError:  # a missing plugin must fail the suite, not skip it (a skipped test cannot fail)
    pytest.fail("the test plugin is not installed: run the suite with `bash tools/test.sh` (it installs "
                "tests/plugins/mlready-hello)", pytrace=False)

DEPLOY = "project:\n  name: demo\nmodel:\n  source: model.joblib\n"


def test_a_plugin_target_builds_without_a_packaged_option_file(project, quickstart_files):
    root = project({**quickstart_files, "deploy.yaml": DEPLOY})
    assert option_file(root, "target", "hello") is None  # nothing in conf/, nothing packaged
    result = api.build(root, ["+target=hello"], run_hooks=False)
    assert (result.out_dir / "hello/greeting.txt").read_text() == "hello, demo!\n"
    manifest = Manifest.load(result.out_dir)
    greeting = next(a for a in manifest.artifacts if a.path == "hello/greeting.txt")
    assert (greeting.kind, greeting.step) == ("hello-greeting", "hello.greeting")
    assert manifest.spec.choices["target"] == ["hello"]


def test_a_plugin_config_group_and_a_packaged_target_compose_with_it(project, quickstart_files):
    root = project({**quickstart_files, "deploy.yaml": DEPLOY})
    spec, origins = api.compose_config(root, ["+target=[hello,docker]", "+greeting=loud"])
    assert spec.section("target.hello").greeting == "HELLO"
    assert spec.section("target.hello").enabled and spec.section("target.docker").enabled
    assert "mlready_hello/conf/greeting/loud.yaml" in origins["greeting"]
    assert origins["target"] == ("override '+target=[hello,docker]' -> the target.hello generator's switch "
                                 "(target.hello.enabled: true), the target.docker generator's switch "
                                 "(target.docker.enabled: true)")


def test_a_project_option_file_shadows_the_synthesized_switch(project, quickstart_files):
    local = "# @package _global_\ntarget:\n  hello:\n    enabled: true\n    greeting: hi\n"
    root = project({**quickstart_files, "deploy.yaml": DEPLOY, "conf/target/hello.yaml": local})
    spec, _ = api.compose_config(root, ["+target=hello"])
    assert spec.section("target.hello").greeting == "hi"


def test_an_unknown_switch_lists_the_synthesized_options(project, quickstart_files):
    root = project({**quickstart_files, "deploy.yaml": DEPLOY})
    with pytest.raises(SpecError) as info:
        api.validate(root, ["+target=helo"])
    assert [str(p) for p in info.value.problems] == [
        "override '+target=helo' target: unknown option 'helo' (did you mean 'hello'?); available: azureml, batch, "
        "compose, docker, edge, hello, helm, k8s, kserve, sagemaker, vertex"
    ]


def test_a_switch_exists_only_for_the_generators_of_the_build(project, quickstart_files):
    root = project({**quickstart_files, "deploy.yaml": DEPLOY})
    assert "hello" in available_groups(root, switches(generators()))["target"]
    with pytest.raises(SpecError) as info:
        api.validate(root, ["+target=hello"], generators=[ModelGenerator()])
    # no generator of this build is switched by `target` (and no file offers it): not a group at all here
    assert [str(p) for p in info.value.problems] == [
        "override '+target=hello' target: unknown key; valid keys here: project, model, data, env"]


def test_generators_command_lists_the_plugin(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mlready.engine", "generators"], cwd=tmp_path, text=True,
                         capture_output=True, check=True, timeout=60).stdout
    assert "hello        +target=hello" in out
    assert "greeting: loud" in out and "target: azureml, batch, compose, docker, edge, hello, helm, k8s" in out


LINEAR_DEPLOY = "project:\n  name: lin\nmodel:\n  source: model.lin\ndata:\n  eval: data/eval.csv\n"


def _eval_csv() -> str:
    rows = [(a, b, 2 * a - b + 1) for a, b in [(0.5, 1), (1, 2), (2, 0.5), (3, 1.5), (-1, 0), (4, 4), (0, -2)]]
    return "a,b,target\n" + "".join(f"{a},{b},{y}\n" for a, b, y in rows)


def test_a_plugin_model_format_is_one_module_and_one_entry_point(project):
    import numpy as np
    import onnxruntime as ort

    gates = 'readiness:\n  gates: ["parity.max_abs_diff <= 1e-5", "rmse <= 1e-5"]\n'  # parity: the plugin's predictor
    root = project({"deploy.yaml": LINEAR_DEPLOY + gates, "model.lin": '{"coef": [2, -1], "intercept": 1}',
                    "data/eval.csv": _eval_csv()})
    result = api.build(root, [], run_hooks=False)
    sess = ort.InferenceSession(str(result.out_dir / "model/model.onnx"), providers=["CPUExecutionProvider"])
    (pred,) = sess.run(None, {"input": np.float32([[1, 2], [3, 0]])})
    assert pred.reshape(-1).tolist() == [1.0, 7.0]
    report = json.loads((result.out_dir / "reports/readiness.json").read_text())
    assert report["status"] == "passed" and report["summary"]["gates"] == 2
    assert json.loads((result.out_dir / "model/signature.json").read_text())["task"] == "regression"


def test_a_plugin_format_is_validated_like_the_packaged_ones(project):
    deploy = LINEAR_DEPLOY.replace("  source: model.lin\n", "  source: model.lin\n  format: linaer\n")
    files = {"deploy.yaml": deploy, "model.lin": "{}", "data/eval.csv": _eval_csv()}
    with pytest.raises(SpecError) as info:
        api.validate(project(files), [])
    assert "model.format: unknown model format 'linaer' (did you mean 'linear'?)" in str(info.value.problems[0])


def test_a_broken_plugin_model_file_is_a_step_error_naming_it(project):
    from mlready.engine.errors import BuildFailed

    root = project({"deploy.yaml": LINEAR_DEPLOY, "model.lin": '{"intercept": 1}', "data/eval.csv": _eval_csv()})
    with pytest.raises(BuildFailed, match=r"model.lin: not a linear model .*'coef'"):
        api.build(root, [], run_hooks=False)


def test_a_plugin_formats_code_is_in_the_ingest_key():
    from types import SimpleNamespace

    from mlready.engine.codehash import code_digest
    from mlready.generators.model.formats import ingest_tools

    tools = ingest_tools(SimpleNamespace(format="auto", source="model.lin", trainer=None))
    assert tools["format:linear"] == code_digest(["mlready_hello.linear"])
    assert not any(k.startswith("format:") for k in ingest_tools(
        SimpleNamespace(format="auto", source="m.joblib", trainer=None)))  # covered by the generator's digest
