"""ONNX -> ONNX Runtime's ORT format, with the operator config for a reduced-size onnxruntime build.

Uses ``onnxruntime.tools.convert_onnx_models_to_ort`` (the same converter as ``python -m
onnxruntime.tools.convert_onnx_models_to_ort``). Build a runtime that holds only these operators with
``./build.sh --minimal_build --include_ops_by_config required_operators.config`` (add
``--enable_reduced_operator_type_support`` when the config lists types).

**Determinism.** onnxruntime serializes ORT files through hash maps seeded from memory addresses: the same
model converted twice gives different (equivalent) bytes. Each conversion therefore runs in a fresh
interpreter with address-space randomization off (``setarch -R``) and a fixed ``PYTHONHASHSEED``, which makes
the bytes repeatable on a machine. Where the kernel refuses ``setarch -R`` (some container seccomp profiles)
the conversion still runs, and :attr:`OrtModel.deterministic` is false (the report says so). The heap
layout also depends on the paths and environment the converter sees, so it always converts
``<tmp>/mlready-edge-ort/model.onnx`` (one conversion at a time, under a file lock) with a minimal environment.
Even so, a fresh conversion was seen to differ once in CI (same operators, same outputs): the step cache is
what keeps ORT files byte-identical across rebuilds and for ``mlready check``.
"""

from __future__ import annotations

import fcntl
import platform
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OrtModel:
    path: Path  # the .ort file
    operators: str  # the reduced-build config text, without the converter's machine-specific header
    deterministic: bool


WORKDIR = "mlready-edge-ort"
ENV = {"PYTHONHASHSEED": "0", "PATH": "/usr/local/bin:/usr/bin:/bin", "LC_ALL": "C.UTF-8"}


def _convert(work: Path, style: str, type_reduction: bool) -> tuple[subprocess.CompletedProcess, bool]:
    cmd = [sys.executable, "-m", "mlready.generators.edge.convert", "model.onnx", style, str(int(type_reduction))]
    setarch = shutil.which("setarch")
    if setarch:
        proc = subprocess.run([setarch, platform.machine(), "-R", *cmd], capture_output=True, text=True, env=ENV,
                              cwd=work)
        if proc.returncode == 0 or "model.onnx" in proc.stderr:  # the converter itself failed: report that
            return proc, proc.returncode == 0
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, cwd=work), False


def to_ort(onnx_bytes: bytes, dest: Path, name: str, style: str = "Fixed", type_reduction: bool = True
           ) -> OrtModel:
    """Convert ``onnx_bytes``; the result is copied to ``dest/<name>.ort``."""
    work = Path(tempfile.gettempdir()) / WORKDIR
    work.mkdir(exist_ok=True)
    dest.mkdir(parents=True, exist_ok=True)
    with open(work.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for old in work.iterdir():
            old.unlink()
        (work / "model.onnx").write_bytes(onnx_bytes)
        proc, deterministic = _convert(work, style, type_reduction)
        if proc.returncode != 0:
            raise RuntimeError(f"ORT conversion of {name} failed: {proc.stderr.strip()[-2000:]}")
        configs = sorted(work.glob("*.config"))
        if not (work / "model.ort").is_file() or len(configs) != 1:
            raise RuntimeError(f"ORT conversion of {name} produced {sorted(p.name for p in work.iterdir())}")
        lines = [ln for ln in configs[0].read_text().splitlines() if ln and not ln.startswith("#")]
        ort_path = dest / f"{name}.ort"
        shutil.copyfile(work / "model.ort", ort_path)
    return OrtModel(ort_path, "\n".join(lines) + "\n", deterministic)


def main(argv: list[str]) -> int:
    """``python -m mlready.generators.edge.convert MODEL.onnx STYLE TYPE_REDUCTION`` (one model per process)."""
    import contextlib
    import io
    import logging

    from onnxruntime.tools import convert_onnx_models_to_ort as converter

    make_options = converter._create_session_options

    def single_threaded(*args, **kwargs):  # thread pools make the heap layout, so the bytes, vary
        so = make_options(*args, **kwargs)
        so.intra_op_num_threads = so.inter_op_num_threads = 1
        return so

    converter._create_session_options = single_threaded
    model, style, reduce = Path(argv[0]), argv[1], argv[2] == "1"
    logging.getLogger("ort_format_model.utils").setLevel(logging.WARNING)
    with contextlib.redirect_stdout(io.StringIO()):  # the converter prints progress
        converter.convert_onnx_models_to_ort(model, model.parent, [converter.OptimizationStyle[style]],
                                             enable_type_reduction=reduce)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
