"""Golden files: the quickstart's text artifacts for a typical multi-target build, byte for byte.

A change to any generator's output shows up here as a reviewable diff. Refresh on purpose with
`pytest tests/functional/test_golden.py --update-golden` and commit the new goldens with the change.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from mlready.engine import api

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden" / "quickstart"
QUICKSTART = HERE.parents[1] / "examples" / "quickstart"
OVERRIDES = ["+target=[docker,k8s,kserve]", "target.docker.registry=registry.example.com/ml",
             "+ci=[gitlab,jenkins,circleci,github]", "+monitoring=grafana", "env=prod", "tracking.enabled=false"]
TEXT = (".yaml", ".yml", ".json", "Jenkinsfile")
MLREADY = "mlready @ git+https://git.example.com/ml/mlready@v0.1.0"
SKIP = ("manifest.json", "reports/", "docker/wheelhouse/", "docker/mlready/")  # the manifest records timings; reports are checked by their own tests


@pytest.mark.slow
def test_quickstart_outputs_match_golden_files(tmp_path, monkeypatch, request):
    project = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, project, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLREADY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MLREADY_SPEC", MLREADY)  # the pipelines install mlready from there (else: this checkout)
    result = api.build(project, OVERRIDES)
    produced = {
        p.relative_to(result.out_dir).as_posix(): p.read_text()
        for p in sorted(result.out_dir.rglob("*"))
        if p.is_file() and p.name.endswith(TEXT)
        and not any(p.relative_to(result.out_dir).as_posix().startswith(s) for s in SKIP)
    }
    if request.config.getoption("--update-golden"):
        shutil.rmtree(GOLDEN, ignore_errors=True)
        for rel, text in produced.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_text(text)
        pytest.skip("golden files rewritten")
    expected = {p.relative_to(GOLDEN).as_posix(): p.read_text() for p in sorted(GOLDEN.rglob("*")) if p.is_file()}
    assert sorted(produced) == sorted(expected), "a different set of files was generated"
    diffs = []
    for rel in expected:
        if produced[rel] != expected[rel]:
            diffs.append("".join(difflib.unified_diff(expected[rel].splitlines(True), produced[rel].splitlines(True),
                                                      f"golden/{rel}", f"built/{rel}", n=2)))
    assert not diffs, "generated files differ from the goldens:\n" + "\n".join(diffs)[:20000]
