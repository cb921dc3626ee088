"""``mlready promote``: move a Model Registry alias in the tracking store a project's builds use."""

from __future__ import annotations

from pathlib import Path

from mlready.engine.lifecycle.promote import Promotion, built_version, promote
from mlready.engine.lifecycle.store import (
    Store,
    bounded_http,
    open_client,
    sqlite_artifact_root,
    store_for,
    store_from_spec,
)


def project_store(project_dir: Path, tracking_uri: str | None = None, timeout: float = 10.0) -> Store:
    """The store a project's builds use: an explicit URI, else its spec's (and the environment's) choice."""
    if tracking_uri:
        return Store(tracking_uri=tracking_uri, artifact_root=sqlite_artifact_root(tracking_uri), timeout=timeout)
    if (Path(project_dir) / "deploy.yaml").is_file():
        from mlready.engine.load import load_spec

        spec, _ = load_spec(Path(project_dir))
        return store_from_spec(spec)
    return store_for(Path(project_dir), timeout=timeout)


def promote_in_project(
    project_dir: Path, name: str, version: int | None, alias: str, tracking_uri: str | None = None,
    from_build: Path | None = None,
) -> Promotion:
    """Point ``name@alias`` at ``version``, or (``from_build``) at the version holding that build's model."""
    store = project_store(project_dir, tracking_uri)
    with bounded_http(store.timeout):
        client = open_client(store)
        if from_build is not None:
            version = int(built_version(client, name, Path(project_dir) / from_build))
        assert version is not None
        return promote(client, store, name, version, alias)
