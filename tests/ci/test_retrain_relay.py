"""The retrain relay (mlready.runtime.relay) on loopback: a real server, a real HTTP client, a recording fake CI
system. What it forwards (method, path, headers with the token from its file, body), and what it refuses."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlready.runtime.relay import RelayConfig, RelayServer, main

from tests.support.recorder import Recorder, recording

pytestmark = pytest.mark.server

TOKEN, GITHUB_TOKEN, CIRCLE_TOKEN = "relay-s3cret-token", "ghp-not-a-real-token-1234", "circle-not-real-5678"
NOTE = {"version": "4", "status": "firing", "receiver": "mlready-retrain", "groupKey": "{}:{model=\"q\"}",
        "alerts": [{"status": "firing", "labels": {"alertname": "QFeatureDrift", "model": "q"}},
                   {"status": "firing", "labels": {"alertname": "QPredictionShift", "model": "q"}}]}


def _config(tmp: Path, upstream: str, **extra: object) -> dict:
    for name, value in (("relay", TOKEN), ("github", GITHUB_TOKEN), ("circleci", CIRCLE_TOKEN)):
        (tmp / name).write_text(value + "\n")
    return {"listen": "127.0.0.1:0", "token_file": str(tmp / "relay"), "timeout": 2, **extra,
            "targets": {"github": {"url": f"{upstream}/repos/acme/q/dispatches", "token_file": str(tmp / "github"),
                                   "event": "mlready-retrain"},
                        "circleci": {"url": f"{upstream}/api/v2/project/gh/acme/q/pipeline",
                                     "token_file": str(tmp / "circleci"), "branch": "main",
                                     "parameter": "mlready-retrain"}}}


@contextlib.contextmanager
def relay(raw: dict) -> Iterator[tuple[str, int]]:
    server = RelayServer(RelayConfig.from_dict(raw))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        server.server_close()


def post(addr: tuple[str, int], path: str, body: bytes | dict, token: str | None = TOKEN,
         headers: dict[str, str] | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection(*addr, timeout=10)
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    h = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {}),
         **(headers or {})}
    conn.request("POST", path, body=data, headers=h)
    resp = conn.getresponse()
    out = resp.status, json.loads(resp.read() or b"{}")
    conn.close()
    return out


@pytest.fixture
def upstream() -> Iterator[Recorder]:
    with recording(status=204) as fake:
        yield fake


def test_a_firing_notification_becomes_each_ci_systems_own_request(tmp_path: Path, upstream: Recorder,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="mlready.relay")
    with relay(_config(tmp_path, upstream.url)) as addr:
        assert post(addr, "/github", NOTE) == (200, {"forwarded": "github", "upstream": 204, "alerts": 2})
        assert post(addr, "/circleci", NOTE) == (200, {"forwarded": "circleci", "upstream": 204, "alerts": 2})
    gh, cc = upstream.requests
    assert (gh.method, gh.path) == ("POST", "/repos/acme/q/dispatches")
    assert gh.headers["authorization"] == f"Bearer {GITHUB_TOKEN}"  # from its file, the newline stripped
    assert gh.headers["accept"] == "application/vnd.github+json" and gh.headers["x-github-api-version"]
    assert json.loads(gh.body) == {"event_type": "mlready-retrain", "client_payload": {
        "reason": "alert", "alerts": ["QFeatureDrift", "QPredictionShift"], "group": NOTE["groupKey"]}}
    assert (cc.method, cc.path) == ("POST", "/api/v2/project/gh/acme/q/pipeline")
    assert cc.headers["circle-token"] == CIRCLE_TOKEN and "authorization" not in cc.headers
    assert json.loads(cc.body) == {"branch": "main", "parameters": {"mlready-retrain": True,
                                                                    "mlready-retrain-reason": "alert"}}
    assert caplog.records and not any(t in r.getMessage() for r in caplog.records
                                      for t in (TOKEN, GITHUB_TOKEN, CIRCLE_TOKEN))


def test_circleci_with_a_pipeline_definition_uses_the_run_endpoints_body(tmp_path: Path, upstream: Recorder) -> None:
    raw = _config(tmp_path, upstream.url)
    uuid = "0b4e5f9c-1d2e-4f3a-8b7c-6d5e4f3a2b1c"
    raw["targets"]["circleci"].update(url=f"{upstream.url}/api/v2/project/circleci/org/proj/pipeline/run",
                                      definition_id=uuid)
    with relay(raw) as addr:
        assert post(addr, "/circleci", NOTE)[0] == 200
    (req,) = upstream.requests
    assert req.path == "/api/v2/project/circleci/org/proj/pipeline/run"
    assert json.loads(req.body) == {"definition_id": uuid, "config": {"branch": "main"},
                                    "checkout": {"branch": "main"},
                                    "parameters": {"mlready-retrain": True, "mlready-retrain-reason": "alert"}}


def test_a_rotated_token_file_is_read_again(tmp_path: Path, upstream: Recorder) -> None:
    with relay(_config(tmp_path, upstream.url)) as addr:
        (tmp_path / "github").write_text("rotated-token")
        (tmp_path / "relay").write_text("new-relay-token")
        assert post(addr, "/github", NOTE)[0] == 401
        assert post(addr, "/github", NOTE, token="new-relay-token")[0] == 200
    assert upstream.requests[0].headers["authorization"] == "Bearer rotated-token"


@pytest.mark.parametrize(("path", "body", "token", "headers", "status", "error"), [
    ("/github", NOTE, None, {}, 401, "Authorization: a Bearer token"),
    ("/github", NOTE, "wrong", {}, 401, "Authorization: a Bearer token"),
    ("/gitlab", NOTE, TOKEN, {}, 404, "POST /gitlab: not found (targets: /circleci, /github)"),
    ("/github", NOTE, TOKEN, {"Content-Type": "text/plain"}, 415, "Content-Type: expected application/json"),
    ("/github", b"x" * 300_000, TOKEN, {}, 413, "the body is 300000 bytes; at most 262144"),
    ("/github", b"{not json", TOKEN, {}, 400, "the body is not JSON"),
    ("/github", [1], TOKEN, {}, 400, "a JSON object"),
    ("/github", {"status": "firing"}, TOKEN, {}, 400, "alerts: expected a non-empty list"),
    ("/github", {"status": "firing", "alerts": [{"labels": "x"}]}, TOKEN, {}, 400, "alerts[0].labels"),
    ("/github", {"alerts": NOTE["alerts"]}, TOKEN, {}, 400, "status: expected 'firing' or 'resolved'"),
])
def test_bad_requests_are_refused_naming_the_field_and_nothing_is_sent(
        tmp_path: Path, upstream: Recorder, path: str, body: object, token: str | None, headers: dict, status: int,
        error: str) -> None:
    with relay(_config(tmp_path, upstream.url)) as addr:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        got = post(addr, path, data, token=token, headers=headers)
    assert got[0] == status and error in got[1]["error"], got
    assert upstream.requests == []


def test_a_resolved_notification_is_ignored(tmp_path: Path, upstream: Recorder) -> None:
    with relay(_config(tmp_path, upstream.url)) as addr:
        assert post(addr, "/github", {**NOTE, "status": "resolved"}) == (200, {"ignored": "resolved"})
    assert upstream.requests == []


def test_a_body_without_length_or_a_slow_client_does_not_hold_the_relay(tmp_path: Path, upstream: Recorder) -> None:
    with relay(_config(tmp_path, upstream.url)) as addr:
        with socket.create_connection(addr, timeout=10) as s:  # chunked: refused before any body is read
            s.sendall(b"POST /github HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
                      + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 411")
        slow = socket.create_connection(addr, timeout=10)  # promises a body and never sends it
        slow.sendall(b"POST /github HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + TOKEN.encode()
                     + b"\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
        assert post(addr, "/github", NOTE)[0] == 200  # others are served meanwhile
        start = time.monotonic()
        answer = slow.recv(200)
        slow.close()
        assert time.monotonic() - start < 5  # the 2 s socket timeout
        assert answer.startswith(b"HTTP/1.1 408") or answer == b""


def test_connections_beyond_max_concurrent_get_a_503_without_a_thread(tmp_path: Path, upstream: Recorder) -> None:
    with relay(_config(tmp_path, upstream.url, max_concurrent=1)) as addr:
        holder = socket.create_connection(addr, timeout=10)  # holds the one slot: headers never finished
        holder.sendall(b"POST /github HTTP/1.1\r\n")
        time.sleep(0.3)
        with socket.create_connection(addr, timeout=10) as other:
            other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert other.recv(100).startswith(b"HTTP/1.1 503")
        holder.recv(100)  # the holder times out (2 s) and its slot comes back
        holder.close()
        time.sleep(0.2)
        assert post(addr, "/github", NOTE)[0] == 200


@pytest.mark.parametrize(("status", "location", "error"), [
    (500, "", "github answered 500"),
    (401, "", "github answered 401"),
    (302, "http://127.0.0.1:9/elsewhere", "github answered 302"),  # never followed: the token would go along
])
def test_a_ci_system_that_refuses_is_a_502_alertmanager_retries(tmp_path: Path, status: int, location: str,
                                                                 error: str) -> None:
    with recording(status=status, location=location) as bad, relay(_config(tmp_path, bad.url)) as addr:
        assert post(addr, "/github", NOTE) == (502, {"error": error})
        assert len(bad.requests) == 1


def test_a_ci_system_that_does_not_answer_is_a_502(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, never listening: refused
        with relay(_config(tmp_path, dead)) as addr:
            assert post(addr, "/circleci", NOTE) == (502, {"error": "circleci did not answer (ConnectionRefusedError)"})


def test_config_errors_name_the_key_and_missing_token_files_stop_the_start(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = _config(tmp_path, "http://127.0.0.1:1")
    for raw, message in [
        ({**good, "listen": "nowhere"}, "listen: expected host:port"),
        ({**good, "extra": 1}, "extra: unknown key"),
        ({**good, "targets": {}}, "targets: empty"),
        ({**good, "targets": {"jira": {}}}, "targets.jira: unknown target"),
        ({**good, "targets": {"github": {"url": "ftp://x", "token_file": "/t", "event": "e"}}},
         "targets.github.url: expected an http(s) URL"),
        ({**good, "targets": {"circleci": {"url": "https://x", "token_file": "/t"}}}, "targets.circleci.branch: missing"),
        ({**good, "max_body": 10}, "max_body: expected 1024..16777216, got 10"),
        ({**good, "timeout": True}, "timeout: expected"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            RelayConfig.from_dict(raw)
    (tmp_path / "github").unlink()
    (tmp_path / "relay.json").write_text(json.dumps(good))
    assert main(["--config", str(tmp_path / "relay.json")]) == 2
    assert f"the token file {tmp_path / 'github'} cannot be read" in capsys.readouterr().err


def test_the_relay_runs_from_plain_runtime_source_with_the_standard_library_alone(tmp_path: Path) -> None:
    """As in the image (/opt/mlready/lib/mlready/runtime on PYTHONPATH), and with no site-packages at all: the
    relay needs nothing the model's image might lack."""
    import shutil
    import sys

    from tests.monitoring.test_end_to_end import free_port, running

    root = Path(__file__).resolve().parents[2]
    lib = tmp_path / "lib"
    shutil.copytree(root / "runtime", lib / "mlready" / "runtime", ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    (tmp_path / "relay.json").write_text(json.dumps({**_config(tmp_path, "http://127.0.0.1:1"),
                                                     "listen": f"127.0.0.1:{port}"}))
    prelude = (f"import sys; sys.path[:] = [{str(lib)!r}] + [p for p in sys.path if 'packages' not in p]; "
               f"import mlready.runtime; assert mlready.runtime.__file__.startswith({str(lib)!r}); "
               "import runpy; sys.argv[1:] = ['--config', sys.argv.pop()]; "
               "runpy.run_module('mlready.runtime.relay', run_name='__main__')")
    argv = [sys.executable, "-S", "-c", prelude, str(tmp_path / "relay.json")]
    with running(argv, tmp_path / "relay.log", f"http://127.0.0.1:{port}/healthz", 30):
        assert post(("127.0.0.1", port), "/github", NOTE, token="wrong")[0] == 401
    assert "Traceback" not in (tmp_path / "relay.log").read_text()
