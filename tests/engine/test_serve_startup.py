"""``mlready serve`` as a developer expects (issue 17): the ports are bound before the banner, a taken port
names the flag that picks another, ``--http-port 0`` reports the port bound, ``--grpc-port off`` serves REST
only, ``--watch`` picks up a rebuild, and logs are human-readable on a terminal and JSON otherwise."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlready.engine import api

pytestmark = pytest.mark.server
BANNER = re.compile(r"^serving .* on http://127\.0\.0\.1:(\d+)(?: and grpc 127\.0\.0\.1:(\d+)| \(gRPC off\))")


def _cmd(project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mlready.engine", "serve", "-C", str(project), *args]


_PENDING: dict[int, bytes] = {}  # what was read from an fd past the last line returned


def _lines(proc: subprocess.Popen, fd: int, until: re.Pattern[str], timeout: float = 60) -> list[str]:
    """Lines read from ``fd`` until one matches ``until`` (or the process ends, or the time is up)."""
    out, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        buf = _PENDING.pop(fd, b"")
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.append(line.decode(errors="replace").rstrip("\r"))
            if until.search(out[-1]):
                _PENDING[fd] = buf
                return out
        _PENDING[fd] = buf
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # a pty whose other side closed
                chunk = b""
            if not chunk and proc.poll() is not None:
                break
            _PENDING[fd] = _PENDING.get(fd, b"") + chunk
        elif proc.poll() is not None:
            break
    return out


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _get(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:  # noqa: S310 - loopback
        return json.loads(resp.read())


def _listener(reuse_port: bool = False) -> socket.socket:
    sock = socket.socket()
    if reuse_port:  # what another mlready server (granian) holds: a plain bind check would share the port
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


@pytest.fixture(autouse=True)
def _fresh_reads():
    yield
    _PENDING.clear()


@pytest.fixture
def built(demo):
    api.build(demo, run_hooks=False)
    return demo


def test_a_taken_http_port_is_an_error_naming_the_flag_and_no_banner(built):
    with _listener(reuse_port=True) as busy:
        port = busy.getsockname()[1]
        done = subprocess.run(_cmd(built, "--http-port", str(port), "--grpc-port", "off"), capture_output=True,
                              text=True, timeout=60)
    assert done.returncode == 1
    assert "pick another port with --http-port N (0 = any free port)" in done.stderr
    assert f"127.0.0.1:{port}" in done.stderr
    assert "serving " not in done.stderr


def test_http_port_0_reports_the_port_bound_and_it_answers(built):
    proc = subprocess.Popen(_cmd(built, "--http-port", "0", "--grpc-port", "0"), stderr=subprocess.PIPE)
    try:
        lines = _lines(proc, proc.stderr.fileno(), BANNER)
        match = BANNER.match(lines[-1]) if lines else None
        assert match, lines
        http_port, grpc_port = int(match.group(1)), int(match.group(2))
        assert http_port and grpc_port and http_port != 8080
        deadline = time.monotonic() + 60
        while True:  # the banner comes once bound; readiness once the model is loaded
            try:
                _get(http_port, "/v2/health/ready")
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert _get(http_port, "/v2/models/demo")["name"] == "demo"
    finally:
        _stop(proc)


def test_a_taken_grpc_port_does_not_stop_a_rest_only_server(built):
    with _listener() as busy:
        grpc = busy.getsockname()[1]
        done = subprocess.run(_cmd(built, "--http-port", "0", "--grpc-port", str(grpc)), capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 1
        assert "or serve REST only with --grpc-port off" in done.stderr
        proc = subprocess.Popen(_cmd(built, "--http-port", "0", "--grpc-port", "off"), stderr=subprocess.PIPE)
        try:
            lines = _lines(proc, proc.stderr.fileno(), BANNER)
            assert lines and lines[-1].endswith("(gRPC off) (Ctrl-C to stop)"), lines
            port = int(BANNER.match(lines[-1]).group(1))
            assert _get(port, "/v2/health/live") is not None
        finally:
            _stop(proc)


def test_watch_serves_a_rebuild(built):
    proc = subprocess.Popen(_cmd(built, "--http-port", "0", "--grpc-port", "off", "--watch"), stderr=subprocess.PIPE)
    try:
        lines = _lines(proc, proc.stderr.fileno(), BANNER)
        assert lines and BANNER.match(lines[-1]), lines
        assert "watching it: a rebuild is served as soon as it is written" in _lines(
            proc, proc.stderr.fileno(), re.compile("watching"))[-1]
        port = int(BANNER.match(lines[-1]).group(1))
        deadline = time.monotonic() + 60
        while _get_or_none(port, "/v2/models/demo") is None:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert _get(port, "/v2/models/demo")["versions"] == ["1"]
        api.build(built, ["model.version=2"], run_hooks=False)
        after = _lines(proc, proc.stderr.fileno(), BANNER)
        assert any("changed: serving the new build" in line for line in after), after
        assert int(BANNER.match(after[-1]).group(1)) == port  # --http-port 0: the port bound first is kept
        deadline = time.monotonic() + 60
        while (_get_or_none(port, "/v2/models/demo") or {}).get("versions") != ["2"]:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        _stop(proc)


def _get_or_none(port: int, path: str) -> dict | None:
    try:
        return _get(port, path)
    except OSError:
        return None


def test_logs_are_human_on_a_terminal_and_json_otherwise(built):
    import pty

    ready = re.compile(r"\bready\b")
    main, secondary = pty.openpty()
    proc = subprocess.Popen(_cmd(built, "--http-port", "0", "--grpc-port", "off"), stderr=secondary,
                            stdout=subprocess.DEVNULL)
    os.close(secondary)
    try:
        lines = _lines(proc, main, ready)
    finally:
        _stop(proc)
        os.close(main)
    assert lines and re.match(r"^\d\d:\d\d:\d\d info +ready  http_port=\d+ grpc_port=None models=\['demo'\]$",
                              lines[-1]), lines
    proc = subprocess.Popen(_cmd(built, "--http-port", "0", "--grpc-port", "off"), stderr=subprocess.PIPE)
    try:
        lines = _lines(proc, proc.stderr.fileno(), ready)
    finally:
        _stop(proc)
    record = json.loads(lines[-1])
    assert record["msg"] == "ready" and record["models"] == ["demo"]


def test_the_banner_says_where_captured_predictions_go(tmp_path, capsys):
    """Capture on under a local `mlready serve` writes files on this machine: the banner names the folder."""
    from mlready.engine.actions.serve import _banner
    from mlready.runtime.config import RuntimeConfig

    config = RuntimeConfig.from_dict({"model_repository": str(tmp_path), "capture": {
        "enabled": True, "sample_rate": 0.5, "directory": str(tmp_path / "capture")}})
    _banner(config, tmp_path / "build", watch=False)(8080, 8081)
    err = capsys.readouterr().err
    assert f"capturing predictions (sample rate 0.5) to JSONL files in {tmp_path / 'capture'}" in err
    _banner(RuntimeConfig.from_dict({"model_repository": str(tmp_path)}), None, watch=False)(8080, None)
    assert "capturing" not in capsys.readouterr().err
