"""Generated pipelines pass on their first push: the scaffold (``mlready new``) and the quickstart, each committed to
a fresh git repository with its generated CI files at the root, run each system's jobs from a clean clone, in
order, through the build stage: GitLab's with gitlab-ci-local (shell executor, each job in its own copy of the
checkout, artifacts and cache handed on by gitlab-ci-local), GitHub's, CircleCI's and Jenkins' as their shell
steps, with what each system hands from job to job (artifacts, workspace, cache) done as the file declares it.
The scaffold runs on every system, the quickstart on GitLab and Jenkins.

No network: the jobs install mlready from a wheel of this checkout (``MLREADY_SPEC``, as a team would point it at
its own copy) and pip finds every other requirement already installed (``PYTHONPATH`` at this venv's packages,
mlready's own left out) with ``PIP_NO_INDEX``. Jobs run with the Python this venv was made from, never with this
venv's ``mlready`` on the ``PATH``: only what the pipeline installs is there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import QUICKSTART

pytestmark = [pytest.mark.slow, pytest.mark.tools]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SYSTEMS = ("gitlab", "github", "circleci", "jenkins")
THROUGH_BUILD = ("install", "train", "unit-tests", "validate", "build")
EXPECTED = {"scaffold": THROUGH_BUILD, "quickstart": ("install", "validate", "build")}
# the image's wheelhouse is a PyPI download: off, here and so in the pipelines' builds
NO_WHEELHOUSE = "target.docker.wheelhouse=false"
QUICKSTART_BUILD = ["+target=[docker,k8s]", "env=prod", "target.docker.registry=registry.example.com/ml",
                    "+monitoring=grafana", NO_WHEELHOUSE]  # the README's "From model to production" build
ALL_CI = "+ci=[gitlab,github,circleci,jenkins]"
CI_FILES = (".gitlab-ci.yml", ".github", ".circleci", "Jenkinsfile")


def run(cmd: list[str] | str, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    shell = isinstance(cmd, str)
    args = ["bash", "-eo", "pipefail", "-c", cmd] if shell else cmd
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{cmd!r} in {cwd} exited {proc.returncode}:\n{out[-6000:]}"
    return out


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=mlready", "-c", "user.email=ci@example.com", *args], cwd=repo,
                   check=True, capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of the CI jobs: mlready from a wheel of this checkout, everything else already there."""
    base = tmp_path_factory.mktemp("offline")
    wheels = base / "wheels"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(wheels), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    wheel = next(wheels.glob("mlready-*.whl"))
    deps = base / "site"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not re.match(r"(_*editable_*)?mlready|.*\.pth$", entry.name):
            (deps / entry.name).symlink_to(entry)
    python = base / "bin"
    python.mkdir()
    (python / "python3").symlink_to(Path(sys._base_executable).resolve())  # the venv's own base interpreter
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p and Path(p).resolve() != BIN.resolve()]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "PIP_", "VIRTUAL_ENV", "MLREADY"))}
    env.update(PATH=os.pathsep.join([str(python), *path]), PYTHONPATH=str(deps), PIP_NO_INDEX="1",
               PIP_FIND_LINKS=str(wheels), PIP_DISABLE_PIP_VERSION_CHECK="1", MLREADY_TRACKING="0",
               MLREADY_SPEC=f"mlready @ {wheel.as_uri()}", HOME=str(base / "home"),
               MLREADY_WHEEL_CACHE=str(wheel_cache()))  # the image lock's resolution, warm from the suite
    (base / "home").mkdir()
    return env


def wheel_cache() -> Path:
    from mlready.generators.docker.lock import cache_root

    return cache_root()


def developer(offline: dict[str, str]) -> dict[str, str]:
    """The developer's shell: this venv's mlready on the PATH, pip's index as configured (the image lock of the
    docker target resolves there when the suite has not warmed its cache yet, as in every docker build test)."""
    env = {k: v for k, v in offline.items() if k not in ("PIP_NO_INDEX", "PIP_FIND_LINKS")}
    return {**env, "PATH": f"{BIN}{os.pathsep}{offline['PATH']}", "PYTHONPATH": ""}


