"""RuntimeConfig: strict validation naming the field, deterministic round trip; the generator; mlready serve."""

from __future__ import annotations

import json

import pytest
from mlready.runtime.config import ConfigError, RuntimeConfig, VersionPolicy


def test_defaults_and_round_trip(tmp_path):
    cfg = RuntimeConfig.from_dict({"model_repository": "/models",
                                   "models": {"m": {"labels": {"stable": 2}, "batching": {"max_batch_size": 8}}}})
    assert cfg.http_port == 8080 and cfg.grpc_port == 8081 and cfg.metrics_port is None
    assert cfg.model("m").batching.max_batch_size == 8 and cfg.model("other").batching.max_batch_size == 32
    data = cfg.to_dict()
    assert data["kind"] == "runtime-config" and list(data) == sorted(data)
    assert RuntimeConfig.from_dict(data) == cfg
    path = tmp_path / "runtime.json"
    path.write_text(cfg.to_json())
    assert RuntimeConfig.load(path) == cfg and cfg.to_json() == RuntimeConfig.load(path).to_json()


@pytest.mark.parametrize(("data", "message"), [
    ({}, "model_repository: required field missing"),
    ({"model_repository": "/m", "http_prt": 1}, "http_prt: unknown field"),
    ({"model_repository": "/m", "http_port": "80"}, "http_port: expected an integer, got '80'"),
    ({"model_repository": "/m", "http_port": 70000}, "http_port: expected a port 0..65535, got 70000"),
    ({"model_repository": "/m", "grpc_port": 8080}, "ports must differ"),
    ({"model_repository": "/m", "models": {"q": {"batching": {"max_batch_size": 0}}}},
     "models.q.batching.max_batch_size: expected an integer >= 1, got 0"),
    ({"model_repository": "/m", "models": {"q": {"batching": {"enabled": "yes"}}}},
     "models.q.batching.enabled: expected a boolean, got 'yes'"),
    ({"model_repository": "/m", "models": {"q": {"version_policy": {"policy": "newest"}}}},
     "models.q.version_policy.policy: expected one of 'latest', 'all', 'specific', got 'newest'"),
    ({"model_repository": "/m", "models": {"q": {"version_policy": {"policy": "specific"}}}},
     "models.q.version_policy.versions: the 'specific' policy needs at least one version"),
    ({"model_repository": "/m", "models": {"q": {"labels": {"stable": 0}}}},
     "models.q.labels.stable: expected a positive version, got 0"),
    ({"model_repository": "/m", "auth": {"token_env": "T", "token_file": "/t"}}, "auth: set token_env or token_file"),
    ({"model_repository": "/m", "log_level": "loud"}, "log_level: expected one of"),
    ({"model_repository": "/m", "kind": "k8s"}, "kind: expected 'runtime-config'"),
    ([], "expected an object"),
])
def test_errors_name_the_field(data, message):
    with pytest.raises(ConfigError) as err:
        RuntimeConfig.from_dict(data)
    assert message in str(err.value)


def test_load_reports_file_and_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "model_repository": "/m",\n  oops\n}')
    with pytest.raises(ConfigError, match=r"bad.json:3: invalid JSON"):
        RuntimeConfig.load(path)


def test_version_policy_semantics():
    assert VersionPolicy().select([3, 1, 2]) == [3]
    assert VersionPolicy("latest", 2).select([3, 1, 2]) == [2, 3]
    assert VersionPolicy("all").select([2, 1]) == [1, 2]
    assert VersionPolicy("specific", versions=(1, 5)).select([1, 2, 3]) == [1]


def test_generator_writes_a_valid_runtime_config():
    from mlready.generators.runtime import RuntimeGenerator, ServingSpec, runtime_config

    spec = ServingSpec(labels={"stable": 1}, batching={"max_batch_size": 16})
    data = runtime_config(spec, "quickstart")
    cfg = RuntimeConfig.from_dict(data)
    assert cfg.http_port == 8080 and cfg.metrics_port == 9090 and cfg.model_repository == "/opt/mlready/models"
    assert cfg.model("quickstart").labels == {"stable": 1}
    assert cfg.model("quickstart").batching.max_batch_size == 16
    assert RuntimeGenerator.name == "runtime" and RuntimeGenerator.section == "serving"

    class FakeSpec:
        def section(self, path):
            return ServingSpec(grpc_port=8080)

    (problem,) = RuntimeGenerator().validate(FakeSpec())
    assert problem.key.startswith("serving.") and "ports must differ" in problem.message


def test_serve_without_a_build_is_a_usage_error(tmp_path):
    from mlready.engine.cli import main

    assert main(["serve", "-C", str(tmp_path)]) == 2


def test_serve_lays_out_a_repository_from_the_build(tmp_path, mk):
    from mlready.engine.actions.serve import prepare_project
    from mlready.engine.errors import UsageError

    build = tmp_path / "proj" / "build"
    (build / "model").mkdir(parents=True)
    (tmp_path / "proj" / "deploy.yaml").write_text("project:\n  name: proj\n")  # a project, no manifest yet
    (build / "model" / "model.onnx").write_bytes(mk.half_plus_two().SerializeToString())
    (build / "model" / "signature.json").write_text(json.dumps({"name": "hp2", "version": 3, "inputs": [
        {"name": "x", "datatype": "FP32", "shape": [-1]}], "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}]}))
    with pytest.raises(UsageError, match="run `mlready build"):
        prepare_project(tmp_path / "proj", None, tmp_path / "w0")
    from mlready.engine.manifest import ArtifactEntry, GitRecord, Manifest, SpecRecord

    arts = [ArtifactEntry(path=p, kind=k, sha256="0" * 64, step="model.ingest")
            for p, k in (("model/model.onnx", "onnx-model"), ("model/signature.json", "model-signature"))]
    Manifest(mlready_version="0", project="proj", spec=SpecRecord(overrides=[], choices={}, digest=""),
             git=GitRecord(), steps=[], artifacts=arts).write(build / "manifest.json")
    repo, config = prepare_project(tmp_path / "proj", None, tmp_path / "w1")
    assert (repo / "hp2" / "3" / "model.onnx").is_file() and (repo / "hp2" / "3" / "metadata.json").is_file()
    assert config == {}


def test_execution_providers_are_carried_and_filtered():
    from mlready.generators.runtime import ServingSpec, runtime_config
    from mlready.runtime.model import providers_for

    data = runtime_config(ServingSpec(), "m", [{"name": "CUDAExecutionProvider", "options": {"device_id": "0"}},
                                               {"name": "CPUExecutionProvider", "options": {}}])
    cfg = RuntimeConfig.from_dict(data)
    assert [p.name for p in cfg.providers] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert cfg.providers[0].options == {"device_id": "0"}
    names, options = providers_for(cfg.providers)  # this CPU-only build: CUDA skipped, CPU last
    assert names[-1] == "CPUExecutionProvider" and len(names) == len(options)
    with pytest.raises(ConfigError, match=r"providers\[0\]\.name: expected an onnxruntime provider name"):
        RuntimeConfig.from_dict({"model_repository": "/m", "providers": [{"name": "cuda"}]})
