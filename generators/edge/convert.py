"""ONNX -> ONNX Runtime's ORT format, with the operator config for a reduced-size onnxruntime build.

Uses ``onnxruntime.tools.convert_onnx_models_to_ort`` (the same converter as ``python -m
onnxruntime.tools.convert_onnx_models_to_ort``). Build a runtime that holds only these operators with
``./build.sh --minimal_build --include_ops_by_config required_operators.config`` (add
``--enable_reduced_operator_type_support`` when the config lists types).
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OrtModel:
    path: Path  # the .ort file
    operators: str  # the reduced-build config text, without the converter's machine-specific header


def to_ort(onnx_bytes: bytes, workdir: Path, name: str, style: str = "Fixed", type_reduction: bool = True
           ) -> OrtModel:
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    folder = workdir / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / f"{name}.onnx").write_bytes(onnx_bytes)
    logging.getLogger("ort_format_model.utils").setLevel(logging.WARNING)  # one INFO line per config
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints progress
        convert_onnx_models_to_ort(folder / f"{name}.onnx", folder, [OptimizationStyle[style]],
                                   enable_type_reduction=type_reduction)
    ort_path = folder / f"{name}.ort"
    configs = sorted(folder.glob("*.config"))
    if not ort_path.is_file() or len(configs) != 1:
        raise RuntimeError(f"ORT conversion of {name} produced {sorted(p.name for p in folder.iterdir())}")
    lines = [ln for ln in configs[0].read_text().splitlines() if ln and not ln.startswith("#")]
    return OrtModel(ort_path, "\n".join(lines) + "\n")
