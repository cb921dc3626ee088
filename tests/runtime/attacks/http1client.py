"""A raw HTTP/1.1 client for the REST attack tests: bytes on a socket, so a test can send what no well-behaved
client library would (partial heads, huge or countless headers, unfinished bodies, pipelined floods)."""

from __future__ import annotations

import socket
import threading
import time


def request(path: str = "/v2/health/ready", method: str = "GET", headers: bytes = b"", body: bytes = b"",
            length: int | None = None) -> bytes:
    """One request's bytes; ``length`` overrides Content-Length (to announce more body than is sent)."""
    if body or length is not None or method == "POST":
        headers += b"Content-Length: %d\r\n" % (len(body) if length is None else length)
    return b"%s %s HTTP/1.1\r\nHost: mlready\r\n%s\r\n%s" % (method.encode(), path.encode(), headers, body)


class Raw:
    """One connection. :meth:`status` reads the next answer's status code (None: closed without one)."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> bool:
        """False when the server closed the connection before taking it all."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(1 << 16)
        except (ConnectionResetError, TimeoutError):
            return False
        self.buf += chunk
        return bool(chunk)

    def response(self) -> tuple[int | None, bytes]:
        """The next answer: (status, body); (None, b"") when the connection closed first."""
        while b"\r\n\r\n" not in self.buf:
            if not self._fill():
                return None, b""
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self.buf) < length:
            if not self._fill():
                break
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, body

    def status(self) -> int | None:
        return self.response()[0]

    def closed_within(self, seconds: float) -> bool:
        """True when the server closes the connection within ``seconds`` (anything it sends first is read)."""
        self.sock.settimeout(0.2)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if not self.sock.recv(1 << 16):
                    return True
            except TimeoutError:
                continue
            except OSError:
                return True
        return False


def flood(port: int, payload: bytes, seconds: float) -> dict:
    """Send ``payload`` over and over on one connection for ``seconds`` while a thread reads every answer;
    returns what was sent and read. Reconnects when the server closes the connection."""
    stats = {"sent": 0, "read": 0, "connections": 0}
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        stats["connections"] += 1
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            time.sleep(0.05)
            continue
        done = threading.Event()
        sock.settimeout(0.5)  # the reader's recv and the sender's sendall (a full socket: reconnect)

        def reader(sock: socket.socket = sock, done: threading.Event = done) -> None:
            while not done.is_set():
                try:
                    chunk = sock.recv(1 << 16)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                stats["read"] += len(chunk)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        try:
            while time.monotonic() < stop:
                sock.sendall(payload)  # the timeout ends a send the server stopped reading
                stats["sent"] += len(payload)
        except OSError:
            pass
        done.set()
        sock.close()
        thread.join(2)
    return stats
