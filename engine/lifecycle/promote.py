"""Move a Model Registry alias (``champion``, ``staging``, ...) to a model version.

Builds whose ``model.source`` is ``models:/<name>@<alias>`` follow the alias, so promoting a version and
rebuilding deploys it, and pointing the alias back at an older version and rebuilding is the rollback path.
``mlready promote`` runs this against a project's store through :mod:`mlready.engine.actions.promote`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlready.engine.lifecycle.registry import RegistryLookupError, model_version, parse_model_uri
from mlready.engine.lifecycle.store import Store

# MLflow's own rule for alias names; "latest" and "v<digits>" are reserved by MLflow
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_RESERVED = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class Promotion:
    name: str
    alias: str
    version: str
    previous: str | None  # the version the alias pointed at before, if any

    def describe(self) -> str:
        if self.previous == self.version:
            return f"{self.name}@{self.alias} already points at version {self.version}"
        before = f"version {self.previous}" if self.previous else "nothing"
        return f"{self.name}@{self.alias}: {before} -> version {self.version}"


def check_alias(alias: str) -> None:
    if not _ALIAS.match(alias):
        raise RegistryLookupError(f"alias {alias!r} may only contain letters, digits, '_' and '-'")
    if _RESERVED.match(alias):
        raise RegistryLookupError(f"alias {alias!r} is reserved by MLflow ('latest', 'v<number>')")


def built_version(client: Any, name: str, build_dir: Path) -> str:
    """The registry version of ``name`` that holds the model a build served (``<build_dir>/manifest.json``): what
    a pipeline promotes after its gates passed, without parsing the build's output."""
    from mlready.engine.lifecycle.tracking import _served_model_sha, _version_of
    from mlready.engine.manifest import Manifest

    path = Path(build_dir) / "manifest.json"
    if not path.is_file():
        raise RegistryLookupError(f"{path} not found: promote --from-build needs a finished build's directory")
    sha = _served_model_sha(Manifest.load(path))
    if sha is None:
        raise RegistryLookupError(f"the build in {build_dir} serves no model to promote")
    version = _version_of(client, name, sha)
    if version is None:
        raise RegistryLookupError(
            f"the model the build in {build_dir} served is not a registered version of {name!r} (tracking off, "
            "another tracking.model_name, or its tracking not finished: build with --wait-tracking)"
        )
    return str(version.version)


def promote(client: Any, store: Store, name: str, version: int | str, alias: str) -> Promotion:
    """Point ``name@alias`` at ``version`` (which must exist); return what changed."""
    check_alias(alias)
    mv = model_version(client, store, parse_model_uri(f"models:/{name}/{version}"))
    previous = (client.get_registered_model(name).aliases or {}).get(alias)
    client.set_registered_model_alias(name, alias, str(mv.version))
    return Promotion(name=name, alias=alias, version=str(mv.version), previous=str(previous) if previous else None)
