"""Where MLflow lives for a project, and how to talk to it without hanging.

Precedence of the tracking URI: ``MLFLOW_TRACKING_URI`` in the environment, then ``tracking.uri`` from the
spec, then the embedded store: ``sqlite:///<project>/.mlready/mlflow.db`` with artifacts in
``<project>/.mlready/mlartifacts`` (no server to start). A remote server is probed once with a bounded
timeout before MLflow is used, and MLflow's own HTTP retries are bounded while we talk to it, so a server that
does not answer fails the command in seconds instead of MLflow's default minutes of retries.

MLflow is imported inside functions only: importing this module is free.
"""

from __future__ import annotations

import base64
import os
import shutil
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlready.engine.errors import MlreadyError

STATE_DIR = ".mlready"
DEFAULT_TIMEOUT = 10.0


class TrackingUnavailable(MlreadyError):
    """The tracking server could not be reached (or answered with an error)."""


@dataclass(frozen=True)
class Store:
    tracking_uri: str
    #: artifact root for experiments we create (the embedded store keeps them inside the project)
    artifact_root: str | None
    timeout: float = DEFAULT_TIMEOUT

    @property
    def remote(self) -> bool:
        return urllib.parse.urlsplit(self.tracking_uri).scheme in ("http", "https")

    @property
    def display(self) -> str:
        return redact_uri(self.tracking_uri)


def redact_uri(uri: str) -> str:
    """The URI without user info (``https://user:token@host`` -> ``https://***@host``): safe to print."""
    parts = urllib.parse.urlsplit(uri)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}"))
    return uri


def embedded_uri(project_dir: Path) -> tuple[str, str]:
    """(tracking URI, artifact root URI) of the embedded store of a project."""
    state = Path(project_dir).resolve() / STATE_DIR
    return f"sqlite:///{state / 'mlflow.db'}", (state / "mlartifacts").as_uri()


def store_for(project_dir: Path, uri: str | None = None, timeout: float = DEFAULT_TIMEOUT) -> Store:
    env = os.environ.get("MLFLOW_TRACKING_URI")
    chosen = env or uri
    if chosen:
        return Store(tracking_uri=chosen, artifact_root=sqlite_artifact_root(chosen), timeout=timeout)
    tracking, artifacts = embedded_uri(project_dir)
    return Store(tracking_uri=tracking, artifact_root=artifacts, timeout=timeout)


def sqlite_artifact_root(uri: str) -> str | None:
    """Artifacts of a SQLite store live beside the database (MLflow's default is ./mlruns in the cwd)."""
    if not uri.startswith("sqlite:///"):
        return None  # a server (or database server) decides where artifacts go
    return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()


def store_from_spec(spec: Any) -> Store:
    cfg = spec.section("tracking")
    return store_for(spec.project_dir, cfg.uri, cfg.timeout_seconds)


@contextmanager
def bounded_http(timeout: float) -> Iterator[None]:
    """Bound MLflow's HTTP timeout and retries for the duration (user-set values are respected)."""
    wanted = {
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(max(1, round(timeout))),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    }
    saved = {k: os.environ.get(k) for k in wanted}
    for key, value in wanted.items():
        if saved[key] is None:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)


def check_reachable(store: Store) -> None:
    """Fail fast and clearly when a remote tracking server does not answer within the timeout."""
    if not store.remote:
        return
    parts = urllib.parse.urlsplit(store.tracking_uri)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    url = urllib.parse.urlunsplit(parts._replace(netloc=netloc, path=parts.path.rstrip("/") + "/health"))
    request = urllib.request.Request(url)
    if parts.username is not None:  # user info in the URI: send it as basic auth, not as part of the host
        token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=store.timeout):  # noqa: S310 - http(s) only, checked above
            return
    except urllib.error.HTTPError:
        return  # it answered: auth or routing problems surface later with MLflow's own message
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, ssl.SSLError):
            return  # it answered TLS; MLflow's own client (REQUESTS_CA_BUNDLE, ...) decides about the cert
        raise TrackingUnavailable(
            f"the MLflow tracking server at {store.display} did not answer within {store.timeout:g}s "
            f"({reason}); start it, fix MLFLOW_TRACKING_URI / tracking.uri, or build with "
            "tracking.enabled=false"
        ) from None


def _create_schema(db: Path) -> None:
    """Create an MLflow SQLite database at ``db`` (runs MLflow's schema migrations: seconds)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{db}", (db.parent / "mlartifacts").as_uri())  # type: ignore[no-untyped-call]
    store.engine.dispose()


def _schema_template() -> Path:
    """A pristine, migrated database for this MLflow version, kept in the user's cache dir."""
    import mlflow

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mlready"
    path = cache / f"mlflow-{mlflow.__version__}-schema.db"
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = cache / f".{path.name}.{os.getpid()}.tmp"
        try:
            _create_schema(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def prepare_sqlite(db: Path) -> None:
    """Create a missing SQLite store atomically: an interrupted first build never leaves a half-migrated
    database, and new projects start from a cached migrated copy instead of running the migrations again."""
    if db.exists():
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".{db.name}.{os.getpid()}.tmp")
    try:
        try:
            shutil.copyfile(_schema_template(), tmp)
        except OSError:  # no writable cache dir: migrate in place of the copy
            tmp.unlink(missing_ok=True)
            _create_schema(tmp)
        os.replace(tmp, db)
    finally:
        tmp.unlink(missing_ok=True)


def open_client(store: Store) -> Any:
    """An ``MlflowClient`` for the store (tracking and registry on the same URI)."""
    check_reachable(store)
    import logging

    # the embedded store logs its schema migrations at INFO on first use: not news for the user
    for name in ("mlflow.store.db.utils", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if store.tracking_uri.startswith("sqlite:///"):
        prepare_sqlite(Path(store.tracking_uri.removeprefix("sqlite:///")))
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=store.tracking_uri, registry_uri=store.tracking_uri)


def ensure_experiment(client: Any, store: Store, name: str) -> str:
    """The id of the experiment ``name``, created (with the store's artifact root) when missing."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":  # deleted in the UI: bring it back rather than fail every build
            client.restore_experiment(exp.experiment_id)
        return str(exp.experiment_id)
    location = f"{store.artifact_root}/{urllib.parse.quote(name, safe='')}" if store.artifact_root else None
    return str(client.create_experiment(name, artifact_location=location))


@contextmanager
def project_lock(state_dir: Path, timeout: float = 300.0) -> Iterator[None]:
    """One MLflow writer per project at a time (``<project>/.mlready/tracking.lock``): a background worker
    and ``mlready image`` tagging the registered version never race to register the same model twice."""
    import fcntl
    import time

    state_dir.mkdir(parents=True, exist_ok=True)
    with open(state_dir / "tracking.lock", "a+b") as fh:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise MlreadyError(f"{state_dir / 'tracking.lock'} is held by another mlready process "
                                       f"for more than {timeout:g}s (a hung tracking worker?)") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
