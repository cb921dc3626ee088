"""The retrain relay: Alertmanager's webhook in, the CI system's own "start a pipeline" request out.

Alertmanager (0.25) can only POST its own JSON to a URL with a credential it reads from a file. GitHub's
``repository_dispatch`` and CircleCI's v2 pipeline API want a JSON body of their own (the event type, the
pipeline parameters), so the build's ``+pipeline=retrain`` writes ``retrain/relay.json`` and a compose snippet
running this module in the model's own image::

    python -m mlready.runtime.relay --config /etc/mlready-relay/relay.json [--listen 0.0.0.0:9095]

``POST /github`` and ``POST /circleci`` (only the targets the config names) take an Alertmanager notification
(``Authorization: Bearer`` the token in ``token_file``), and send, for a firing notification:

- GitHub: ``POST <api>/repos/<owner>/<name>/dispatches`` ``{"event_type": <event>, "client_payload": {"reason":
  "alert", "alerts": [alert names], "group": <groupKey>}}`` with ``Authorization: Bearer <github token>``;
- CircleCI: ``POST <api>/api/v2/project/<slug>/pipeline`` ``{"branch": <branch>, "parameters": {<parameter>:
  true, <parameter>-reason: "alert"}}`` with ``Circle-Token: <circleci token>``; with a ``definition_id``
  (GitHub App projects, where only the newer endpoint exists) ``POST .../pipeline/run`` ``{"definition_id": ...,
  "config": {"branch": ...}, "checkout": {"branch": ...}, "parameters": {...}}``.

Hardened: tokens only from files (read per request, so a rotated secret is picked up; never logged), the
caller's token compared in constant time before the body is read, bodies bounded (``max_body``, Content-Length
required), socket and upstream timeouts, at most ``max_concurrent`` connections at once (503 beyond), upstream
redirects never followed (the token would go with them), upstream URLs fixed by the config (nothing in a
request chooses where the relay sends). Answers: 200 forwarded or ignored (a resolved notification), 4xx for
the caller's mistakes naming the field, 502 when the CI system refused or did not answer (Alertmanager retries).
Standard library only (the runtime's import rules).
"""

from __future__ import annotations

import argparse
import contextlib
import hmac
import json
import logging
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger("mlready.relay")

USER_AGENT = "mlready-relay"
#: how many alert names a dispatch carries (GitHub's client_payload stays small)
MAX_ALERT_NAMES = 20


class RelayError(Exception):
    """A request the relay answers with ``status`` and ``message`` (never with a traceback)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Target:
    name: str  # github | circleci
    url: str  # where the request goes (fixed by the config)
    token_file: Path
    event: str = ""  # github: repository_dispatch event type
    branch: str = ""  # circleci: the pipeline's branch
    parameter: str = ""  # circleci: the boolean pipeline parameter that selects the retrain workflow
    definition_id: str = ""  # circleci: the pipeline definition (the /pipeline/run endpoint); "": the older endpoint

    def request(self, notification: dict[str, Any], token: str) -> tuple[dict[str, str], dict[str, Any]]:
        """(headers, JSON body) of the CI system's request for an Alertmanager notification."""
        if self.name == "github":
            names = sorted({str(a["labels"].get("alertname", "")) for a in notification["alerts"]} - {""})
            payload = {"reason": "alert", "alerts": names[:MAX_ALERT_NAMES],
                       "group": str(notification.get("groupKey", ""))[:200]}
            return ({"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28"},
                    {"event_type": self.event, "client_payload": payload})
        parameters = {self.parameter: True, f"{self.parameter}-reason": "alert"}
        if self.definition_id:  # POST .../pipeline/run (GitHub App and the newer integrations)
            return ({"Circle-Token": token}, {"definition_id": self.definition_id, "config": {"branch": self.branch},
                                              "checkout": {"branch": self.branch}, "parameters": parameters})
        return ({"Circle-Token": token}, {"branch": self.branch, "parameters": parameters})


@dataclass(frozen=True)
class RelayConfig:
    listen: tuple[str, int]
    token_file: Path
    targets: dict[str, Target]
    max_body: int = 256 * 1024
    timeout: float = 10.0
    max_concurrent: int = 8

    @classmethod
    def from_dict(cls, raw: Any, where: str = "relay config") -> RelayConfig:
        def need(d: Any, key: str, kind: type | tuple[type, ...], at: str) -> Any:
            if not isinstance(d, dict) or key not in d:
                raise ValueError(f"{where}: {at}{key}: missing")
            if not isinstance(d[key], kind) or isinstance(d[key], bool):
                raise ValueError(f"{where}: {at}{key}: expected {getattr(kind, '__name__', 'a number')}, "
                                 f"got {d[key]!r}")
            return d[key]

        known = {"listen", "token_file", "targets", "max_body", "timeout", "max_concurrent"}
        unknown = sorted(set(raw) - known) if isinstance(raw, dict) else []
        if unknown:
            raise ValueError(f"{where}: {unknown[0]}: unknown key (known: {', '.join(sorted(known))})")
        host, sep, port = need(raw, "listen", str, "").rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError(f"{where}: listen: expected host:port, got {raw['listen']!r}")
        targets = {}
        for name, t in need(raw, "targets", dict, "").items():
            at = f"targets.{name}."
            if name not in ("github", "circleci"):
                raise ValueError(f"{where}: targets.{name}: unknown target (github, circleci)")
            url = need(t, "url", str, at)
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"{where}: {at}url: expected an http(s) URL, got {url!r}")
            fields = ("event",) if name == "github" else ("branch", "parameter")
            extra = {"definition_id": need(t, "definition_id", str, at)} if "definition_id" in t else {}
            targets[name] = Target(name, url, Path(need(t, "token_file", str, at)),
                                   **{f: need(t, f, str, at) for f in fields}, **extra)
        if not targets:
            raise ValueError(f"{where}: targets: empty (github and/or circleci)")
        out = cls((host.strip("[]") or "0.0.0.0", int(port)), Path(need(raw, "token_file", str, "")), targets)
        for key, lo, hi in (("max_body", 1024, 16 << 20), ("timeout", 0.1, 300), ("max_concurrent", 1, 256)):
            if key in raw:
                value = need(raw, key, (int, float) if key == "timeout" else int, "")
                if not lo <= value <= hi:
                    raise ValueError(f"{where}: {key}: expected {lo}..{hi}, got {value!r}")
                object.__setattr__(out, key, value)
        return out

    @classmethod
    def load(cls, path: Path) -> RelayConfig:
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        return cls.from_dict(raw, str(path))


