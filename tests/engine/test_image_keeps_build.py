"""``mlready image`` builds on the previous build: the k8s bundle, reports and optimized model a user built
are kept (issue 17), and nothing is touched when no container engine answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlready.engine import api
from mlready.engine.actions.rebuild import merge_overrides
from mlready.engine.errors import UsageError


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_overrides_merge_onto_the_previous_build():
    groups = {"target", "ci"}
    assert merge_overrides(["optimize=auto", "+target=k8s", "serving.replicas=2"],
                           ["+target=docker", "env=prod", "serving.replicas=3", "+ci=gitlab"], groups) == [
        "optimize=auto", "env=prod", "+target=[k8s,docker]", "+ci=gitlab", "serving.replicas=3"]
    assert merge_overrides(["+target=[k8s,kserve]"], ["+target=[docker,k8s]"], groups) == [
        "+target=[k8s,kserve,docker]"]
    assert merge_overrides([], ["+target=docker", "~readiness"], groups) == ["+target=docker", "~readiness"]


def test_image_without_an_engine_leaves_the_k8s_build_untouched(demo, monkeypatch):
    from mlready.engine.actions.docker_engine import EngineUnreachable

    api.build(demo, ["+target=k8s"], run_hooks=False)
    before = _tree(demo / "build")
    assert any(p.startswith("k8s/") for p in before)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{demo / 'no-engine.sock'}")
    with pytest.raises(EngineUnreachable):
        api.image(demo, ["+target=docker"])
    assert _tree(demo / "build") == before


def test_building_on_the_previous_build_adds_the_docker_context_and_keeps_k8s(demo):
    from mlready.engine.actions.rebuild import group_names, previous_build

    api.build(demo, ["+target=k8s"], run_hooks=False)
    k8s = {p: b for p, b in _tree(demo / "build").items() if p.startswith("k8s/")}
    previous = previous_build(demo / "build")
    assert previous is not None
    merged = merge_overrides(previous.overrides, ["+target=docker"], group_names(demo))
    assert merged == ["+target=[k8s,docker]"]
    api.build(demo, merged, run_hooks=False, keep=previous.paths)
    after = _tree(demo / "build")
    assert {p: b for p, b in after.items() if p.startswith("k8s/")} == k8s
    assert "docker/Dockerfile" in after


def test_a_build_that_would_drop_kept_files_writes_nothing(demo):
    api.build(demo, ["+target=k8s"], run_hooks=False)
    before = _tree(demo / "build")
    keep = {p for p in before if p != "manifest.json"}
    with pytest.raises(UsageError, match=r"would drop \d+ file\(s\) of the previous build .*k8s/"):
        api.build(demo, [], run_hooks=False, keep=keep)
    assert _tree(demo / "build") == before
