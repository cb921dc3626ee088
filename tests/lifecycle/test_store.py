"""Where the store is, and a tracking server that does not answer fails clearly within the timeout."""

from __future__ import annotations

import socket
import time

import pytest
from mlready.engine.cli import main
from mlready.engine.lifecycle.registry import resolve_model_uri
from mlready.engine.lifecycle.store import TrackingUnavailable, redact_uri, store_for


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_server():
    """A loopback socket that completes TCP handshakes (backlog) but never answers a request."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_default_store_is_embedded_in_the_project(tmp_path):
    store = store_for(tmp_path)
    assert store.tracking_uri == f"sqlite:///{tmp_path.resolve()}/.mlready/mlflow.db"
    assert store.artifact_root == (tmp_path.resolve() / ".mlready" / "mlartifacts").as_uri()
    assert not store.remote


def test_a_sqlite_store_keeps_artifacts_beside_its_database(tmp_path):
    store = store_for(tmp_path, f"sqlite:///{tmp_path}/shared/mlflow.db")
    assert store.artifact_root == (tmp_path.resolve() / "shared" / "mlartifacts").as_uri()
    assert store_for(tmp_path, "http://127.0.0.1:5000").artifact_root is None


def test_environment_uri_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert store_for(tmp_path, "sqlite:///x.db").tracking_uri == "http://127.0.0.1:5000"
    assert store_for(tmp_path).remote


def test_credentials_are_redacted_for_display():
    assert redact_uri("https://alice:s3cret@mlflow.example:8443/x") == "https://***@mlflow.example:8443/x"
    assert redact_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def test_closed_port_fails_fast_with_the_reason(spec_for, tmp_path):
    url = f"http://alice:s3cret@127.0.0.1:{_closed_port()}"
    spec = spec_for(tmp_path, tracking={"uri": url, "timeout_seconds": 2})
    start = time.monotonic()
    with pytest.raises(TrackingUnavailable) as info:
        resolve_model_uri("models:/iris/1", spec)
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert message.startswith("the MLflow tracking server at http://***@127.0.0.1:")
    assert "did not answer within 2s" in message and "Connection refused" in message
    assert "tracking.enabled=false" in message
    assert "s3cret" not in message


def test_silent_server_times_out_within_the_bound(spec_for, tmp_path, silent_server):
    spec = spec_for(tmp_path, tracking={"uri": silent_server, "timeout_seconds": 1.5})
    start = time.monotonic()
    with pytest.raises(TrackingUnavailable, match=r"did not answer within 1\.5s \(timed out\)"):
        resolve_model_uri("models:/iris@champion", spec)
    elapsed = time.monotonic() - start
    assert 1.0 < elapsed < 10


def test_promote_against_a_dead_server_exits_1_with_the_message(capsys):
    url = f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    assert main(["promote", "iris", "--version", "1", "--tracking-uri", url]) == 1
    assert time.monotonic() - start < 15
    assert capsys.readouterr().err.startswith(f"error: the MLflow tracking server at {url} did not answer")


def test_a_deleted_experiment_is_restored(registry):
    from mlready.engine.lifecycle.store import ensure_experiment

    client, store = registry["client"], registry["store"]
    exp_id = ensure_experiment(client, store, "to-delete")
    client.delete_experiment(exp_id)
    assert ensure_experiment(client, store, "to-delete") == exp_id
    assert client.get_experiment(exp_id).lifecycle_stage == "active"