def publish(project: Path, build: list[str], env: dict[str, str], train: bool) -> Path:
    """Commit the project, build it with every CI system, put the CI files at the root and commit them."""
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "the project")
    if train:  # the scaffold's README: python train.py, then mlready build
        run([sys.executable, "train.py"], project, env)
    run([str(BIN / "mlready"), "build", *build, ALL_CI, "--quiet"], project, env)
    for name in CI_FILES:
        src = project / "build" / "ci" / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, project / name)
    git(project, "add", *CI_FILES)
    git(project, "commit", "-q", "-m", "the CI pipelines")
    return project


@pytest.fixture(scope="module")
def repos(offline: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    env = developer(offline)
    out = tmp_path_factory.mktemp("repos")
    run([str(BIN / "mlready"), "new", "--no-input", "-o", str(out), "project_name=First Push", "ci=gitlab"],
        out, env)
    quickstart = out / "quickstart"
    shutil.copytree(QUICKSTART, quickstart, ignore=shutil.ignore_patterns("build", ".mlready"))
    return {"scaffold": publish(out / "first-push", ["+target=[docker,k8s]", NO_WHEELHOUSE], env, train=True),
            "quickstart": publish(quickstart, QUICKSTART_BUILD, env, train=False)}


def clone(repo: Path, dest: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(repo), str(dest)], check=True, capture_output=True, timeout=120)
    return dest


# --- GitLab: gitlab-ci-local ---------------------------------------------------------------------------

