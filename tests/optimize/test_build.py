"""Real builds of a project with the model and optimize generators: artifacts, contract, report, fallback."""

from __future__ import annotations

import json

import onnx
import onnxruntime as ort
import pytest
from mlready.engine.errors import SpecError
from mlready.engine.manifest import Manifest
from sklearn.ensemble import RandomForestClassifier


def io(model):
    return [(v.name, v.type.tensor_type.elem_type) for v in (*model.graph.input, *model.graph.output)]


def test_optimize_none_emits_nothing(project, build, tmp_path):
    result = build(project(), [], out=tmp_path / "out")
    kinds = {a.kind for a in result.manifest.artifacts}
    assert "optimization-report" not in kinds and "onnx-baseline" not in kinds
    assert not any(r.id == "model.optimize" for r in result.records)


def test_int8_build_serves_a_checked_model_with_a_report(project, build, tmp_path):
    out = tmp_path / "out"
    build(project(), ["optimize=int8", "optimize.objective=size"], out=out)
    manifest = Manifest.load(out)
    kinds = {a.path: (a.kind, a.step) for a in manifest.artifacts}
    assert kinds["model/model.onnx"] == ("onnx-model", "model.optimize")
    assert kinds["model/baseline.onnx"] == ("onnx-baseline", "model.ingest")
    assert kinds["reports/optimization.json"][0] == kinds["reports/optimization.html"][0] == "optimization-report"
    assert kinds["model/providers.json"][0] == "execution-providers"
    served, baseline = onnx.load(out / "model/model.onnx"), onnx.load(out / "model/baseline.onnx")
    assert io(served) == io(baseline)
    report = json.loads((out / "reports/optimization.json").read_text())
    names = [c["name"] for c in report["candidates"]]
    assert names == ["baseline", "int8_dynamic"]
    chosen = next(c for c in report["candidates"] if c["verdict"] == "chosen")
    assert chosen["name"] == report["chosen"]
    assert {m.key: m.value for m in served.metadata_props}["mlready.optimization"] == report["chosen"]
    for c in report["candidates"]:
        assert c["quality"]["metric"] == "accuracy" and 0.8 < c["quality"]["value"] <= 1
        assert c["timing"]["p50_ms"] > 0 and c["timing"]["throughput_rps"] > 0 and c["size_bytes"] > 0
        assert len(c["timing"]["rounds_p50_ms"]) == 3
    assert report["data"]["calibration"] == "data.train"
    html = (out / "reports/optimization.html").read_text()
    assert html.count("<svg") == 5 and "Served: " + report["chosen"] in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    sess = ort.InferenceSession(str(out / "model/model.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in sess.get_outputs()] == ["label", "probabilities"]


def test_no_candidate_within_budget_falls_back_to_the_baseline(project, build, tmp_path):
    out = tmp_path / "out"
    build(project(), ["optimize=prune", "optimize.prune.sparsity=0.95", "optimize.budget.min_label_agreement=1.0",
                      "optimize.budget.max_accuracy_drop=0"], out=out)
    report = json.loads((out / "reports/optimization.json").read_text())
    assert report["chosen"] == "baseline" and report["fallback_to_baseline"] is True
    assert report["reason"] == "no candidate met the budget and speed checks: serving the fp32 baseline"
    prune = report["candidates"][1]
    assert prune["verdict"] == "rejected" and ("points below" in prune["why"] or "labels agree" in prune["why"])
    served = onnx.load(out / "model/model.onnx")
    baseline = onnx.load(out / "model/baseline.onnx")
    assert [t.SerializeToString() for t in served.graph.initializer] == \
        [t.SerializeToString() for t in baseline.graph.initializer]
    assert "serving the fp32 baseline" in (out / "reports/optimization.html").read_text()


def test_tree_ensemble_skips_dense_passes_with_reasons(project, build, cancer, tmp_path):
    forest = RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0)
    forest.fit(cancer["train"].drop(columns="target"), cancer["train"]["target"])
    out = tmp_path / "out"
    build(project(forest), ["optimize.candidates=[fp16,int8_dynamic,structured_prune]"], out=out)
    report = json.loads((out / "reports/optimization.json").read_text())
    assert report["model"]["family"] == "tree ensemble"
    by = {c["name"]: c for c in report["candidates"]}
    assert by["fp16"]["verdict"] == "skipped"
    assert by["fp16"]["why"].startswith("fp16 conversion does not apply: a tree ensemble without dense layers")
    assert by["int8_dynamic"]["why"].startswith("int8 quantization does not apply")
    assert report["reason"] == "no pass applied to this model: serving the fp32 baseline"


def test_unknown_pass_in_an_override_is_a_spec_error(project, build):
    with pytest.raises(SpecError, match="unknown pass 'int4'"):
        build(project(), ["optimize.candidates=[int4]"])


def test_the_same_choice_gives_a_byte_identical_model(project, build, tmp_path):
    root = project()
    args = ["optimize.candidates=[structured_prune]", "optimize.objective=size", "optimize.measure.require_faster=false",
            "optimize.budget.max_accuracy_drop=0.05", "optimize.budget.min_label_agreement=0.9"]
    build(root, args, out=tmp_path / "a")
    build(root, [*args, "optimize.measure.rounds=4"], out=tmp_path / "b")  # new cache key: rebuilt and measured
    a = json.loads((tmp_path / "a/reports/optimization.json").read_text())
    assert a["chosen"] == "structured_prune"
    assert (tmp_path / "a/model/model.onnx").read_bytes() == (tmp_path / "b/model/model.onnx").read_bytes()


def test_the_runtime_config_takes_the_providers_by_their_own_kind(project, tmp_path):
    """model/providers.json has its own kind (it shared runtime-config with runtime/config.json): the runtime
    step finds it by kind and copies its providers; runtime/config.json is the build's one runtime config."""
    from mlready.engine import api
    from mlready.generators.model import ModelGenerator
    from mlready.generators.optimize import OptimizeGenerator
    from mlready.generators.runtime import RuntimeGenerator

    out = tmp_path / "out"
    quick = ["optimize.measure.rounds=3", "optimize.measure.latency_runs=20", "optimize.measure.throughput_runs=3"]
    result = api.build(project(), ["optimize=int8", *quick], out=out, run_hooks=False,
                       generators=[ModelGenerator(), OptimizeGenerator(), RuntimeGenerator()])
    kinds = {a.path: a.kind for a in result.manifest.artifacts}
    assert kinds["model/providers.json"] == "execution-providers"
    assert [p for p, k in kinds.items() if k == "runtime-config"] == ["runtime/config.json"]
    providers = json.loads((out / "model/providers.json").read_text())["providers"]
    assert providers and json.loads((out / "runtime/config.json").read_text())["providers"] == providers
