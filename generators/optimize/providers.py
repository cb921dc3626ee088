"""Execution-provider settings (TensorRT, CUDA, OpenVINO, CoreML) carried to the runtime as data.

Nothing here needs the hardware: the options are validated against the names and types onnxruntime
documents, the provider order is checked (one onnxruntime build per image: ``onnxruntime-gpu`` for
TensorRT/CUDA, ``onnxruntime-openvino`` for OpenVINO, the macOS wheel for CoreML), and the result is
emitted as ``model/providers.json`` (kind ``execution-providers``). The CPU provider is always the last fallback.
Option values are written as strings, the form ``InferenceSession(providers=..., provider_options=...)``
passes to the providers (booleans as ``"True"``/``"False"``, like Python's ``str``).
"""

from __future__ import annotations

from typing import Any, Literal

from mlready.engine.plugin import Section
from pydantic import Field, model_validator


class TensorrtSpec(Section):
    device_id: int = Field(0, ge=0)
    trt_max_workspace_size: int = Field(1 << 30, ge=1 << 20, description="bytes")
    trt_fp16_enable: bool = False
    trt_int8_enable: bool = False
    trt_engine_cache_enable: bool = True
    trt_engine_cache_path: str = "/var/cache/mlready/trt"
    trt_timing_cache_enable: bool = True
    trt_builder_optimization_level: int = Field(3, ge=0, le=5)


class CudaSpec(Section):
    device_id: int = Field(0, ge=0)
    gpu_mem_limit: int | None = Field(None, ge=1 << 20, description="bytes; unset = no limit")
    arena_extend_strategy: Literal["kNextPowerOfTwo", "kSameAsRequested"] = "kNextPowerOfTwo"
    cudnn_conv_algo_search: Literal["EXHAUSTIVE", "HEURISTIC", "DEFAULT"] = "EXHAUSTIVE"
    do_copy_in_default_stream: bool = True
    enable_cuda_graph: bool = False


class OpenvinoSpec(Section):
    device_type: Literal["CPU", "GPU", "NPU", "AUTO:GPU,CPU", "AUTO:NPU,CPU"] = "CPU"
    precision: Literal["FP32", "FP16", "ACCURACY"] = "FP32"
    num_of_threads: int | None = Field(None, ge=1)
    num_streams: int = Field(1, ge=1)
    cache_dir: str = ""

    @model_validator(mode="after")
    def _cpu_precision(self) -> OpenvinoSpec:
        if self.device_type == "CPU" and self.precision == "FP16":
            raise ValueError("OpenVINO on CPU runs FP32 (or ACCURACY); FP16 precision needs GPU or NPU")
        return self


class CoremlSpec(Section):
    ModelFormat: Literal["MLProgram", "NeuralNetwork"] = "MLProgram"
    MLComputeUnits: Literal["ALL", "CPUOnly", "CPUAndGPU", "CPUAndNeuralEngine"] = "ALL"
    RequireStaticInputShapes: bool = False
    EnableOnSubgraphs: bool = False


ProviderName = Literal["tensorrt", "cuda", "openvino", "coreml"]

ORT_NAMES: dict[str, str] = {
    "tensorrt": "TensorrtExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
}
#: the onnxruntime distribution that carries each provider (one per image)
PACKAGES: dict[str, str] = {
    "tensorrt": "onnxruntime-gpu",
    "cuda": "onnxruntime-gpu",
    "openvino": "onnxruntime-openvino",
    "coreml": "onnxruntime",
}


class ProvidersSpec(Section):
    """``order`` lists the accelerators to try first; the CPU provider is appended as the fallback."""

    order: list[ProviderName] = Field([], description="e.g. [tensorrt, cuda]; empty = CPU only")
    tensorrt: TensorrtSpec = Field(default_factory=TensorrtSpec)
    cuda: CudaSpec = Field(default_factory=CudaSpec)
    openvino: OpenvinoSpec = Field(default_factory=OpenvinoSpec)
    coreml: CoremlSpec = Field(default_factory=CoremlSpec)

    @model_validator(mode="after")
    def _one_runtime(self) -> ProvidersSpec:
        if len(set(self.order)) != len(self.order):
            raise ValueError("a provider is listed twice in providers.order")
        packages = sorted({PACKAGES[p] for p in self.order})
        if len(packages) > 1:
            raise ValueError(
                f"providers {', '.join(self.order)} need different onnxruntime builds ({', '.join(packages)}); "
                "one image carries one: pick providers from one build"
            )
        if "tensorrt" in self.order and "cuda" in self.order:
            if self.order.index("cuda") < self.order.index("tensorrt"):
                raise ValueError("list tensorrt before cuda: onnxruntime tries providers in order")
        return self


def _as_option(value: Any) -> str:
    return str(value)  # bool -> "True"/"False", int -> "123": what the Python API passes to the providers


def runtime_config(spec: ProvidersSpec) -> dict[str, Any]:
    """The ``runtime-config`` document: providers in order with string options, the package they need."""
    providers = []
    for name in spec.order:
        options = getattr(spec, name).model_dump()
        providers.append({
            "name": ORT_NAMES[name],
            "options": {k: _as_option(v) for k, v in sorted(options.items()) if v is not None and v != ""},
        })
    providers.append({"name": "CPUExecutionProvider", "options": {}})
    package = PACKAGES[spec.order[0]] if spec.order else "onnxruntime"
    return {"providers": providers, "onnxruntime_package": package}


def session_providers(config: dict[str, Any]) -> tuple[list[str], list[dict[str, str]]]:
    """``(providers, provider_options)`` for ``onnxruntime.InferenceSession`` from a runtime config."""
    return [p["name"] for p in config["providers"]], [dict(p["options"]) for p in config["providers"]]
