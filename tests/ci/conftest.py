"""A real mlready project (a copy of examples/quickstart) built in-process with the CI generators on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
ALL_CI = "+ci=[gitlab,circleci,github,jenkins]"
# the wheelhouse (a PyPI download) is off: the pipelines do not depend on it
TARGETS = ["+target=[docker,k8s]", "target.docker.registry=registry.example.com/ml", "target.docker.wheelhouse=false"]
OVERRIDES = [ALL_CI, *TARGETS, "+monitoring=grafana", "env=prod", "model.opset=15"]


def copy_project(dest: Path) -> Path:
    """The quickstart without its ``data`` section (the pipelines do not depend on the readiness gates, which
    take most of a cold build), with requirements, tests and a git-ignored model."""
    shutil.copytree(QUICKSTART, dest, ignore=shutil.ignore_patterns("build", ".mlready"))
    spec = (dest / "deploy.yaml").read_text()
    assert "\ndata:\n" in spec
    (dest / "deploy.yaml").write_text(spec.split("\ndata:\n")[0] + "\n")
    # what a real project has: requirements (mlready included), tests, and a model git does not keep (a train
    # job makes it: train.py)
    (dest / "requirements.txt").write_text("mlready\npytest>=8\n")
    (dest / "tests").mkdir()
    (dest / "tests" / "test_model.py").write_text("def test_model():\n    assert True\n")
    (dest / ".gitignore").write_text("/model.joblib\n")
    return dest


def build(project: Path, overrides: list[str], cache_dir: Path) -> Path:
    """Build ``project`` into its ``build`` dir with the session's step cache; return the build dir."""
    from mlready.engine import api

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLREADY_CACHE_DIR", str(cache_dir))
        return api.build(project, overrides, out=project / "build").out_dir


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mlready-cache")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """The build dir of the quickstart with every CI system on."""
    return build(copy_project(tmp_path_factory.mktemp("ci") / "project"), OVERRIDES, cache_dir)


VARIANT_OVERRIDES = [ALL_CI, *TARGETS]
VARIANT_SPEC = """
ci:
  jenkins:
    agent: linux && docker
    stages:
      build: "Build 'n' package"
      deploy-production: 'Deploy \\\\ production'
    production:
      url: https://model.example.com
"""


@pytest.fixture(scope="session")
def variant(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A build whose Jenkins stage names need escaping, with an agent label and literal settings."""
    project = copy_project(tmp_path_factory.mktemp("variant") / "project")
    with (project / "deploy.yaml").open("a") as fh:
        fh.write(VARIANT_SPEC)
    return build(project, VARIANT_OVERRIDES, cache_dir)
