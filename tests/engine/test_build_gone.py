"""A build replaces the whole build dir with what its overrides switch on: folders the previous build made and
this one does not are said (the README's own sequence once dropped k8s/ without a word)."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlready.engine import api

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"


def test_folders_the_previous_build_made_are_named_when_dropped(tmp_path):
    root = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns("build", ".mlready"))
    spec = (root / "deploy.yaml").read_text()
    (root / "deploy.yaml").write_text(spec.split("\nreadiness:\n")[0] + "\n")  # the gates are not the point
    first = api.build(root, ["+target=[docker,k8s]"], run_hooks=False)
    assert not any(n.startswith("no longer built") for n in first.notes)  # nothing before it
    again = api.build(root, ["+target=k8s"], run_hooks=False)
    assert [n for n in again.notes if n.startswith("no longer built")] == [
        "no longer built: docker/ (a build makes what its overrides switch on; the last build's are not "
        "remembered: pass them again, e.g. +target=docker)"]
    assert not (root / "build" / "docker").exists() and (root / "build" / "k8s").is_dir()
    same = api.build(root, ["+target=k8s"], run_hooks=False)
    assert not any(n.startswith("no longer built") for n in same.notes)
