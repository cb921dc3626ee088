"""The alerting half of the live end-to-end tests (drift, accuracy), on 127.0.0.1: a webhook receiver, a real
Alertmanager (Debian ``prometheus-alertmanager``, its config checked by ``amtool``) routing every alert to it,
and a real Prometheus scraping one server with the build's rule file and sending its alerts there."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.monitoring.test_end_to_end import free_port, running
from tests.support.recorder import Recorder, recording


class Webhook(Recorder):
    """An Alertmanager webhook receiver: every notification POSTed, with its arrival time."""

    def __init__(self) -> None:
        super().__init__()
        self.url += "/"

    @property
    def received(self) -> list[tuple[float, dict]]:
        """(arrival time, notification) of every POST so far."""
        return [(r.at, r.json()) for r in list(self.requests)]

    def firing(self, name: str) -> list[tuple[float, dict]]:
        """(arrival time, alert) of every firing ``name`` alert received."""
        return [(t, a) for t, payload in self.received for a in payload.get("alerts", [])
                if a["labels"].get("alertname") == name and a["status"] == "firing"]


def webhook() -> contextlib.AbstractContextManager[Webhook]:
    return recording(kind=Webhook)


@contextlib.contextmanager
def alertmanager(work: Path, hook_url: str, group_by: list[str], send_resolved: bool = True) -> Iterator[str]:
    """An Alertmanager sending every alert to ``hook_url`` (one notification per ``group_by`` group, at once);
    yields its ``host:port``. Files and log in ``work``."""
    if shutil.which("prometheus-alertmanager") is None:
        pytest.fail("prometheus-alertmanager is not installed (tools/install-system-deps.sh installs it)")
    config = {"route": {"receiver": "webhook", "group_by": group_by, "group_wait": "1s", "group_interval": "1s",
                        "repeat_interval": "1h"},
              "receivers": [{"name": "webhook", "webhook_configs": [{"url": hook_url, "send_resolved": send_resolved}]}]}
    (work / "alertmanager.yml").write_text(yaml.safe_dump(config))
    check = subprocess.run(["amtool", "check-config", str(work / "alertmanager.yml")], capture_output=True,
                           text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    port = free_port()
    argv = ["prometheus-alertmanager", f"--config.file={work / 'alertmanager.yml'}",
            f"--storage.path={work / 'alertmanager-data'}", f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address="]  # no gossip port: loopback only
    with running(argv, work / "alertmanager.log", f"http://127.0.0.1:{port}/-/ready", 60):
        yield f"127.0.0.1:{port}"


@contextlib.contextmanager
def prometheus(work: Path, rules: Path, target: str, alertmanager: str, *args: str) -> Iterator[str]:
    """A Prometheus scraping ``target`` (``host:port``) every second with the rule file ``rules``, alerting
    to ``alertmanager``; yields its URL. Files and log (``prometheus.log``) in ``work``."""
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
              "rule_files": [str(rules)],
              "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
              "scrape_configs": [{"job_name": "mlready", "static_configs": [{"targets": [target]}]}]}
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    argv = ["prometheus", f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{port}", *args]
    with running(argv, work / "prometheus.log", f"http://127.0.0.1:{port}/-/ready", 60):
        yield f"http://127.0.0.1:{port}"
