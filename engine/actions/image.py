"""``mlready image`` as a function: build the project, then build, smoke-test, push and record its image."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlready.engine.actions import docker_engine as img
from mlready.engine.actions.rebuild import group_names, merge_overrides, previous_build
from mlready.engine.actions.smoke import SmokeResult, smoke_test
from mlready.engine.errors import UsageError
from mlready.engine.manifest import Manifest


@dataclass
class ImageReport:
    ref: str
    id: str
    digest: str | None
    pushed: bool
    steps: int
    cached_steps: int
    build_seconds: float
    size: img.ImageSize
    smoke: SmokeResult | None
    overrides: list[str]  # what the build ran with: the previous build's choices plus the command's
    notes: list[str]  # what the build's hooks said (the MLflow run)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_and_check(project_dir: str | Path, overrides: list[str] | None = None, *, push: bool = False,
                    smoke: bool = True, no_cache: bool = False, out: str | Path | None = None,
                    reporter: Any = None) -> ImageReport:
    from mlready.engine import api
    from mlready.engine.writer import update_manifest

    # the docker target's build facts (where its context is, the image reference, the base): the one place
    # the actions layer reads a generator's facts, imported when the action runs (the engine imports no
    # generator at import time)
    from mlready.generators._shared.facts import image_ref
    from mlready.generators.docker import variant
    from mlready.generators.docker.context import OUT, image_base

    project = Path(project_dir).resolve()
    previous = previous_build(Path(out).resolve() if out else api.default_out(project))
    merged = list(overrides or [])
    if previous is not None:  # build on what the user built: never drop its artifacts
        merged = merge_overrides(previous.overrides, merged, group_names(project))
    client = img.connect()  # no engine: fail before the build dir is touched
    try:
        # the MLflow run is recorded in the background while the image builds (tagged once it is, below)
        result = api.build(project, merged, out=out, reporter=reporter,
                           keep=previous.paths if previous is not None else (), detach_hooks=True)
        for line in result.kept.lines(result.out_dir):  # the user's changes moved aside: said at once
            print(line, file=sys.stderr, flush=True)
        spec = result.spec
        cfg = spec.section("target.docker")
        context_dir = result.out_dir / OUT
        if not cfg.enabled or not (context_dir / "Dockerfile").is_file():
            raise UsageError("the docker target is not enabled: run `mlready image +target=docker ...` or add "
                             "`target: docker` to the defaults in deploy.yaml")
        repo, tag = image_ref(spec)
        build_args = {}
        if os.environ.get("SOURCE_DATE_EPOCH"):  # reproducible timestamps where the builder honours it
            build_args["SOURCE_DATE_EPOCH"] = os.environ["SOURCE_DATE_EPOCH"]
        built = img.build(client, context_dir, f"{repo}:{tag}", build_args, no_cache=no_cache)
        sizes = img.size(client, built.id, image_base(cfg.model_dump(mode="json"), variant(spec)))
        checked = None
        if smoke:
            checked = smoke_test(client, built.id, spec=spec, context_dir=context_dir, user=f"{cfg.uid}:{cfg.gid}")
        digest = img.push(client, repo, tag) if push else img.repo_digest(client, built.id)
    finally:
        client.close()
    record = img.ImageRecord(name=repo, tag=tag, id=built.id, digest=digest)
    report = ImageReport(f"{repo}:{tag}", built.id, digest, push, built.steps, built.cached, built.seconds,
                         sizes, checked, merged, result.notes)
    update_manifest(result.out_dir, {"image": {**asdict(record), "pushed": push, "size": sizes.total}})
    record.write(project)
    report.notes.extend(_tag_registered_model(spec, result.manifest, f"{repo}:{tag}", digest))
    return report


def _tag_registered_model(spec: Any, manifest: Manifest, ref: str, digest: str | None) -> list[str]:
    """Tag the Model Registry version of this build's model with its image (the build's hook ran before the
    image existed). Tracking switched off, or no registered version: nothing to do."""
    from mlready.engine.lifecycle.background import wait
    from mlready.engine.lifecycle.tracking import record_image, tracking_enabled

    if tracking_enabled(spec):
        wait(Path(spec.project_dir))  # the build's run, recorded in the background, registers the model
        version = record_image(spec, manifest, ref, digest)
        if version:
            return [f"mlflow: tagged registry version {version} of the model with image {ref}"]
    return []
