"""The attack harness itself: a prober around no attack sees a healthy server, and sees a stopped one fail."""

from __future__ import annotations

import signal
import time

import pytest

from tests.support.prober import Prober, assert_serves

pytestmark = pytest.mark.server


def test_prober_measures_an_idle_server(target, honest):
    with Prober(target, honest) as probe:
        time.sleep(1)
    report = probe.report
    assert report.health.count >= 10 and report.grpc.count >= 10
    report.check(p99_ms=500, rss_mb=2000)
    assert 20 < report.rss_before_mb <= report.rss_peak_mb
    assert_serves(target, honest)


def test_prober_counts_failures(target, honest):
    with Prober(target, honest, timeout=0.5) as probe:
        target.proc.send_signal(signal.SIGSTOP)  # a frozen server: every probe times out
        time.sleep(1.2)
        target.proc.send_signal(signal.SIGCONT)
    report = probe.report
    assert report.health.failures >= 1 and report.grpc.failures >= 1
    assert any("health" in p for p in report.problems())
