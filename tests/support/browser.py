"""A page rendered by headless Chromium (Debian's package, tools/install-system-deps.sh), driven over the
DevTools protocol with websocket-client: what the console and the network said, a few DOM facts, a screenshot.
Loopback only: the browser listens on 127.0.0.1 and the page is a local file."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Rendered:
    problems: list[str] = field(default_factory=list)  # console messages, exceptions, failed loads, requests
    values: dict[str, Any] = field(default_factory=dict)  # the results of the expressions asked for
    screenshot: bytes = b""  # PNG of the full page


class _Session:
    def __init__(self, url: str):
        self.ws = websocket.create_connection(url, timeout=20, suppress_origin=True)
        self.next_id, self.events = 0, []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout}s")
            self.events.append(json.loads(self.ws.recv()))


def _problems(events: list[dict[str, Any]], page: str) -> list[str]:
    out = []
    for e in events:
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled":
            out.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
        elif method == "Runtime.exceptionThrown":
            out.append(f"exception: {p['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            out.append(f"log {p['entry']['level']}: {p['entry']['text']}")
        elif method == "Network.loadingFailed":
            out.append(f"load failed: {p.get('errorText')}")
        elif method == "Network.requestWillBeSent" and p["request"]["url"] != page:
            out.append(f"request: {p['request']['url']}")  # a self-contained page fetches nothing
    return out


def render(path: Path, expressions: dict[str, str], width: int = 1200) -> Rendered:
    """Open ``path`` in headless Chromium, evaluate ``expressions`` (name -> JavaScript) once it has loaded."""
    assert CHROMIUM, "chromium is not installed (tools/install-system-deps.sh installs it)"
    # chromium's helper processes may still write to the profile for a moment after the browser exits
    with tempfile.TemporaryDirectory(prefix="mlready-chromium-", ignore_cleanup_errors=True) as profile:
        proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--mute-audio",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             f"--window-size={width},900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 30
            while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("chromium did not open its DevTools port")
                time.sleep(0.05)
            port = port_file.read_text().split("\n")[0]
            import urllib.request

            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                target = next(t for t in json.load(r) if t["type"] == "page")
            s = _Session(target["webSocketDebuggerUrl"])
            try:
                for domain in ("Page", "Runtime", "Log", "Network"):
                    s.call(f"{domain}.enable")
                url = path.resolve().as_uri()
                s.call("Page.navigate", url=url)
                s.wait_for("Page.loadEventFired")
                values = {
                    name: s.call("Runtime.evaluate", expression=js, returnByValue=True)["result"].get("value")
                    for name, js in expressions.items()
                }
                size = s.call("Page.getLayoutMetrics")["cssContentSize"]
                shot = s.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                              clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
                return Rendered(_problems(s.events, url), values, base64.b64decode(shot["data"]))
            finally:
                s.ws.close()
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    """End chromium and every helper process it started (its own session), so none outlives the test."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