def read_token(path: Path) -> str:
    """A secret file's content, stripped; RelayError 503 when unreadable or empty (the message names the file,
    never its content)."""
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise RelayError(503, f"the token file {path} cannot be read ({exc.strerror})") from None
    if not token or any(c in token for c in "\r\n"):
        raise RelayError(503, f"the token file {path} is empty or holds more than one line")
    return token


def parse_notification(body: bytes) -> dict[str, Any]:
    """An Alertmanager webhook notification (version 4), checked as far as the relay reads it."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise RelayError(400, f"the body is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise RelayError(400, "the body must be an Alertmanager notification (a JSON object)")
    if not isinstance(doc.get("status"), str):
        raise RelayError(400, "status: expected 'firing' or 'resolved'")
    alerts = doc.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise RelayError(400, "alerts: expected a non-empty list")
    for i, a in enumerate(alerts):
        if not isinstance(a, dict) or not isinstance(a.get("labels"), dict):
            raise RelayError(400, f"alerts[{i}].labels: expected an object")
    return doc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # the token must not follow a redirect
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def forward(target: Target, notification: dict[str, Any], timeout: float) -> int:
    """Send the CI system's request; its HTTP status, or RelayError 502."""
    headers, body = target.request(notification, read_token(target.token_file))
    req = urllib.request.Request(target.url, data=json.dumps(body).encode(), method="POST",
                                 headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT})
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        raise RelayError(502, f"{target.name} answered {exc.code}") from None
    except (OSError, ValueError) as exc:  # refused, timed out, TLS
        cause = getattr(exc, "reason", exc)  # URLError wraps the socket's error
        raise RelayError(502, f"{target.name} did not answer ({type(cause).__name__})") from None


class RelayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        read_token(config.token_file)  # fail at start, not at the first alert
        for t in config.targets.values():
            read_token(t.token_file)
        self.slots = threading.BoundedSemaphore(config.max_concurrent)
        super().__init__(config.listen, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """At most ``max_concurrent`` connections have a thread; beyond, a 503 and the socket closed at once."""
        if not self.slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()


class _Handler(BaseHTTPRequestHandler):
    server: RelayServer
    server_version = "mlready-relay"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.config.timeout)  # slow clients cannot hold a thread

    def log_message(self, fmt: str, *args: Any) -> None:  # the access log below says what matters
        pass

    def _answer(self, status: int, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="mlready-relay"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
        log.info(json.dumps({"path": self.path[:100], "status": status, **{k: v for k, v in doc.items()
                                                                         if k != "error"}}))

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/healthz":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404 if self.path.lstrip("/") not in self.server.config.targets else 405,
                         {"error": f"GET {self.path[:100]}: not found" if self.path.lstrip("/")
                          not in self.server.config.targets else "POST an Alertmanager notification"})

    def do_POST(self) -> None:  # noqa: N802
        try:
            self._answer(200, self._relay())
        except RelayError as exc:
            self._answer(exc.status, {"error": str(exc)})

    def _relay(self) -> dict[str, Any]:
        cfg = self.server.config
        target = cfg.targets.get(self.path.lstrip("/"))
        if target is None:
            raise RelayError(404, f"POST {self.path[:100]}: not found (targets: "
                                  f"{', '.join('/' + t for t in sorted(cfg.targets))})")
        auth = self.headers.get("Authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 read_token(cfg.token_file).encode()):
            raise RelayError(401, "Authorization: a Bearer token the relay knows is required")
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise RelayError(411, "Content-Length: required (chunked bodies are not accepted)")
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            raise RelayError(411, "Content-Length: required")
        if int(length) > cfg.max_body:
            raise RelayError(413, f"the body is {int(length)} bytes; at most {cfg.max_body}")
        if self.headers.get_content_type() != "application/json":
            raise RelayError(415, f"Content-Type: expected application/json, got {self.headers.get_content_type()}")
        try:
            body = self.rfile.read(int(length))
        except TimeoutError:
            raise RelayError(408, "the body did not arrive in time") from None
        if len(body) != int(length):
            raise RelayError(400, "the body is shorter than its Content-Length")
        notification = parse_notification(body)
        if notification["status"] != "firing":
            return {"ignored": notification["status"]}
        return {"forwarded": target.name, "upstream": forward(target, notification, cfg.timeout),
                "alerts": len(notification["alerts"])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlready.runtime.relay", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="relay.json (the build's retrain/relay.json)")
    parser.add_argument("--listen", help="host:port, overriding the config's")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        config = RelayConfig.load(args.config)
        if args.listen:
            raw = json.loads(args.config.read_text())
            config = RelayConfig.from_dict({**raw, "listen": args.listen}, "--listen")
        server = RelayServer(config)
    except (ValueError, RelayError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info(json.dumps({"listening": f"{config.listen[0]}:{server.server_address[1]}",
                         "targets": sorted(config.targets)}))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