def run_gitlab(repo: Path, work: Path, env: dict[str, str]) -> tuple[list[str], Path]:
    ws = clone(repo, work / "clone")
    doc = yaml.safe_load((ws / ".gitlab-ci.yml").read_text())
    # the shell executor instead of containers (no images here): the jobs' scripts, needs, artifacts and cache
    # are the generated file's
    doc.get("default", {}).pop("image", None)
    for job in doc.values():
        if isinstance(job, dict):
            job.pop("image", None)
            job.pop("services", None)
    (ws / ".gitlab-ci-local.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    jobs = [j for j in THROUGH_BUILD if j in doc]
    out = run(["gitlab-ci-local", "--file", ".gitlab-ci-local.yml", "--shell-isolation", *jobs], ws, env,
              timeout=1200)
    passed = re.findall(r"^ PASS +(\S+)", out, re.M)
    return passed, ws / ".gitlab-ci-local" / "builds" / "build"


# --- GitHub Actions and CircleCI: each job on a fresh clean clone at the same path, as a runner does -------

def fresh(repo: Path, ws: Path) -> Path:
    shutil.rmtree(ws, ignore_errors=True)
    return clone(repo, ws)


def keep(src: Path, dest: Path) -> None:
    """Copy a file or folder into a store (an artifact, a workspace, a cache) or back."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest, dirs_exist_ok=True, symlinks=True)
    else:
        shutil.copy(src, dest)


def _expr_env(values: dict[str, str]) -> dict[str, str]:
    """Plain values as they are; ``${{ vars.X }}`` / ``${{ secrets.X }}`` are unset repository settings."""
    return {k: "" if "${{" in str(v) else str(v) for k, v in values.items()}


def run_github(repo: Path, work: Path, env: dict[str, str]) -> tuple[list[str], Path]:
    doc = yaml.safe_load((repo / ".github" / "workflows" / "mlready.yml").read_text())
    artifacts, caches, ws = work / "artifacts", work / "caches", work / "runner"
    passed: list[str] = []
    for name, job in doc["jobs"].items():
        if name not in THROUGH_BUILD:
            continue
        fresh(repo, ws)
        job_env = {**env, **_expr_env(doc.get("env", {})), **_expr_env(job.get("env", {}))}
        missed: list[tuple[str, list[str]]] = []
        for step in job["steps"]:
            uses, given = step.get("uses", ""), step.get("with", {})
            if uses.startswith("actions/cache@"):
                key, paths = given["key"], given["path"].splitlines()
                if (caches / key).is_dir():
                    keep(caches / key, ws)
                else:
                    missed.append((key, paths))
            elif uses.startswith("actions/download-artifact@"):
                keep(artifacts / given["name"], ws / given["path"])
            elif uses.startswith("actions/upload-artifact@"):
                src = ws / given["path"]
                assert src.exists(), f"{name}: {given['path']} was not made"
                keep(src, artifacts / given["name"] / (src.name if src.is_file() else ""))
            elif "run" in step:
                run(step["run"], ws, job_env)
        for key, paths in missed:  # actions/cache saves at the end of a job that missed
            for p in paths:
                keep(ws / p, caches / key / p)
        passed.append(name)
    return passed, ws


def run_circleci(repo: Path, work: Path, env: dict[str, str]) -> tuple[list[str], Path]:
    doc = yaml.safe_load((repo / ".circleci" / "config.yml").read_text())
    workflow = next(iter(doc["workflows"].values()))["jobs"]
    order = [next(iter(e)) if isinstance(e, dict) else e for e in workflow]
    workspace, caches, ws = work / "workspace", work / "caches", work / "runner"
    workspace.mkdir()
    passed: list[str] = []
    for name in order:
        if name not in THROUGH_BUILD:
            continue
        job = doc["jobs"][name]
        fresh(repo, ws)
        executor = doc["executors"][job["executor"]]
        job_env = {**env, **{k: str(v) for k, v in executor.get("environment", {}).items()}}
        for step in job["steps"]:
            kind, given = (step, {}) if isinstance(step, str) else next(iter(step.items()))
            if kind == "attach_workspace":
                keep(workspace, ws / given["at"])
            elif kind == "restore_cache":
                hit = next((caches / k for k in given["keys"] if (caches / k).is_dir()), None)
                if hit is not None:
                    keep(hit, ws)
            elif kind == "save_cache":
                for p in given["paths"]:
                    keep(ws / p, caches / given["key"] / p)
            elif kind == "persist_to_workspace":
                for p in given["paths"]:
                    assert (ws / given["root"] / p).exists(), f"{name}: {p} was not made"
                    keep(ws / given["root"] / p, workspace / p)
            elif kind == "run":
                run(given["command"], ws, job_env)
        passed.append(name)
    return passed, ws


# --- Jenkins: the stages' sh steps in order, in one workspace ---------------------------------------------

STAGE = re.compile(r"^ {8}stage\('((?:[^'\\]|\\.)*)'\)", re.M)
SH = re.compile(r"sh '''\n(.*?)\n'''", re.S)


def _groovy_unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def run_jenkins(repo: Path, work: Path, env: dict[str, str]) -> tuple[list[str], Path]:
    text = (repo / "Jenkinsfile").read_text()
    ws = clone(repo, work / "workspace")
    job_env = {**env, **dict(re.findall(r"^ {8}([A-Z_]+) = '([^']*)'$", text, re.M))}
    passed: list[str] = []
    marks = list(STAGE.finditer(text))
    for mark, nxt in zip(marks, [*marks[1:], None], strict=True):
        name = _groovy_unescape(mark.group(1))
        if name not in THROUGH_BUILD:
            continue
        body = text[mark.end(): nxt.start() if nxt else len(text)]
        for script in SH.findall(body):
            run(_groovy_unescape(script), ws, job_env)
        passed.append(name)
    return passed, ws


RUNNERS: dict[str, Any] = {"gitlab": run_gitlab, "github": run_github, "circleci": run_circleci,
                           "jenkins": run_jenkins}


# the scaffold (train job, unit tests) on every system; the quickstart (committed model, no tests) on GitLab and
# Jenkins: its pipelines differ from the scaffold's only in the jobs they leave out
RUNS = [*((s, "scaffold") for s in SYSTEMS), ("gitlab", "quickstart"), ("jenkins", "quickstart")]


@pytest.mark.parametrize(("system", "project"), RUNS)
def test_the_pipeline_passes_from_a_clean_clone_through_the_build(
        repos: dict[str, Path], offline: dict[str, str], tmp_path: Path, system: str, project: str) -> None:
    # one step cache per project: the first system's build job runs every step, the others' hit the cache as a
    # warm runner's would (the key covers every input), which keeps this test's time down
    env = {**offline, "MLREADY_CACHE_DIR": str(Path(offline["HOME"]).parent / f"step-cache-{project}")}
    passed, build_ws = RUNNERS[system](repos[project], tmp_path, env)
    assert passed == list(EXPECTED[project])
    manifest = build_ws / "build" / "manifest.json"
    assert manifest.is_file(), f"the build job of {system} left no build dir"
    kinds = {a["kind"] for a in yaml.safe_load(manifest.read_text())["artifacts"]}
    assert {"onnx-model", "k8s-manifest", "readiness-report"} <= kinds
