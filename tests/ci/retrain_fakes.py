"""Loopback stand-ins for the CI systems the retrain receivers call: a server that records every request
(method, path with query, headers, body) and answers with a chosen status."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeCI:
    """Records requests; answers ``status`` (and ``location`` for a redirect)."""

    def __init__(self, status: int = 201, location: str = "") -> None:
        self.requests: list[Recorded] = []
        self.status, self.location = status, location
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                fake.requests.append(Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                              body))
                self.send_response(fake.status)
                if fake.location:
                    self.send_header("Location", fake.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def wait(self, count: int, seconds: float) -> list[Recorded]:
        deadline = time.monotonic() + seconds
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.requests)


@contextlib.contextmanager
def fake_ci(status: int = 201, location: str = "") -> Iterator[FakeCI]:
    fake = FakeCI(status, location)
    threading.Thread(target=fake.httpd.serve_forever, daemon=True).start()
    try:
        yield fake
    finally:
        fake.httpd.shutdown()
        fake.httpd.server_close()
