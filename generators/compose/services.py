"""The compose document: the model server, plus Prometheus and Grafana when monitoring is on.

Every service runs hardened: a numeric non-root user, a read-only root filesystem with a small tmpfs,
all capabilities dropped, ``no-new-privileges``, a health check, a restart policy and resource limits.
Paths of mounted files are relative to the compose file (``build/compose/``), so the bundle is the build dir.
"""

from __future__ import annotations

from typing import Any

HARDENED = {"read_only": True, "cap_drop": ["ALL"], "security_opt": ["no-new-privileges:true"]}
PROMETHEUS_CONFIG = "prometheus.yml"
GRAFANA_PASSWORD_FILE = "secrets/grafana-admin-password"
CAPTURE_VOLUME = "capture-data"  # serving.capture's files (the image makes the directory, owned by its user)


def _port(address: str, published: int, target: int) -> dict[str, Any]:
    return {"target": target, "published": str(published), "host_ip": address, "protocol": "tcp"}


def model_service(spec: Any, cfg: Any, image: str, uid: int, gid: int) -> dict[str, Any]:
    srv = spec.section("serving")
    ports = [_port(cfg.bind_address, cfg.http_port or srv.http_port, srv.http_port)]
    if srv.grpc_port:
        ports.append(_port(cfg.bind_address, cfg.grpc_port or srv.grpc_port, srv.grpc_port))
    probe = ("import sys, urllib.request; sys.exit(urllib.request.urlopen("
             f"'http://127.0.0.1:{srv.http_port}/v2/health/ready', timeout=2).status != 200)")
    return {
        "image": image,
        "restart": cfg.restart,
        "user": f"{uid}:{gid}",
        **HARDENED,
        "tmpfs": ["/tmp:size=64m"],
        "ports": ports,
        # CMD-SHELL: one string, quoted the same way by docker compose and podman-compose (which joins a
        # CMD list into a `sh -c` line itself)
        "healthcheck": {"test": ["CMD-SHELL", f'/opt/venv/bin/python -c "{probe}"'], "interval": "10s",
                        "timeout": "3s", "retries": 3, "start_period": "30s"},
        "stop_grace_period": f"{int(srv.drain_seconds + srv.shutdown_delay_seconds) + 5}s",
        "deploy": {"resources": {"limits": {"cpus": str(cfg.cpus), "memory": cfg.memory}}},
        "labels": {"io.mlready.project": spec.project.name, "io.mlready.model": spec.model_name},
    }


def prometheus_service(cfg: Any) -> dict[str, Any]:
    return {
        "image": cfg.prometheus_image,
        "restart": cfg.restart,
        "user": "65534:65534",
        **HARDENED,
        "command": ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus",
                    "--storage.tsdb.retention.time=15d"],
        "volumes": [f"./{PROMETHEUS_CONFIG}:/etc/prometheus/prometheus.yml:ro",
                    "../monitoring/prometheus/rules.yml:/etc/prometheus/rules/mlready.yml:ro",
                    "prometheus-data:/prometheus"],
        "ports": [_port(cfg.bind_address, cfg.prometheus_port, 9090)],
        "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/ready"],
                        "interval": "15s", "timeout": "3s", "retries": 3},
        "depends_on": {"model": {"condition": "service_started"}},
        "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "512m"}}},
    }


def grafana_service(cfg: Any, dashboards_dir: str) -> dict[str, Any]:
    return {
        "image": cfg.grafana_image,
        "restart": cfg.restart,
        "user": "472:0",
        **HARDENED,
        "tmpfs": ["/tmp:size=16m"],
        "environment": {"GF_SECURITY_ADMIN_PASSWORD__FILE": "/run/secrets/grafana_admin_password",
                        "GF_USERS_ALLOW_SIGN_UP": "false", "GF_ANALYTICS_REPORTING_ENABLED": "false"},
        "secrets": ["grafana_admin_password"],
        "volumes": ["../monitoring/grafana/provisioning:/etc/grafana/provisioning:ro",
                    f"../monitoring/grafana/dashboards:{dashboards_dir}:ro",
                    "grafana-data:/var/lib/grafana"],
        "ports": [_port(cfg.bind_address, cfg.grafana_port, 3000)],
        "healthcheck": {"test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"],
                        "interval": "15s", "timeout": "3s", "retries": 3},
        "depends_on": {"prometheus": {"condition": "service_healthy"}},
        "deploy": {"resources": {"limits": {"cpus": "0.5", "memory": "512m"}}},
    }


def prometheus_config(spec: Any) -> dict[str, Any]:
    srv = spec.section("serving")
    port = srv.metrics_port or srv.http_port
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": ["/etc/prometheus/rules/*.yml"],
        "scrape_configs": [{"job_name": spec.project.name,
                            "static_configs": [{"targets": [f"model:{port}"],
                                                "labels": {"project": spec.project.name}}]}],
    }
