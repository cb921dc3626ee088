"""The compose bundle: valid against the compose spec, hardened services, monitoring wired to the build dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mlready.engine import api
from mlready.engine.errors import SpecError

MONITORING = ("+monitoring=grafana",)


def check_jsonschema(*paths: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "check-jsonschema"
    return subprocess.run([str(exe), "--builtin-schema", "vendor.compose-spec", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.tools
def test_compose_files_are_valid_against_the_compose_spec(builds, tmp_path):
    plain = builds.build() / "compose" / "compose.yaml"
    monitored = builds.build(*MONITORING) / "compose" / "compose.yaml"
    broken = tmp_path / "compose.yaml"
    doc = yaml.safe_load(plain.read_text())
    doc["services"]["model"]["restart_policy"] = "always"  # not a compose key
    broken.write_text(yaml.safe_dump(doc))
    ok = check_jsonschema(plain, monitored)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = check_jsonschema(broken)
    assert bad.returncode != 0 and "restart_policy" in bad.stdout + bad.stderr


def test_every_service_is_hardened(builds):
    doc = yaml.safe_load((builds.build(*MONITORING) / "compose" / "compose.yaml").read_text())
    assert set(doc["services"]) == {"model", "prometheus", "grafana"}
    for name, svc in doc["services"].items():
        uid = int(svc["user"].split(":")[0])
        assert uid != 0, name
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in svc["security_opt"], name
        assert svc["restart"] == "unless-stopped" and svc["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        assert set(svc["deploy"]["resources"]["limits"]) == {"cpus", "memory"}, name
    assert doc["services"]["model"]["user"] == "10001:10001"


def test_monitoring_mounts_the_generated_files(builds):
    out = builds.build(*MONITORING)
    compose = out / "compose"
    doc = yaml.safe_load((compose / "compose.yaml").read_text())
    for svc in ("prometheus", "grafana"):
        for volume in doc["services"][svc]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (compose / source).resolve().exists(), (svc, source)  # relative to the compose file
    prom = yaml.safe_load((compose / "prometheus.yml").read_text())
    assert prom["scrape_configs"][0]["static_configs"][0]["targets"] == ["model:9090"]
    assert doc["secrets"]["grafana_admin_password"] == {"file": "./secrets/grafana-admin-password"}
    assert not (compose / "secrets").exists()  # the operator provides the password; the build never does


def test_without_monitoring_only_the_model_server(builds):
    doc = yaml.safe_load((builds.build() / "compose" / "compose.yaml").read_text())
    assert set(doc["services"]) == {"model"} and "secrets" not in doc
    assert not (builds.build() / "compose" / "prometheus.yml").exists()


@pytest.mark.parametrize(("overrides", "key", "text"), [
    (["target.compose.http_port=9091", "+monitoring=grafana"], "target.compose.prometheus_port", "already published"),
    (["target.compose.memory=lots"], "target.compose.memory", "not a memory size"),
    (["target.compose.cpus=0"], "target.compose.cpus", "must be > 0"),
])
def test_bad_input_is_a_spec_error_naming_the_key(builds, overrides, key, text):
    with pytest.raises(SpecError) as err:
        api.validate(builds.project, ["tracking.enabled=false", "+target=compose", *overrides])
    problems = {p.key: p.message for p in err.value.problems}
    assert key in problems and text in problems[key], problems
