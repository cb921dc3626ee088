"""The Alertmanager side of the retrain loop: which alerts start a retrain, and how each CI system is called.

``retrain/alertmanager.yml`` is a complete Alertmanager config (merge its route and receiver into yours): one
route for the model's drift and accuracy alerts (``receiver.alerts``) to the receiver ``mlready-retrain``, with
one webhook per CI system the spec configures a receiver for. Every credential is a file Alertmanager reads
(``http_config.basic_auth.password_file``, ``http_config.authorization.credentials_file``), never a value.
Alertmanager 0.25 (Debian's) has no ``url_file`` and no custom headers or body, which decides the route:

| system | how | why |
| --- | --- | --- |
| Jenkins | direct: ``POST <url>/job/<job>/buildWithParameters?MLREADY_RETRAIN_REASON=alert``, basic auth (user + API token file) | Jenkins ignores the body; the parameter is in the URL |
| GitLab | direct: ``POST <url>/api/v4/projects/<id>/pipeline?ref=<branch>``, ``Authorization: Bearer`` (project access token file) | the create-pipeline API takes ``ref`` from the query and ignores body keys it does not declare; the trigger-token endpoint would need the token in the URL |
| GitHub | relay ``/github`` → ``repository_dispatch`` | the API needs ``{"event_type": ...}`` as the body |
| CircleCI | relay ``/circleci`` → v2 pipeline API | the API needs ``{"branch": ..., "parameters": {...}}`` as the body |

The relay (``mlready.runtime.relay``) runs from the model's own image with ``retrain/relay.json`` and the
compose snippet ``retrain/relay.compose.yml``; Alertmanager authenticates to it with a bearer token file too.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from mlready.generators.ci.retrain_spec import ReceiverSpec, RetrainSpec

RECEIVER_PATH, RECEIVER_KIND = "retrain/alertmanager.yml", "alertmanager-config"
RELAY_PATH, RELAY_KIND = "retrain/relay.json", "relay-config"
COMPOSE_PATH, COMPOSE_KIND = "retrain/relay.compose.yml", "relay-compose"
#: the Jenkins build parameter saying why a retrain ran (the other systems: MLREADY_RETRAIN_REASON too)
REASON = "MLREADY_RETRAIN_REASON"
#: CircleCI's boolean pipeline parameter selecting the retrain workflow (``<name>-reason`` says why)
CIRCLECI_PARAMETER = "mlready-retrain"
RELAY_PORT = 9095
#: where the compose snippet mounts the relay's secrets (compose ``secrets:``)
RELAY_SECRETS = {"relay": "mlready-relay-token", "github": "github-token", "circleci": "circleci-token"}
#: the systems whose receiver goes through the relay
RELAYED = ("circleci", "github")


def configured(r: ReceiverSpec, system: str) -> bool:
    """Whether the spec asks for a receiver for ``system``."""
    return bool({"jenkins": r.jenkins_url, "gitlab": r.gitlab_url}.get(system, r.relay_url if system in RELAYED
                                                                           else ""))


def receiver_problems(r: ReceiverSpec, systems: list[str]) -> list[tuple[str, str]]:
    """(key, message) for a receiver that cannot be written: its CI system is off, or a reference is missing."""
    key = "pipeline.retrain.receiver"
    out = []
    if r.jenkins_url and "jenkins" not in systems:
        out.append((f"{key}.jenkins_url", "the Alertmanager receiver starts the Jenkins retrain job: add +ci=jenkins"))
    if r.gitlab_url and "gitlab" not in systems:
        out.append((f"{key}.gitlab_url", "the Alertmanager receiver starts the GitLab retrain pipeline: add "
                    "+ci=gitlab"))
    if r.gitlab_url and not r.gitlab_project:
        out.append((f"{key}.gitlab_project", "the GitLab receiver calls the project's pipeline API: set the project's "
                    "numeric id or full path (group/name)"))
    relayed = [s for s in RELAYED if s in systems]
    if r.relay_url and not relayed:
        out.append((f"{key}.relay_url", "the relay starts the GitHub or CircleCI retrain pipeline: add +ci=github "
                    "or +ci=circleci"))
    if r.relay_url and "github" in relayed and not r.github_repo:
        out.append((f"{key}.github_repo", "the relay sends GitHub a repository_dispatch: set the repository "
                    "(owner/name)"))
    if r.relay_url and "circleci" in relayed and not r.circleci_project:
        out.append((f"{key}.circleci_project", "the relay starts a CircleCI pipeline: set the project slug "
                    "(gh/owner/name)"))
    return out


def _webhook(url: str, http_config: dict[str, Any]) -> dict[str, Any]:
    return {"url": url, "send_resolved": False, "max_alerts": 20, "http_config": http_config}


def webhooks(cfg: RetrainSpec, systems: list[str], project: str, branches: dict[str, str]) -> list[dict[str, Any]]:
    """One Alertmanager webhook per CI system with a configured receiver, in ``systems`` order."""
    r = cfg.receiver
    bearer = {"authorization": {"type": "Bearer", "credentials_file": r.relay_token_file}}
    out = []
    for s in (s for s in systems if configured(r, s)):
        if s == "jenkins":
            job = "/job/".join((r.job or f"{project}-retrain").split("/"))
            out.append(_webhook(f"{r.jenkins_url}/job/{job}/buildWithParameters?{REASON}=alert",
                                {"basic_auth": {"username": r.user, "password_file": r.password_file}}))
        elif s == "gitlab":
            out.append(_webhook(f"{r.gitlab_url}/api/v4/projects/{quote(r.gitlab_project, safe='')}/pipeline"
                                f"?ref={quote(branches['gitlab'], safe='')}",
                                {"authorization": {"type": "Bearer", "credentials_file": r.gitlab_token_file}}))
        else:
            out.append(_webhook(f"{r.relay_url}/{s}", bearer))
    return out


def alertmanager_config(cfg: RetrainSpec, systems: list[str], project: str, model: str,
                        branches: dict[str, str]) -> dict[str, Any]:
    """A complete Alertmanager config whose route sends the model's drift and accuracy alerts to the retrain
    pipelines of ``systems`` (those with a configured receiver)."""
    alerts = "|".join(cfg.receiver.alerts)
    return {
        "route": {"receiver": "default", "routes": [{
            "receiver": "mlready-retrain",
            "matchers": [f'alertname =~ ".*({alerts})"', f'model = "{model}"'],
            "group_by": ["model"], "group_wait": "1m", "repeat_interval": "24h",
        }]},
        "receivers": [{"name": "default"},
                      {"name": "mlready-retrain", "webhook_configs": webhooks(cfg, systems, project, branches)}],
    }


def relay_config(cfg: RetrainSpec, systems: list[str], branches: dict[str, str]) -> dict[str, Any] | None:
    """``retrain/relay.json`` (read by ``python -m mlready.runtime.relay``), or None when nothing is relayed."""
    r = cfg.receiver
    relayed = [s for s in RELAYED if s in systems and configured(r, s)]
    if not relayed:
        return None
    targets: dict[str, Any] = {}
    if "github" in relayed:
        targets["github"] = {"url": f"{r.github_api}/repos/{r.github_repo}/dispatches",
                             "token_file": f"/run/secrets/{RELAY_SECRETS['github']}", "event": cfg.event}
    if "circleci" in relayed:
        run = "/run" if r.circleci_definition_id else ""  # the newer endpoint takes the pipeline definition
        targets["circleci"] = {"url": f"{r.circleci_api}/api/v2/project/{r.circleci_project}/pipeline{run}",
                               "token_file": f"/run/secrets/{RELAY_SECRETS['circleci']}",
                               "branch": branches["circleci"], "parameter": CIRCLECI_PARAMETER,
                               **({"definition_id": r.circleci_definition_id} if run else {})}
    return {"listen": f"0.0.0.0:{RELAY_PORT}", "token_file": f"/run/secrets/{RELAY_SECRETS['relay']}",
            "targets": targets, "max_body": 262144, "timeout": 10, "max_concurrent": 8}


def relay_compose(relay: dict[str, Any], image: str) -> dict[str, Any]:
    """``retrain/relay.compose.yml``: the relay as a compose service, from the model's image (its runtime has the
    relay), with the config and the token files as compose secrets (files beside it, never values)."""
    secrets = [RELAY_SECRETS["relay"], *(RELAY_SECRETS[t] for t in sorted(relay["targets"]))]
    return {
        "services": {"mlready-relay": {
            "image": image,
            "entrypoint": ["/opt/venv/bin/python", "-m", "mlready.runtime.relay"],
            "command": ["--config", "/etc/mlready-relay/relay.json"],
            "ports": [f"{RELAY_PORT}:{RELAY_PORT}"],
            "volumes": ["./relay.json:/etc/mlready-relay/relay.json:ro"],
            "secrets": secrets,
            "read_only": True,
            "restart": "unless-stopped",
            "healthcheck": {"test": ["CMD", "/opt/venv/bin/python", "-c",
                                     "import urllib.request; urllib.request.urlopen("
                                     f"'http://127.0.0.1:{RELAY_PORT}/healthz', timeout=2)"],
                            "interval": "30s", "timeout": "5s", "retries": 3},
        }},
        "secrets": {s: {"file": f"./secrets/{s}"} for s in secrets},
    }
