"""The generated .gitlab-ci.yml read by gitlab-ci-local, which evaluates it as GitLab does (its schema, rules,
needs, when) in a real git repository: on the deploy branch every job runs and production waits for a person;
on another branch nothing past the image build runs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from mlready.generators.ci.spec import STAGES

pytestmark = pytest.mark.tools
DEPLOY_ONLY = ["push", "deploy-staging", "smoke-test", "approve-production", "deploy-production"]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=mlready", "-c", "user.email=ci@example.com", *args], cwd=repo,
                   check=True, capture_output=True, timeout=60)


def jobs(repo: Path) -> dict[str, dict]:
    proc = subprocess.run(["gitlab-ci-local", "--list-json"], cwd=repo, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {j["name"]: j for j in json.loads(proc.stdout)}


@pytest.fixture(scope="module")
def repo(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("gitlab-repo")
    shutil.copy(built / "ci" / ".gitlab-ci.yml", repo / ".gitlab-ci.yml")
    (repo / "requirements.txt").write_text("mlready\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "pipeline")
    return repo


def test_on_the_deploy_branch_every_job_runs_and_production_waits_for_a_person(repo: Path) -> None:
    found = jobs(repo)
    assert list(found) == list(STAGES)
    assert {n: (j["stage"], j["when"], j["allow_failure"]) for n, j in found.items()} == {
        n: (n, "manual" if n == "approve-production" else "on_success", False) for n in STAGES}
    needs = {n: [x["job"] for x in j.get("needs", [])] for n, j in found.items()}
    assert needs["deploy-production"] == ["approve-production", "build"]
    assert needs["push"] == ["image-build"] and needs["install"] == []


def test_on_another_branch_nothing_is_pushed_or_deployed(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature/x")
    try:
        found = jobs(repo)
    finally:
        git(repo, "checkout", "-q", "main")
    assert {n: j["when"] for n, j in found.items()} == {
        n: "never" if n in DEPLOY_ONLY else "on_success" for n in STAGES}
