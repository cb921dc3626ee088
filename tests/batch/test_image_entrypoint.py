"""The image's ``score`` entrypoint without a container: the runtime's main hands ``[--config F] score ...`` to
batch scoring (the form a Job's ``args`` take under the image's ENTRYPOINT), an image without pyarrow says how to
rebuild, scoring imports no pandas, and the docker context carries pyarrow (pinned like the host) exactly when
the batch target or ``target.docker.scoring`` asks for it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from mlready.engine import api
from mlready.runtime.__main__ import main as runtime_main

pytestmark = pytest.mark.slow  # builds (the tabular fixture, two docker contexts)
ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "examples" / "quickstart"


def _eval_parquet(project: Path, dest: Path) -> Path:
    import pandas as pd

    frame = pd.read_csv(project / "data" / "eval.csv")
    frame.insert(0, "row_id", range(len(frame)))
    frame.to_parquet(dest, index=False)
    return dest


@pytest.mark.parametrize("prefix", [[], ["--config", "/etc/mlready/runtime.json"]], ids=["bare", "entrypoint"])
def test_runtime_main_scores_after_the_entrypoints_config(tabular, tmp_path, prefix, capsys):
    src = _eval_parquet(tabular, tmp_path / "in.parquet")
    out = tmp_path / "preds.parquet"
    model = tabular / "build" / "model"
    code = runtime_main([*prefix, "score", "--model", str(model), "--input", str(src), "--output", str(out),
                         "--keep", "row_id"])
    assert code == 0, capsys.readouterr().err
    got = pq.read_table(out)
    assert got.column_names == ["row_id", "label", "probability_stays", "probability_churns"]
    assert got.num_rows == pq.read_metadata(src).num_rows


def test_score_usage_error_is_the_scorers(capsys):
    with pytest.raises(SystemExit) as info:
        runtime_main(["--config", "/etc/mlready/runtime.json", "score", "--input", "x.parquet"])
    assert info.value.code == 2
    assert "python -m mlready.runtime.score" in capsys.readouterr().err  # not the server's usage


def test_an_image_without_pyarrow_says_how_to_rebuild(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # find_spec: not installed
    code = runtime_main(["--config", "/etc/mlready/runtime.json", "score", "--model", "m", "-i", "a", "-o", "b"])
    assert code == 2
    assert capsys.readouterr().err == ("error: score: this image was built without batch scoring (pyarrow); rebuild "
                                       "it with the batch target (+target=batch) or target.docker.scoring=true\n")


@pytest.mark.parametrize("preset", [None, "system"])
def test_scoring_imports_no_pandas_and_allocates_from_jemalloc(tabular, tmp_path, preset):
    """pyarrow imports pandas (0.3 s) on its first to_numpy/pa.array when pandas is installed: the scorer avoids
    both (the image has no pandas; on a workstation it was a fifth of scoring 2M rows). Arrow's memory comes
    from jemalloc (mimalloc's RSS grew with the input), unless ARROW_DEFAULT_MEMORY_POOL says otherwise."""
    src = _eval_parquet(tabular, tmp_path / "in.parquet")
    probe = ("import sys; from mlready.runtime.__main__ import main; "
             f"code = main(['score', '--model', {str(tabular / 'build' / 'model')!r}, '-i', {str(src)!r}, "
             f"'-o', {str(tmp_path / 'out.parquet')!r}]); import pyarrow as pa; "
             "print(code, 'pandas' in sys.modules, pa.default_memory_pool().backend_name)")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if preset:
        env["ARROW_DEFAULT_MEMORY_POOL"] = preset
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env=env)
    assert proc.stdout.split() == ["0", "False", preset or "jemalloc"], proc.stderr


def _context(tmp_path_factory, *overrides: str) -> Path:
    import shutil

    root = tmp_path_factory.mktemp("ctx") / "quickstart"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__", "mlruns"))
    return api.build(root, ["tracking.enabled=false", *overrides], run_hooks=False).out_dir / "docker"


@pytest.fixture(scope="module")
def contexts(tmp_path_factory) -> dict[str, Path]:
    return {
        "docker": _context(tmp_path_factory, "+target=docker"),
        "batch": _context(tmp_path_factory, "+target=[docker,batch]", "target.batch.input=pvc://data/in/",
                          "target.batch.output=pvc://data/out/preds.parquet"),
        "scoring": _context(tmp_path_factory, "+target=docker", "target.docker.scoring=true"),
    }


def _pins(lock: Path) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9-]+)==(\S+) \\$", lock.read_text(), flags=re.M))


def test_pyarrow_is_in_the_image_only_for_batch_scoring(contexts):
    host = dict(re.findall(r"^([a-z0-9-]+)==(\S+)$", (ROOT / "constraints.txt").read_text(), flags=re.M))
    for name in ("batch", "scoring"):
        assert _pins(contexts[name] / "requirements.lock")["pyarrow"] == host["pyarrow"]  # what the tests score with
        assert any(w.name.startswith("pyarrow-") for w in (contexts[name] / "wheelhouse").iterdir())
        assert "site-packages/pyarrow/*flight*" in (contexts[name] / "Dockerfile").read_text()
        assert not (contexts[name] / "runtime" / "requirements-score.txt").exists()  # a pin list, not runtime code
    assert "pyarrow" not in _pins(contexts["docker"] / "requirements.lock")
    assert "pyarrow" not in (contexts["docker"] / "Dockerfile").read_text()
    # one lock whichever switch asked for pyarrow (the lock is a function of the requirements and platform)
    assert (contexts["batch"] / "requirements.lock").read_bytes() == (contexts["scoring"] / "requirements.lock").read_bytes()
    # the rest of the lock is the server's, unchanged
    assert {k: v for k, v in _pins(contexts["batch"] / "requirements.lock").items() if k != "pyarrow"} == \
        _pins(contexts["docker"] / "requirements.lock")


@pytest.mark.tools
def test_the_scoring_dockerfile_passes_hadolint(contexts, tmp_path):
    exe = Path(sys.executable).with_name("hadolint")
    proc = subprocess.run([str(exe), "--no-color", str(contexts["scoring"] / "Dockerfile")], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)})
    assert (proc.returncode, proc.stdout + proc.stderr) == (0, "")
