"""The Prometheus alert rules: ``promtool check rules``, and ``promtool test rules`` unit tests that drive every
alert with synthetic series (named from the runtime's metrics module) and check it fires, and only then."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from mlready.runtime import metrics as m

MODEL = "quickstart"
REQ = f'{m.REQUESTS_TOTAL}{{model="{MODEL}",version="1",protocol="v2-rest",status="%s"}}'
STATE = f'{m.MODEL_VERSION_STATE}{{model="{MODEL}",version="1",state="%s",instance="a:8080",job="mlready"}}'
BUCKET = f'{m.REQUEST_DURATION}_bucket{{model="{MODEL}",version="1",protocol="v2-rest",le="%s"}}'
NAMES = ["MlreadyHighErrorRatio", "MlreadyLatencyP99AboveSLO", "MlreadyModelNotReady", "MlreadyNoTraffic",
         "MlreadyVersionLoadFailed"]


def healthy(ok_per_min: int = 600, available: int = 1, failed: int = 0, slow: bool = False) -> list[dict]:
    """A server answering ``ok_per_min`` requests a minute; with ``slow`` most of them take ~0.5s."""
    fast_le = "0.5" if slow else "0.01"
    series = [{"series": REQ % "200", "values": f"0+{ok_per_min}x40"}]
    for le in ("0.01", "0.1", "0.5", "+Inf"):
        count = ok_per_min if float(le) >= float(fast_le) else 0
        series.append({"series": BUCKET % le, "values": f"0+{count}x40"})
    for state in m.STATES:
        value = available if state == "AVAILABLE" else failed if state == "FAILED" else 0
        series.append({"series": STATE % state, "values": f"{value}x40"})
    return series


def case(name: str, series: list[dict], fires: str | None = None, labels: dict | None = None,
         annotations: dict | None = None) -> dict:
    tests = []
    for alert in NAMES:
        exp = []
        if alert == fires:
            exp = [{"exp_labels": {"model": MODEL, **(labels or {})}, "exp_annotations": annotations}]
        tests.append({"eval_time": "30m", "alertname": alert, "exp_alerts": exp})
    return {"name": name, "interval": "1m", "input_series": series, "alert_rule_test": tests}


@pytest.fixture(scope="module")
def rules_file(built: Path) -> Path:
    return built / "monitoring/prometheus/rules.yml"


@pytest.mark.tools
def test_promtool_check_rules(rules_file: Path) -> None:
    proc = subprocess.run(["promtool", "check", "rules", str(rules_file)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS: 5 rules found" in proc.stdout


def test_rules_carry_the_slo_from_the_spec(rules_file: Path) -> None:
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    rules = {r["alert"]: r for r in groups[0]["rules"]}
    assert list(rules) == NAMES
    assert rules["MlreadyHighErrorRatio"]["expr"].endswith("> 0.02")
    assert rules["MlreadyLatencyP99AboveSLO"]["expr"].endswith("> 0.25")
    assert rules["MlreadyHighErrorRatio"]["labels"] == {"severity": "critical", "model": MODEL}
    assert all(m.REQUESTS_TOTAL in rules[a]["expr"] for a in ("MlreadyHighErrorRatio", "MlreadyNoTraffic"))


@pytest.mark.tools
def test_promtool_unit_tests_fire_each_alert_and_only_it(rules_file: Path, tmp_path: Path) -> None:
    errors = healthy() + [{"series": REQ % "503", "values": "0+60x40"}]  # ~9% of requests fail
    not_ready = healthy(available=0)
    failed = healthy(failed=1)
    idle = healthy(ok_per_min=0)
    tests = {
        "rule_files": [str(rules_file)],
        "evaluation_interval": "1m",
        "tests": [
            case("healthy", healthy()),
            case("errors", errors, "MlreadyHighErrorRatio", {"severity": "critical"}, {
                "summary": "quickstart: more than 2.00% of requests fail",
                "description": "9.091% of quickstart's requests answered 5xx over 5m (SLO 2.00%)."}),
            case("slow", healthy(slow=True), "MlreadyLatencyP99AboveSLO", {"severity": "warning"}, {
                "summary": "quickstart: p99 latency above 0.25s",
                "description": "p99 request latency of quickstart is 496ms over 5m (SLO 0.25s)."}),
            case("not ready", not_ready, "MlreadyModelNotReady", {"severity": "critical", "instance": "a:8080"}, {
                "summary": "quickstart: no version is AVAILABLE",
                "description": "a:8080 serves no version of quickstart in state AVAILABLE."}),
            case("idle", idle, "MlreadyNoTraffic", {"severity": "warning"}, {
                "summary": "quickstart: no requests",
                "description": "quickstart answered no request in the last 10m."}),
            case("load failed", failed, "MlreadyVersionLoadFailed",
                 {"severity": "critical", "version": "1", "instance": "a:8080"}, {
                     "summary": "quickstart: version 1 failed to load",
                     "description": "Version 1 of quickstart is in state FAILED on a:8080."}),
        ],
    }
    test_file = tmp_path / "rules_test.yml"
    test_file.write_text(yaml.safe_dump(tests, sort_keys=False))
    proc = subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SUCCESS" in proc.stdout
