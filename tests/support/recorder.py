"""A loopback HTTP server that records every POST and answers with a chosen status: the stand-in for what the
server or the generated configs call (a capture collector, an Alertmanager webhook receiver, a CI system's
trigger API).

    with recording(status=204) as rec:
        ...  # point the system under test at rec.url
        (req,) = rec.wait(1, seconds=10)
        assert req.path == "/v2/project/..." and req.json() == {...}
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str  # with the query
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float = field(default=0.0, compare=False)  # time.monotonic() on arrival

    def json(self) -> Any:
        return json.loads(self.body)


class Recorder:
    """Records each POST (``requests``, in arrival order) and answers ``status``, with ``location`` as a
    Location header when given, after ``delay`` seconds."""

    def __init__(self, status: int = 200, location: str = "", delay: float = 0.0) -> None:
        self.requests: list[Recorded] = []
        self.status, self.location, self.delay = status, location, delay
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                rec.requests.append(Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                             body, time.monotonic()))
                time.sleep(rec.delay)
                self.send_response(rec.status)
                if rec.location:
                    self.send_header("Location", rec.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def wait(self, count: int, seconds: float) -> list[Recorded]:
        """The requests so far, once there are ``count`` of them or ``seconds`` have passed."""
        deadline = time.monotonic() + seconds
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.requests)


@contextlib.contextmanager
def recording(status: int = 200, location: str = "", delay: float = 0.0, kind: Any = None) -> Iterator[Any]:
    """A :class:`Recorder` (or ``kind()``, a subclass taking no arguments) serving until the block ends."""
    rec = kind() if kind is not None else Recorder(status, location, delay)
    threading.Thread(target=rec.httpd.serve_forever, daemon=True).start()
    try:
        yield rec
    finally:
        rec.httpd.shutdown()
        rec.httpd.server_close()
