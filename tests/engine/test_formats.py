"""The model-format registry (``mlready.formats``): validation of ``model.format``, suffix tables derived from
it, and planning that stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mlready.engine import api, formats
from mlready.engine.errors import SpecError
from mlready.engine.lifecycle.registry import RegistryLookupError, find_model_file
from mlready.generators.model import ModelGenerator
from mlready.generators.model.formats import detect

GENS = [ModelGenerator()]


def spec_problems(project, files, overrides=()):
    with pytest.raises(SpecError) as info:
        api.validate(project(files), list(overrides), generators=GENS)
    return [str(p) for p in info.value.problems]


PACKAGED = ["onnx", "pytorch", "sklearn", "trainer"]


def available() -> str:  # the packaged formats and any installed plugin's (tests/plugins adds `linear`)
    return ", ".join(formats.names())


def test_the_packaged_formats_are_registered():
    names = formats.names()
    assert names[0] == "auto" and set(PACKAGED) <= set(names) and names[1:] == sorted(names[1:])
    assert formats.get("sklearn").mlflow_flavor == ("sklearn", "pickled_model")
    assert formats.get("onnx").refit is None and formats.get("trainer").refit is not None


def test_unknown_format_is_a_located_error_with_did_you_mean_and_the_list(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": "project:\n  name: demo\nmodel:\n  source: model.joblib\n"
             "  format: sklern\n"}
    assert spec_problems(project, files) == [
        f"deploy.yaml:5 model.format: unknown model format 'sklern' (did you mean 'sklearn'?); available: {available()}"
    ]


def test_unknown_format_from_an_override_names_the_override(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": "project:\n  name: demo\nmodel:\n  source: model.joblib\n"}
    assert spec_problems(project, files, ["model.format=h2o"]) == [
        f"override 'model.format=h2o' model.format: unknown model format 'h2o'; available: {available()}"
    ]


@pytest.mark.parametrize(("source", "expected"), [
    ("m.onnx", "onnx"), ("m.JOBLIB", "sklearn"), ("m.pkl", "sklearn"), ("m.skops", "sklearn"), ("m.pth", "pytorch"),
    ("m.bin", None),
])
def test_suffixes_come_from_the_registry(source, expected):
    assert detect("auto", source, None) == expected


def test_unknown_suffix_lists_every_registered_suffix(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": "project:\n  name: demo\nmodel:\n  source: model.bin\n"}
    assert spec_problems(project, files) == [
        f"deploy.yaml:4 model.source: cannot tell the format of 'model.bin' (known suffixes: "
        f"{', '.join(sorted(formats.source_suffixes()))}); set model.format"
    ]


def test_registry_artifacts_are_read_by_the_formats_suffixes(tmp_path):
    (tmp_path / "weights.pth").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    assert find_model_file(tmp_path) == tmp_path / "weights.pth"
    with pytest.raises(RegistryLookupError, match=r"notes.txt is not a model file \(.onnx, "):
        find_model_file(tmp_path / "notes.txt")


def test_ingest_key_covers_only_the_formats_tools():
    from types import SimpleNamespace

    from mlready.generators.model.boosters import TOOLS as BOOSTER_TOOLS
    from mlready.generators.model.formats import ingest_tools

    onnx_tools = ingest_tools(SimpleNamespace(format="auto", source="m.onnx", trainer=None))
    sk_tools = ingest_tools(SimpleNamespace(format="auto", source="m.joblib", trainer=None))
    uri_tools = ingest_tools(SimpleNamespace(format="auto", source="models:/m/1", trainer=None))
    assert set(onnx_tools) == {"onnx", "onnxruntime"}
    # a pickle may hold an XGBoost/LightGBM/CatBoost estimator: their converters shape the sklearn format's output
    assert set(sk_tools) == {"onnx", "onnxruntime", "skl2onnx", "scikit-learn", *BOOSTER_TOOLS}
    assert set(uri_tools) >= {"skl2onnx", "scikit-learn", "torch"}  # the format is known after the download


def test_loading_the_registry_imports_no_heavy_library():
    code = ("import sys; from mlready.engine import formats; formats.formats(); "
            "print(sorted(m for m in ('numpy', 'onnx', 'sklearn', 'torch', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
