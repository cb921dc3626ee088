"""``build/manifest.json``, typed: what a build wrote and how (the one reader and writer of the file).

Versioned by ``schema_version``: a manifest written by a newer mlready (a higher schema version) or one that
does not parse is refused with a :class:`ManifestError` naming the file, never half-read.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

from mlready.engine.errors import UsageError
from mlready.engine.serialize import dump_json
from pydantic import BaseModel, ConfigDict, ValidationError

SCHEMA_VERSION = 1
FILENAME = "manifest.json"


class CacheState(StrEnum):
    """What became of a step in a build (a ``str``: it is written into the manifest as is)."""

    PENDING = "pending"
    HIT = "hit"  # its key was in the cache: artifacts restored, body not run
    MISS = "miss"  # its body ran
    SKIPPED = "skipped"  # an upstream step did not succeed
    FAILED = "failed"

    @property
    def ok(self) -> bool:
        return self in (CacheState.HIT, CacheState.MISS)


class ManifestError(UsageError):
    """A manifest that cannot be read (missing, malformed, or from a newer mlready)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpecRecord(_Record):
    overrides: list[str]
    choices: dict[str, Any]
    digest: str


class GitRecord(_Record):
    commit: str | None = None
    dirty: bool = False


class StepEntry(_Record):
    id: str
    key: str
    cache: CacheState
    seconds: float
    error: str | None = None


class ArtifactEntry(_Record):
    path: str
    kind: str
    sha256: str
    step: str


class ImageEntry(_Record):
    """The image ``mlready image`` built from this build dir."""

    name: str
    tag: str
    id: str
    digest: str | None = None  # repo@sha256 once pushed
    pushed: bool = False
    size: int | None = None  # bytes


class Manifest(_Record):
    schema_version: int = SCHEMA_VERSION
    mlready_version: str
    project: str
    spec: SpecRecord
    git: GitRecord
    steps: list[StepEntry]
    artifacts: list[ArtifactEntry]
    image: ImageEntry | None = None
    #: project-relative path -> digest of every input file the steps declared (model, data): lets
    #: ``mlready check`` tell a changed model from a changed spec
    inputs: dict[str, str] | None = None

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read ``path`` (a manifest file, or a build dir holding one)."""
        if path.is_dir():
            path = path / FILENAME
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ManifestError(f"no build found: {path} does not exist (run `mlready build` first)") from None
        except (OSError, ValueError) as exc:
            raise ManifestError(f"{path} is unreadable ({exc}); run `mlready build` again") from exc
        version = data.get("schema_version") if isinstance(data, dict) else None
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise ManifestError(f"{path} has schema_version {version}, written by a newer mlready "
                                f"(this one reads {SCHEMA_VERSION}); upgrade mlready or rebuild")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise ManifestError(f"{path} {where}: {first['msg']}; run `mlready build` again") from None

    def updated(self, fields: dict[str, Any]) -> Manifest:
        """A copy with top-level ``fields`` replaced, validated (a :class:`ManifestError` names the field)."""
        try:
            return Manifest.model_validate({**self.model_dump(mode="json"), **fields})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ManifestError(f"manifest {where}: {first['msg']}") from None

    def dump(self) -> str:
        return dump_json(self.model_dump(mode="json", exclude_none=True))

    def write(self, path: Path) -> None:
        """Replace ``path`` atomically."""
        from mlready.engine.writer import atomic_write_text

        atomic_write_text(path, self.dump())

    def paths(self, kind: str) -> list[str]:
        """Paths of the artifacts of ``kind``, in manifest (path) order."""
        return [a.path for a in self.artifacts if a.kind == kind]

    def digests(self) -> dict[str, str]:
        """path -> sha256 of every artifact."""
        return {a.path: a.sha256 for a in self.artifacts}
