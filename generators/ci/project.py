"""What the project really has, so the pipeline passes on its first push from a fresh clone.

Decided at plan time from the spec and the project folder (the project is the repository root the CI system
checks out), each decision with a note the build prints and the pipeline file carries:

- **install**: ``ci.<system>.install`` when set (a ``-r``/``-c`` file it names must exist), else
  ``requirements.txt``, else ``pip install .`` for a ``pyproject.toml``; then mlready itself when those do
  not list it (``ci.<system>.mlready``, ``$MLREADY_SPEC``, else where the building mlready came from) and
  pytest when there are tests and nothing lists it;
- **lock files** keying the dependency cache: ``ci.<system>.lock_files`` (must exist), else the requirement
  files found, else ``deploy.yaml``;
- **tests**: ``ci.<system>.tests`` (must exist; ``''`` for none), else ``tests/`` when it holds test files,
  else no unit-test job;
- **produce**: the model and data files the build reads that a fresh clone lacks (not tracked by git when the
  project is a repository; else ignored by its ``.gitignore`` or absent) are made by a ``train`` job:
  ``ci.<system>.produce`` when set, else the DVC pipeline's train stage when ``+pipeline=dvc`` is on
  (``dvc pull train`` with a committed ``dvc.yaml`` and a DVC remote, ``dvc repro train`` without one, else
  the stage's command), else ``python train.py``;
  with nothing to produce them, a spec error.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from mlready.engine.distribution import is_local, mlready_requirement
from mlready.generators.ci.spec import PipelineSpec

PIP = "python -m pip install"
TEST_FILE = re.compile(r"^(test_.*|.*_test)\.py$")
REQUIREMENT_OPTION = re.compile(r"(?:^|\s)(?:-r|--requirement|-c|--constraint)(?:\s+|=)(\S+)")
LOCKS = ("uv.lock", "poetry.lock", "pdm.lock")
URI = re.compile(r"^[a-z][a-z0-9+.-]*:/")  # models:/name/1, runs:/id/path, s3://...


@dataclass(frozen=True)
class ProjectPlan:
    install: tuple[str, ...]
    lock_files: tuple[str, ...]
    tests: str  # "" when the pipeline has no unit-test job
    produce: tuple[str, ...]  # commands of the train job ("" job when empty)
    produced: tuple[str, ...]  # the files the train job hands to later jobs
    notes: tuple[str, ...] = ()
    problems: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # (key, message): spec errors


def _listed(text: str, name: str) -> bool:
    """Whether a requirements text names package ``name`` (comment lines ignored)."""
    lines = (line.split(" #", 1)[0] for line in text.splitlines() if not line.lstrip().startswith("#"))
    return any(re.search(rf"(?i)(^|[\s/@=])({re.escape(name)})([\s\[<>=!~;@]|$)", line) for line in lines)


def _requirements(project: Path) -> tuple[list[str], list[str], str, str]:
    """(install commands, lock files, the requirements' text, what was found) detected in the project."""
    req = project / "requirements.txt"
    if req.is_file():
        return [f"{PIP} -r requirements.txt"], ["requirements.txt"], req.read_text("utf-8", "replace"), \
            "requirements.txt"
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        try:
            deps = tomllib.loads(pyproject.read_text("utf-8")).get("project", {}).get("dependencies", [])
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            deps = []
        locks = [f for f in LOCKS if (project / f).is_file()][:1]
        return [f"{PIP} ."], ["pyproject.toml", *locks], "\n".join(map(str, deps)), "pyproject.toml"
    return [], [], "", ""


def _needed_files(spec) -> list[tuple[str, str]]:
    """(spec key, relative path) of every model and data file the build reads from the project."""
    out = []
    model = spec.model
    if model.source and model.format != "trainer" and not model.trainer and not URI.match(str(model.source)):
        out.append(("model.source", str(model.source)))
    for key in ("train", "eval", "sample"):
        value = getattr(spec.data, key)
        if value and not URI.match(str(value)):
            out.append((f"data.{key}", str(value)))
    return [(k, p) for k, p in out if not Path(p).is_absolute()]


def _git(project: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(["git", "-C", str(project), *args], capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _missing_in_clone(project: Path, paths: list[str], in_git: bool) -> tuple[list[str], str]:
    """(the paths a fresh clone lacks, how that was decided); ``in_git``: the project is in a git repository."""
    if in_git:
        listed = _git(project, "ls-files", "-z", "--", *paths)
        tracked = set(listed.stdout.split("\0")) if listed is not None and listed.returncode == 0 else set()
        missing = [p for p in paths
                   if p not in tracked and not any(t.startswith(p.rstrip("/") + "/") for t in tracked)]
        return missing, "not tracked by git"
    import pathspec

    ignore = project / ".gitignore"
    lines = ignore.read_text("utf-8", "replace").splitlines() if ignore.is_file() else []
    matcher = pathspec.GitIgnoreSpec.from_lines(lines)
    return [p for p in paths if matcher.match_file(p) or not (project / p).exists()], "ignored by .gitignore or absent"


def _produce(spec, cfg: PipelineSpec, section: str, project: Path, text: str, in_git: bool
             ) -> tuple[list[str], list[str], list[str], list[tuple[str, str]], list[str]]:
    """(produce commands, produced files, notes, problems, extra install commands)."""
    needed = _needed_files(spec)
    missing, why = _missing_in_clone(project, [p for _, p in needed], in_git) if needed else ([], "")
    notes: list[str] = []
    if cfg.produce is not None:
        if missing:
            notes.append(f"train job: {section}.produce makes {', '.join(missing)} ({why})")
        return list(cfg.produce), missing if cfg.produce else [], notes, [], []
    if not missing:
        return [], [], notes, [], []
    dvc = spec.optional_section("pipeline.dvc")
    extra: list[str] = []
    if dvc is not None and dvc.enabled and (dvc.train.cmd or (project / "dvc.yaml").is_file()):
        config = project / ".dvc" / "config"
        remote = config.is_file() and re.search(r"(?m)^\s*remote\s*=", config.read_text("utf-8", "replace"))
        if (project / "dvc.yaml").is_file() and remote:
            commands, how = ["dvc pull train"], "dvc pull train (the DVC remote keeps the train stage's outputs)"
        elif (project / "dvc.yaml").is_file():
            commands, how = ["dvc repro train"], "the committed dvc.yaml's train stage (dvc repro train)"
        else:
            commands, how = [dvc.train.cmd], f"the DVC train stage's command ({dvc.train.cmd})"
        if commands[0].startswith("dvc ") and not _listed(text, "dvc"):
            extra.append(f"{PIP} dvc")
    elif (project / "train.py").is_file():
        commands, how = ["python train.py"], "train.py"
    else:
        keys = [k for k, p in needed if p in missing]
        one = len(missing) == 1
        return [], [], notes, [(keys[0], (  # located where the spec names the (first) missing file
            f"{', '.join(missing)}{'' if one else ' (' + ', '.join(keys) + ')'} {'is' if one else 'are'} {why}, "
            "so a fresh clone "
            f"lacks {'it' if one else 'them'} and nothing in the {section.split('.')[1]} pipeline produces "
            f"{'it' if one else 'them'}: commit {'it' if one else 'them'}, add a train.py, turn on +pipeline=dvc "
            f"with a train stage, or set {section}.produce"))], []
    notes.append(f"train job: {how} makes {', '.join(missing)} ({why} here)")
    return commands, missing, notes, [], extra


def plan_project(spec, cfg: PipelineSpec, section: str) -> ProjectPlan:
    """What the pipeline installs, tests and produces for this project (see the module doc)."""
    project = Path(spec.project_dir)
    problems: list[tuple[str, str]] = []
    notes: list[str] = []
    found_install, found_locks, text, found = _requirements(project)
    top = _git(project, "rev-parse", "--show-toplevel")
    root = Path(top.stdout.strip()).resolve() if top is not None and top.returncode == 0 else None
    if root is not None and root != project.resolve():
        notes.append(f"warning: the project is {project.resolve().relative_to(root)}/ "
                     "in its git repository, but the pipeline runs at the repository root: give the project a "
                     "repository of its own")

    if cfg.tests is None:
        tests_dir = project / "tests"
        has_tests = tests_dir.is_dir() and any(TEST_FILE.match(p.name) for p in tests_dir.rglob("*.py"))
        tests = "tests" if has_tests else ""
        notes.append("unit-tests job: pytest tests (tests/ found)" if has_tests else
                     f"no unit-test job: no tests/ folder with test files (set {section}.tests to add one)")
    else:
        tests = cfg.tests
        if tests and not (project / tests).exists():
            problems.append((f"{section}.tests", f"{tests!r} does not exist in the project ({project}); "
                                                 "name the test folder or file, or '' for no unit-test job"))

    produce, produced, produce_notes, produce_problems, produce_install = _produce(spec, cfg, section, project, text,
                                                                                   root is not None)
    problems += produce_problems

    if cfg.install is not None:
        install = list(cfg.install)
        notes.append(f"install: as {section}.install says")
        for command in install:
            for name in REQUIREMENT_OPTION.findall(command):
                if not (project / name).is_file():
                    problems.append((f"{section}.install", f"{command!r} names {name!r}, which does not exist "
                                                           f"in the project ({project})"))
    else:
        install = list(found_install)
        notes.append(f"install: {found}" if found else
                     "install: mlready only (no requirements.txt or pyproject.toml in the project)")
        local = [line.strip() for line in text.splitlines()
                 if _listed(line, "mlready") and is_local(line.split("@", 1)[-1].strip())]
        if local:
            notes.append(f"warning: {found} installs mlready from a path on this machine ({local[0]}): point it at "
                         "where the CI runner installs mlready from (a git URL, your index, a wheel URL)")
        if not _listed(text, "mlready"):
            requirement = cfg.mlready or mlready_requirement()
            install.append(f"{PIP} {shlex.quote(requirement)}")
            if found:
                notes.append(f"{found} does not list mlready: the pipeline installs {requirement}")
            if is_local(requirement):
                notes.append(f"warning: {requirement} is a path on this machine: set {section}.mlready or "
                             f"MLREADY_SPEC to where the CI runner installs mlready from")
        if tests and not _listed(text, "pytest"):
            install.append(f"{PIP} pytest")
            notes.append("nothing lists pytest: the pipeline installs it for the unit tests")
        install += produce_install

    if cfg.lock_files is not None:
        locks = list(cfg.lock_files)
        for name in locks:
            if not (project / name).is_file():
                problems.append((f"{section}.lock_files", f"{name!r} does not exist in the project ({project})"))
    else:
        locks = found_locks or ["deploy.yaml"]
    notes += produce_notes
    return ProjectPlan(install=tuple(install), lock_files=tuple(locks), tests=tests, produce=tuple(produce),
                       produced=tuple(produced), notes=tuple(notes), problems=tuple(problems))
