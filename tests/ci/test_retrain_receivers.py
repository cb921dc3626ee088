"""``+pipeline=retrain`` for GitLab and CircleCI, and the Alertmanager receivers of every CI system.

The generated files pass the tools their users run (the CI systems' schemas, gitlab-ci-local's evaluation of
the rules per pipeline source, Alertmanager's amtool, the compose spec) and are byte-identical when rebuilt;
end to end on loopback, a real Alertmanager with the generated config calls Jenkins and GitLab directly and
GitHub and CircleCI through the real relay (a subprocess), each a recording fake: method, path, headers with the
token from its file, body."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from mlready.engine import api
from mlready.engine.errors import SpecError
from mlready.generators.ci import checks
from mlready.runtime.relay import RelayConfig

from tests.monitoring.test_end_to_end import free_port, running
from tests.support.recorder import recording

from .conftest import TARGETS, copy_project

ALL = "+ci=[gitlab,circleci,github,jenkins]"
RETRAIN = [*TARGETS, "+pipeline=retrain", "readiness.compare_to=models:/quickstart@champion", "data.train=train.csv",
           "readiness.enabled=false", "serving.drift=false", "pipeline.retrain.schedule=15 4 * * 1-5"]
R = "pipeline.retrain.receiver"


def receivers(ci: str, relay: str, extra: list[str] = ()) -> list[str]:
    return [f"{R}.jenkins_url={ci}", f"{R}.job=ml/quickstart-retrain", f"{R}.gitlab_url={ci}",
            f"{R}.gitlab_project=ml/quickstart", f"{R}.relay_url={relay}", f"{R}.github_repo=acme/quickstart",
            f"{R}.circleci_project=gh/acme/quickstart", *extra]


FILES = ["ci/.gitlab-ci.yml", "ci/.gitlab-ci-retrain.yml", "ci/.circleci/config.yml", "retrain/alertmanager.yml",
         "retrain/relay.json", "retrain/relay.compose.yml", "ci/.github/workflows/mlready-retrain.yml",
         "ci/Jenkinsfile.retrain", "retrain/dvc.yaml", "retrain/circleci-schedule.json"]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("retrain-receivers") / "project")
    (root / "train.csv").write_text("a,target\n1,0\n")
    return root


@pytest.fixture(scope="module")
def built(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    overrides = [ALL, *RETRAIN, *receivers("https://ci.example.com", "http://mlready-relay:9095")]
    return api.build(project, overrides, out=tmp_path_factory.mktemp("built"), run_hooks=False).out_dir


def load(built: Path, path: str) -> dict:
    return yaml.safe_load((built / path).read_text())


def schema(name: str, *paths: Path) -> None:
    proc = subprocess.run([str(Path(sys.executable).with_name("check-jsonschema")), "--builtin-schema", name,
                           *map(str, paths)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.tools
def test_the_ci_systems_schemas_and_mlreadys_checks_accept_the_retrain_files(built: Path) -> None:
    schema("vendor.gitlab-ci", built / "ci/.gitlab-ci.yml", built / "ci/.gitlab-ci-retrain.yml")
    schema("vendor.circle-ci", built / "ci/.circleci/config.yml")
    schema("vendor.compose-spec", built / "retrain/relay.compose.yml")
    for path in ("ci/.gitlab-ci.yml", "ci/.gitlab-ci-retrain.yml"):
        assert checks.gitlab_problems(load(built, path)) == [], path
    assert checks.circleci_problems(load(built, "ci/.circleci/config.yml")) == []
    for path in FILES[:3]:
        text = (built / path).read_text()
        assert checks.secret_problems(yaml.safe_load(text), text) == [], path
    for path in FILES[3:6]:  # Alertmanager, relay, compose: credentials only as files
        text = (built / path).read_text()
        assert checks.secret_problems({}, text) == [], path
        inline = [p for p, key, _ in checks.walk(yaml.safe_load(text))
                  if key in ("password", "credentials", "bearer_token", "token")]
        assert inline == [], path
    proc = subprocess.run(["amtool", "check-config", str(built / "retrain/alertmanager.yml")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    RelayConfig.from_dict(json.loads((built / "retrain/relay.json").read_text()))


def test_rebuilding_gives_byte_identical_files(project: Path, built: Path, tmp_path: Path) -> None:
    overrides = [ALL, *RETRAIN, *receivers("https://ci.example.com", "http://mlready-relay:9095")]
    again = api.build(project, overrides, out=tmp_path / "again", use_cache=False, run_hooks=False).out_dir
    for path in FILES:
        assert (again / path).read_bytes() == (built / path).read_bytes(), path


def test_gitlab_retrain_is_a_child_pipeline_with_the_schedule_command_in_its_header(built: Path) -> None:
    child = load(built, "ci/.gitlab-ci-retrain.yml")
    assert child["stages"] == ["gather", "retrain", "build", "image-build", "push", "deploy-canary", "promote"]
    assert child["promote"]["script"][-1] == "mlready promote quickstart --alias champion --from-build build"
    assert child["push"]["variables"]["REGISTRY_PASSWORD"] == "$REGISTRY_CREDENTIALS_PASSWORD"
    assert child["variables"]["MLREADY_RETRAIN_REASON"] == "$MLREADY_RETRAIN_SOURCE"
    header = (built / "ci/.gitlab-ci-retrain.yml").read_text().split("---")[0]
    assert ("glab schedule create --cron '15 4 * * 1-5' --cronTimeZone UTC --ref main --description "
            "'quickstart retrain'") in header
    main = load(built, "ci/.gitlab-ci.yml")
    assert main["stages"][-1] == "mlready-retrain"
    assert main["mlready-retrain"]["trigger"] == {
        "include": [{"local": ".gitlab-ci-retrain.yml"}], "strategy": "depend",
        "forward": {"yaml_variables": True, "pipeline_variables": True}}


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=mlready", "-c", "user.email=ci@example.com", *args], cwd=repo,
                   check=True, capture_output=True, timeout=60)


@pytest.mark.tools
def test_gitlab_runs_the_retrain_only_on_a_schedule_the_api_a_trigger_or_a_given_reason(built: Path,
                                                                                       tmp_path: Path) -> None:
    for name in (".gitlab-ci.yml", ".gitlab-ci-retrain.yml"):
        shutil.copy(built / "ci" / name, tmp_path / name)
    (tmp_path / "requirements.txt").write_text("mlready\n")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "pipelines")

    def runs(*variables: str) -> list[str]:
        argv = ["gitlab-ci-local", "--list-json", *(a for v in variables for a in ("--variable", v))]
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return [j["name"] for j in json.loads(proc.stdout) if j["when"] != "never"]

    main = runs("CI_PIPELINE_SOURCE=push")
    assert "build" in main and "mlready-retrain" not in main
    for source in ("schedule", "api", "trigger"):
        assert runs(f"CI_PIPELINE_SOURCE={source}") == ["mlready-retrain"], source
    assert runs("CI_PIPELINE_SOURCE=web", "MLREADY_RETRAIN_REASON=manual") == ["mlready-retrain"]
    assert runs("CI_PIPELINE_SOURCE=web") == main


def test_circleci_selects_the_retrain_workflow_by_a_pipeline_parameter(built: Path) -> None:
    doc = load(built, "ci/.circleci/config.yml")
    assert doc["parameters"]["mlready-retrain"] == {"type": "boolean", "default": False,
                                                    "description": "run the retrain workflow instead of the main one"}
    main, retrain = doc["workflows"]["quickstart"], doc["workflows"]["quickstart-retrain"]
    assert main["when"] == {"not": "<< pipeline.parameters.mlready-retrain >>"}
    assert retrain["when"] == "<< pipeline.parameters.mlready-retrain >>"
    names = [next(iter(e)) if isinstance(e, dict) else e for e in retrain["jobs"]]
    assert names == ["retrain-gather", "retrain-retrain", "retrain-build", "retrain-image-build", "retrain-push",
                     "retrain-deploy-canary", "retrain-promote"]
    assert retrain["jobs"][-1] == {"retrain-promote": {"requires": ["retrain-deploy-canary", "retrain-build"]}}
    promote = doc["jobs"]["retrain-promote"]["steps"][-1]["run"]["command"]
    assert promote.endswith("mlready promote quickstart --alias champion --from-build build")
    assert "build" in doc["jobs"] and "retrain-build" in doc["jobs"]  # both pipelines, apart
    assert doc["jobs"]["retrain-gather"]["environment"] == {
        "MLREADY_RETRAIN_REASON": "<< pipeline.parameters.mlready-retrain-reason >>"}
    # the schedule is made in CircleCI (no cron in the file): the API body, the cron as a timetable
    assert json.loads((built / "retrain/circleci-schedule.json").read_text()) == {
        "name": "quickstart retrain", "description": "mlready retrain, cron 15 4 * * 1-5 (UTC)",
        "attribution-actor": "system",
        "parameters": {"branch": "main", "mlready-retrain": True, "mlready-retrain-reason": "schedule"},
        "timetable": {"per-hour": 1, "hours-of-day": [4], "days-of-week": ["MON", "TUE", "WED", "THU", "FRI"]}}


@pytest.mark.parametrize(("cron", "timetable"), [
    ("*/15 * * * *", {"per-hour": 4, "hours-of-day": list(range(24)),
                      "days-of-week": ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]}),
    ("0 3 1,15 * *", {"per-hour": 1, "hours-of-day": [3], "days-of-month": [1, 15]}),
    ("0 0 * 1,7 0,7", {"per-hour": 1, "hours-of-day": [0], "days-of-week": ["SUN"], "months": ["JAN", "JUL"]}),
])
def test_a_cron_becomes_a_circleci_timetable(cron: str, timetable: dict) -> None:
    from mlready.generators.ci.retrain_systems import circleci_schedule

    assert circleci_schedule(cron, "main", "q")["timetable"] == timetable


@pytest.mark.tools
def test_shellcheck_accepts_the_gitlab_and_circleci_retrain_scripts(built: Path, tmp_path: Path) -> None:
    child = load(built, "ci/.gitlab-ci-retrain.yml")
    circle = load(built, "ci/.circleci/config.yml")["jobs"]
    scripts = {"sh": ["\n".join(j["script"]) for j in child.values() if isinstance(j, dict) and "script" in j],
               "bash": [s["run"]["command"] for name, j in circle.items() if name.startswith("retrain-")
                        for s in j["steps"] if isinstance(s, dict) and "run" in s]}
    for dialect, texts in scripts.items():
        assert len(texts) == 7, dialect
        paths = []
        for i, text in enumerate(texts):
            paths.append(tmp_path / f"{dialect}-{i}.sh")
            paths[-1].write_text(text + "\n")
        proc = subprocess.run(["shellcheck", "-s", dialect, "-e", "SC1091", *map(str, paths)], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_relay_uses_circleci_run_endpoint_when_given_a_pipeline_definition() -> None:
    from mlready.generators.ci.retrain_receiver import relay_config
    from mlready.generators.ci.retrain_spec import ReceiverSpec, RetrainSpec

    uuid = "0b4e5f9c-1d2e-4f3a-8b7c-6d5e4f3a2b1c"
    cfg = RetrainSpec(receiver=ReceiverSpec(relay_url="http://relay:9095", circleci_project="circleci/org/proj",
                                            circleci_definition_id=uuid))
    target = relay_config(cfg, ["circleci"], {"circleci": "main"})["targets"]["circleci"]
    assert target["url"] == "https://circleci.com/api/v2/project/circleci/org/proj/pipeline/run"
    assert target["definition_id"] == uuid


def _problems(project: Path, extra: list[str]) -> list[str]:
    with pytest.raises(SpecError) as err:
        api.validate(project, [*RETRAIN, *extra])
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize(("extra", "message"), [
    (["+ci=github", f"{R}.gitlab_url=https://gitlab.example.com", f"{R}.gitlab_project=1"],
     f"{R}.gitlab_url: the Alertmanager receiver starts the GitLab retrain pipeline: add +ci=gitlab"),
    (["+ci=gitlab", f"{R}.gitlab_url=https://gitlab.example.com"],
     f"{R}.gitlab_project: the GitLab receiver calls the project's pipeline API: set the project's numeric id"),
    (["+ci=gitlab", f"{R}.gitlab_url=https://gitlab.example.com", f"{R}.gitlab_project=../x"],
     "'../x' is not a GitLab project"),
    (["+ci=gitlab", f"{R}.gitlab_url=https://gitlab.example.com", f"{R}.gitlab_project=1", f"{R}.gitlab_token_file="],
     f"{R}.gitlab_token_file: '' is not an absolute file path"),
    (["+ci=jenkins", f"{R}.relay_url=http://relay:9095"],
     f"{R}.relay_url: the relay starts the GitHub or CircleCI retrain pipeline: add +ci=github or +ci=circleci"),
    (["+ci=github", f"{R}.relay_url=http://relay:9095"],
     f"{R}.github_repo: the relay sends GitHub a repository_dispatch: set the repository (owner/name)"),
    (["+ci=circleci", f"{R}.relay_url=http://relay:9095"],
     f"{R}.circleci_project: the relay starts a CircleCI pipeline: set the project slug"),
    (["+ci=circleci", f"{R}.relay_url=http://relay:9095", f"{R}.circleci_project=acme"],
     "'acme' is not a CircleCI project slug"),
    (["+ci=circleci", f"{R}.relay_url=http://u:p@relay:9095", f"{R}.circleci_project=gh/a/b"],
     "is not an http(s) base URL without credentials"),
    (["+ci=github", f"{R}.relay_url=http://relay:9095", f"{R}.github_repo=acme/q", f"{R}.relay_token_file=token"],
     f"{R}.relay_token_file: 'token' is not an absolute file path"),
    (["+ci=jenkins", f"{R}.jenkins_url=https://ci.example.com", f"{R}.job=ml/../../script"],
     "'ml/../../script' is not a Jenkins job path"),
    (["+ci=github", f"{R}.relay_url=http://relay:9095", f"{R}.github_repo=../orgs"],
     "'../orgs' is not a GitHub repository (owner/name)"),
    (["+ci=circleci", "pipeline.retrain.schedule=0 3 1 * 1"],
     "pipeline.retrain.schedule: '0 3 1 * 1' restricts both the day of the month and the weekday"),
    (["+ci=circleci", f"{R}.relay_url=http://relay:9095", f"{R}.circleci_project=gh/a/b",
      f"{R}.circleci_definition_id=latest"], "'latest' is not a CircleCI pipeline definition id (a UUID)"),
    (["+ci=gitlab", "pipeline.retrain.schedule=0 25 * * *"], "pipeline.retrain.schedule: '0 25 * * *' does not parse"),
])
def test_receiver_spec_errors_name_the_key(project: Path, extra: list[str], message: str) -> None:
    found = _problems(project, extra)
    assert len(found) == 1 and message in found[0], found


@pytest.mark.server
@pytest.mark.tools
def test_alertmanager_starts_every_ci_systems_retrain_directly_or_through_the_relay(project: Path,
                                                                                    tmp_path: Path) -> None:
    """Jenkins and GitLab straight from Alertmanager's webhook; GitHub and CircleCI through the relay."""
    if shutil.which("prometheus-alertmanager") is None:
        pytest.fail("prometheus-alertmanager is not installed (tools/install-system-deps.sh installs it)")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    tokens = {"jenkins": "jenkins-api-token-1", "gitlab": "glpat-test-token-2", "relay": "relay-token-3",
              "github": "gh-test-token-4", "circleci": "circle-test-token-5"}
    for name, value in tokens.items():
        (secrets / name).write_text(value + "\n")
    relay_port = free_port()
    with recording(status=201) as ci:
        overrides = [ALL, *RETRAIN, *receivers(ci.url, f"http://127.0.0.1:{relay_port}", [
            f"{R}.password_file={secrets / 'jenkins'}", f"{R}.gitlab_token_file={secrets / 'gitlab'}",
            f"{R}.relay_token_file={secrets / 'relay'}", f"{R}.github_api={ci.url}/gh",
            f"{R}.circleci_api={ci.url}/cc", f"{R}.user=retrain-bot"])]
        built = api.build(project, overrides, out=tmp_path / "out", run_hooks=False).out_dir
        # the relay as the compose snippet runs it, its secrets where this machine keeps them
        relay = json.loads((built / "retrain/relay.json").read_text())
        relay["token_file"] = str(secrets / "relay")
        for name, target in relay["targets"].items():
            target["token_file"] = str(secrets / name)
        (tmp_path / "relay.json").write_text(json.dumps(relay))
        # Alertmanager with the generated config: only the route's waits shortened for the test
        config = load(built, "retrain/alertmanager.yml")
        config["route"]["routes"][0].update(group_wait="1s", group_interval="1s")
        (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
        am_port = free_port()
        am = ["prometheus-alertmanager", f"--config.file={tmp_path / 'alertmanager.yml'}",
              f"--storage.path={tmp_path / 'am-data'}", f"--web.listen-address=127.0.0.1:{am_port}",
              "--cluster.listen-address="]
        relay_argv = [sys.executable, "-m", "mlready.runtime.relay", "--config", str(tmp_path / "relay.json"),
                      "--listen", f"127.0.0.1:{relay_port}"]
        with running(relay_argv, tmp_path / "relay.log", f"http://127.0.0.1:{relay_port}/healthz", 30), \
                running(am, tmp_path / "am.log", f"http://127.0.0.1:{am_port}/-/ready", 60):
            alerts = [{"labels": {"alertname": "QuickstartFeatureDrift", "model": "quickstart", "feature": "x"}},
                      {"labels": {"alertname": "OtherFeatureDrift", "model": "other"}},  # not this model's
                      {"labels": {"alertname": "QuickstartHighLatency", "model": "quickstart"}}]  # not a retrain
            req = urllib.request.Request(f"http://127.0.0.1:{am_port}/api/v2/alerts", data=json.dumps(alerts).encode(),
                                         headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback
                assert resp.status == 200
            got = ci.wait(4, 30)
            time.sleep(2)  # nothing else arrives
        relay_log = (tmp_path / "relay.log").read_text()
    assert len(ci.requests) == 4, (ci.requests, (tmp_path / "am.log").read_text()[-2000:], relay_log[-2000:])
    by_path = {r.path.split("?")[0]: r for r in got}
    jenkins = by_path["/job/ml/job/quickstart-retrain/buildWithParameters"]
    assert jenkins.path.endswith("?MLREADY_RETRAIN_REASON=alert")
    assert jenkins.headers["authorization"] == "Basic " + base64.b64encode(
        f"retrain-bot:{tokens['jenkins']}".encode()).decode()
    gitlab = by_path["/api/v4/projects/ml%2Fquickstart/pipeline"]
    assert gitlab.path.endswith("?ref=main") and gitlab.method == "POST"
    assert gitlab.headers["authorization"] == f"Bearer {tokens['gitlab']}"
    assert json.loads(gitlab.body)["alerts"][0]["labels"]["alertname"] == "QuickstartFeatureDrift"  # ignored by GitLab
    github = by_path["/gh/repos/acme/quickstart/dispatches"]
    assert github.headers["authorization"] == f"Bearer {tokens['github']}"
    assert json.loads(github.body) == {"event_type": "mlready-retrain", "client_payload": {
        "reason": "alert", "alerts": ["QuickstartFeatureDrift"], "group": json.loads(gitlab.body)["groupKey"]}}
    circle = by_path["/cc/api/v2/project/gh/acme/quickstart/pipeline"]
    assert circle.headers["circle-token"] == tokens["circleci"]
    assert json.loads(circle.body) == {"branch": "main", "parameters": {"mlready-retrain": True,
                                                                        "mlready-retrain-reason": "alert"}}
    assert not any(t in relay_log for t in tokens.values())
    for name in ("alertmanager.yml", "relay.json", "relay.compose.yml"):  # tokens only as file paths
        text = (built / "retrain" / name).read_text()
        assert not any(t in text for t in tokens.values()), name
    assert str(secrets / "gitlab") in (built / "retrain/alertmanager.yml").read_text()
