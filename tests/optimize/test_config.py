"""The section model and the execution-provider settings."""

from __future__ import annotations

import json

import onnxruntime as ort
import pytest
from mlready.generators.optimize.config import AUTO_CANDIDATES, OptimizeSpec
from mlready.generators.optimize.providers import ProvidersSpec, runtime_config, session_providers
from pydantic import ValidationError


def test_active_is_the_contract_with_model_ingest():
    assert OptimizeSpec().active is False
    assert OptimizeSpec(auto=True).active is True
    assert OptimizeSpec(candidates=["int8_dynamic"]).active is True
    assert OptimizeSpec(auto=True).planned() == list(AUTO_CANDIDATES)


def test_unknown_pass_is_named_with_the_known_ones():
    with pytest.raises(ValidationError, match="unknown pass 'int4' in candidate 'structured_prune\\+int4'; known passes: graph"):
        OptimizeSpec(candidates=["structured_prune+int4"])


def test_fp16_cannot_drop_float32_io():
    with pytest.raises(ValidationError):
        OptimizeSpec(fp16={"keep_io_types": False})


def test_providers_emit_ordered_string_options_with_cpu_fallback():
    cfg = runtime_config(ProvidersSpec(order=["tensorrt", "cuda"], tensorrt={"trt_fp16_enable": True}))
    assert [p["name"] for p in cfg["providers"]] == ["TensorrtExecutionProvider", "CUDAExecutionProvider",
                                                     "CPUExecutionProvider"]
    assert cfg["providers"][0]["options"]["trt_fp16_enable"] == "True"
    assert "gpu_mem_limit" not in cfg["providers"][1]["options"]  # unset: onnxruntime's default
    assert cfg["onnxruntime_package"] == "onnxruntime-gpu"
    assert all(isinstance(v, str) for p in cfg["providers"] for v in p["options"].values())
    json.dumps(cfg)


@pytest.mark.parametrize("settings,message", [
    ({"order": ["cuda", "openvino"]}, "need different onnxruntime builds"),
    ({"order": ["cuda", "tensorrt"]}, "list tensorrt before cuda"),
    ({"order": ["cuda", "cuda"]}, "listed twice"),
    ({"order": ["openvino"], "openvino": {"precision": "FP16"}}, "FP16 precision needs GPU or NPU"),
    ({"tensorrt": {"trt_builder_optimization_level": 9}}, "less than or equal to 5"),
    ({"cuda": {"cudnn_conv_algo_search": "FAST"}}, "EXHAUSTIVE"),
    ({"order": ["rocm"]}, "tensorrt"),
])
def test_invalid_provider_settings_are_refused(settings, message):
    with pytest.raises(ValidationError, match=message):
        ProvidersSpec(**settings)


def test_cpu_only_config_opens_a_real_session(cancer):
    providers, options = session_providers(runtime_config(ProvidersSpec()))
    sess = ort.InferenceSession(cancer["mlp_onnx"].SerializeToString(), providers=providers,
                                provider_options=options)
    assert sess.get_providers() == ["CPUExecutionProvider"]
