"""The generated pipelines, checked by the tools their users' CI systems use and by mlready's own checks."""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml
from mlready.engine.cli import cli
from mlready.engine.manifest import Manifest
from mlready.generators.ci import checks
from mlready.generators.ci.spec import STAGES

from .conftest import VARIANT_OVERRIDES

FILES = {
    "gitlab": "ci/.gitlab-ci.yml",
    "circleci": "ci/.circleci/config.yml",
    "github": "ci/.github/workflows/mlready.yml",
    "jenkins": "ci/Jenkinsfile",
}
SCHEMAS = {"gitlab": "vendor.gitlab-ci", "circleci": "vendor.circle-ci", "github": "vendor.github-workflows"}
GROOVY_SCRIPT = Path(__file__).with_name("jenkinsfile_tree.groovy")


def load(built: Path, system: str) -> dict:
    return yaml.safe_load((built / FILES[system]).read_text())


def groovy_trees(*paths: Path) -> dict[str, list]:
    """One JVM parses every Jenkinsfile with Groovy's real parser."""
    proc = subprocess.run(["groovy", str(GROOVY_SCRIPT), *map(str, paths)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def find(tree: list, name: str) -> list[list]:
    """Every call node named ``name`` in a parsed tree, depth first."""
    out = []
    for node in tree:
        if node[0] == name:
            out.append(node)
        out += find(node[2], name)
    return out


def job_scripts(built: Path, jenkins_tree: list) -> dict[str, dict[str, str]]:
    """system -> job -> the shell script it runs (as the CI system hands it to the shell)."""
    gl, cc, gh = load(built, "gitlab"), load(built, "circleci"), load(built, "github")
    return {
        "gitlab": {k: "\n".join(j["script"]) for k, j in gl.items() if isinstance(j, dict) and "script" in j},
        "circleci": {f"{k}-{i}": s["run"]["command"] for k, j in cc["jobs"].items()
                     for i, s in enumerate(j["steps"]) if isinstance(s, dict) and "run" in s},
        "github": {f"{k}-{i}": s["run"] for k, j in gh["jobs"].items() for i, s in enumerate(j["steps"]) if "run" in s},
        "jenkins": {str(i): n[1][0] for i, n in enumerate(find(jenkins_tree, "sh"))},
    }


def shell_lines(built: Path, jenkins_tree: list) -> dict[str, list[str]]:
    """system -> every non-blank line of its job scripts, stripped, in order."""
    return {system: [ln.strip() for script in scripts.values() for ln in script.splitlines() if ln.strip()]
            for system, scripts in job_scripts(built, jenkins_tree).items()}


@pytest.fixture(scope="module")
def jenkins_trees(built: Path, variant: Path) -> dict[str, list]:
    """Both Jenkinsfiles, parsed in one JVM."""
    paths = {"default": built / FILES["jenkins"], "variant": variant / FILES["jenkins"]}
    trees = groovy_trees(*paths.values())
    return {k: trees[str(p)] for k, p in paths.items()}


@pytest.fixture(scope="module")
def jenkins_tree(jenkins_trees: dict[str, list]) -> list:
    return jenkins_trees["default"]


@pytest.mark.tools
def test_jenkinsfile_has_the_declarative_structure(jenkins_trees: dict[str, list]) -> None:
    for tree in jenkins_trees.values():
        assert [n[0] for n in tree] == ["pipeline"]
        sections = [n[0] for n in tree[0][2]]
        assert sections == ["agent", "options", "environment", "stages", "post"]
        stages = find(tree, "stages")[0][2]
        assert len(stages) == len(STAGES) and all(s[0] == "stage" for s in stages)
        for stage in stages:
            steps = [c for c in stage[2] if c[0] == "steps"]
            assert len(steps) == 1 and steps[0][2], stage[1]
        deploys = [s for s in stages if s[1][0].startswith(("deploy", "Deploy", "push", "smoke", "approve"))]
        assert all(find(s[2], "when")[0][2] == [["branch", ["main"], []]] for s in deploys)


@pytest.mark.tools
def test_jenkinsfile_quotes_names_and_settings_for_groovy(jenkins_trees: dict[str, list]) -> None:
    tree = jenkins_trees["variant"]
    names = [n[1][0] for n in find(tree, "stage")]
    assert names[4] == "Build 'n' package" and names[-1] == "Deploy \\\\ production"
    assert find(tree, "agent")[0][2] == [["label", ["linux && docker"], []]]
    env = [[n[1][0] for n in block[2]] for block in find(tree, "environment")]
    assert env == [["PIP_DISABLE_PIP_VERSION_CHECK"], ["MLREADY_PRODUCTION_URL"]]
    assert find(tree, "sh")[-1][1][0].strip().endswith("mlready deploy --env prod")


def test_rebuilding_gives_byte_identical_pipelines(variant: Path, tmp_path: Path) -> None:
    from mlready.engine import api

    again = api.build(variant.parent, VARIANT_OVERRIDES, out=tmp_path / "again", use_cache=False).out_dir
    for path in FILES.values():
        assert (again / path).read_bytes() == (variant / path).read_bytes(), path


@pytest.mark.tools
@pytest.mark.parametrize("system", sorted(SCHEMAS))
def test_the_ci_systems_json_schema_accepts_the_file(built: Path, system: str) -> None:
    exe = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run([str(exe), "--builtin-schema", SCHEMAS[system], str(built / FILES[system])],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_manifest_records_every_pipeline_with_its_kind(built: Path) -> None:
    manifest = Manifest.load(built)
    kinds = {a.path: a.kind for a in manifest.artifacts}
    assert {p: kinds.get(p) for p in FILES.values()} == {
        "ci/.gitlab-ci.yml": "gitlab-ci", "ci/.circleci/config.yml": "circleci-config",
        "ci/.github/workflows/mlready.yml": "github-workflow", "ci/Jenkinsfile": "jenkinsfile"}


def test_files_carry_the_do_not_edit_header(built: Path) -> None:
    for path in FILES.values():
        head = (built / path).read_text().splitlines()[0]
        assert "do not edit" in head and head.startswith("//" if path.endswith("Jenkinsfile") else "#"), path


def test_mlreadys_own_checks_pass(built: Path) -> None:
    assert checks.gitlab_problems(load(built, "gitlab")) == []
    assert checks.circleci_problems(load(built, "circleci")) == []
    assert checks.github_problems(load(built, "github")) == []
    for system in FILES:
        text = (built / FILES[system]).read_text()
        doc = {} if system == "jenkins" else yaml.safe_load(text)
        assert checks.secret_problems(doc, text) == [], system


def test_mlreadys_own_checks_catch_broken_pipelines(built: Path) -> None:
    gl = load(built, "gitlab")
    gl["validate"]["script"] = []
    gl["build"]["needs"] = ["nowhere"]
    gl["push"]["stage"] = "shipping"
    assert checks.gitlab_problems(gl) == [
        "job 'validate' has nothing to run", "job 'build' needs 'nowhere', which does not exist",
        "job 'push': stage 'shipping' is not in stages", "stage 'push' has no job"]
    cc = load(built, "circleci")
    del cc["jobs"]["build"]
    assert checks.circleci_problems(cc) == ["workflow 'quickstart': job 'build' does not exist"]
    gh = load(built, "github")
    gh["jobs"]["smoke-test"]["needs"] = ["deploy-stagin"]
    assert checks.github_problems(gh) == ["job 'smoke-test' needs 'deploy-stagin', which does not exist"]
    gh["jobs"]["push"]["env"]["REGISTRY_PASSWORD"] = "hunter2"
    assert checks.secret_problems(gh, "") == [
        "jobs.push.env.REGISTRY_PASSWORD: a secret must be a reference to the CI system's secret store, got a literal"]
    assert checks.secret_problems({}, "echo x | docker login -u me -p hunter2 registry") != []
    assert checks.secret_problems({}, "git clone https://bot:s3cr3t@example.com/repo.git") != []


def test_stages_run_in_the_issue_order(built: Path, jenkins_tree: list) -> None:
    assert load(built, "gitlab")["stages"] == list(STAGES)
    assert [n[1][0] for n in find(jenkins_tree, "stage")] == list(STAGES)
    gh = load(built, "github")["jobs"]
    assert gh["deploy-production"]["needs"] == ["approve-production", "build"]
    workflow = load(built, "circleci")["workflows"]["quickstart"]["jobs"]
    assert [next(iter(e)) if isinstance(e, dict) else e for e in workflow] == list(STAGES)


def test_native_forms_of_caches_artifacts_gates_and_environments(built: Path, jenkins_tree: list) -> None:
    gl = load(built, "gitlab")
    # the cache is keyed on the requirements and, through its prefix, on the install commands themselves
    installs = hashlib.sha256(b"python -m pip install -r requirements.txt").hexdigest()[:8]
    assert gl["install"]["cache"] == {"key": {"files": ["requirements.txt"], "prefix": f"venv-py3.11-{installs}"},
                                      "paths": [".venv/"], "policy": "pull-push"}
    # the git-ignored model is made by the train job and handed on as a file to the jobs that read it
    assert gl["train"]["script"][-1] == "python train.py" and gl["train"]["artifacts"]["paths"] == ["model.joblib"]
    assert gl["validate"]["needs"] == ["install", "train"] and gl["build"]["needs"] == ["unit-tests", "validate",
                                                                                       "train"]
    assert gl["unit-tests"]["artifacts"]["reports"] == {"junit": ["reports/junit.xml"]}
    assert gl["build"]["artifacts"]["paths"] == ["build/"]
    assert gl["image-build"]["services"] == ["docker:27-dind"] and "image" not in gl["image-build"]
    assert gl["image-build"]["script"][0].endswith("apt-get install -y -qq --no-install-recommends docker.io")
    image = "registry.example.com/ml/quickstart:1.0.0"  # what mlready image tags and the k8s bundle pulls
    assert [ln for ln in gl["image-build"]["script"] if ln.startswith("docker")] == [
        "docker run --rm -v /var/run/docker.sock:/var/run/docker.sock aquasec/trivy:0.57.1 image --no-progress "
        f"--exit-code 1 --severity HIGH,CRITICAL {image}", f"docker save {image} -o dist/image.tar"]
    assert gl["push"]["script"] == [
        "docker load -i dist/image.tar",
        'printf \'%s\' "$REGISTRY_PASSWORD" | docker login --username "$REGISTRY_USER" --password-stdin '
        "registry.example.com", f"docker push {image}"]
    assert gl["push"]["needs"] == ["image-build"] and gl["deploy-staging"]["needs"] == ["push", "build"]
    assert gl["approve-production"]["rules"] == [
        {"if": '$CI_COMMIT_BRANCH == "main"', "when": "manual", "allow_failure": False}]
    assert gl["deploy-production"]["environment"] == {"name": "production", "url": "$MLREADY_PRODUCTION_URL"}
    cc = load(built, "circleci")
    approval = [e for e in cc["workflows"]["quickstart"]["jobs"] if isinstance(e, dict) and "approve-production" in e]
    assert approval[0]["approve-production"]["type"] == "approval"
    steps = cc["jobs"]["unit-tests"]["steps"]
    assert {"store_test_results": {"path": "reports/junit.xml"}} in steps
    assert {"restore_cache": {"keys": [f'venv-py3.11-{installs}-{{{{ arch }}}}-{{{{ checksum "requirements.txt" }}}}']}} in steps
    assert {"persist_to_workspace": {"root": ".", "paths": ["model.joblib"]}} in cc["jobs"]["train"]["steps"]
    gh = load(built, "github")["jobs"]
    assert {"uses": "actions/upload-artifact@v4", "with": {"name": "train-model.joblib", "path": "model.joblib",
                                                           "if-no-files-found": "error"}} in gh["train"]["steps"]
    assert {"uses": "actions/download-artifact@v4",
            "with": {"name": "train-model.joblib", "path": "."}} in gh["build"]["steps"]
    assert [n[1] for n in find(jenkins_tree, "input")] == [["message", "ok"]]
    assert [n[1] for n in find(jenkins_tree, "junit")] == [["reports/junit.xml"]]
    # one Jenkins workspace: the install stage makes the venv, later stages only enter it
    scripts = [n[1][0].strip().splitlines() for n in find(jenkins_tree, "sh")]
    assert "python -m pip install -r requirements.txt" in scripts[0]
    assert all(s[0] == ". .venv/bin/activate" and "pip install" not in "".join(s) for s in scripts[1:5])
    # every other system starts each Python job on a fresh machine: set up, then run
    assert gl["validate"]["script"][:3] == ["python3 -m venv .venv", ". .venv/bin/activate",
                                            "python -m pip install -r requirements.txt"]
    assert gl["deploy-production"]["interruptible"] is False
    assert gl["smoke-test"]["image"] == {"name": "curlimages/curl:8.10.1", "entrypoint": [""]}


def test_secrets_use_each_systems_own_mechanism(built: Path, jenkins_tree: list) -> None:
    gl = load(built, "gitlab")
    assert gl["push"]["variables"] == {"DOCKER_HOST": "tcp://docker:2375", "DOCKER_TLS_CERTDIR": "",
                                       "REGISTRY_USER": "$REGISTRY_CREDENTIALS_USER",
                                       "REGISTRY_PASSWORD": "$REGISTRY_CREDENTIALS_PASSWORD"}
    assert gl["deploy-staging"]["variables"] == {"KUBECONFIG": "$KUBECONFIG_STAGING"}
    gh = load(built, "github")["jobs"]
    assert gh["push"]["env"]["REGISTRY_PASSWORD"] == "${{ secrets.REGISTRY_CREDENTIALS_PASSWORD }}"
    assert gh["deploy-production"]["env"] == {"KUBECONFIG_DATA": "${{ secrets.KUBECONFIG_PRODUCTION }}"}
    workflow = load(built, "circleci")["workflows"]["quickstart"]["jobs"]
    contexts = {k: v.get("context") for e in workflow if isinstance(e, dict) for k, v in e.items()}
    assert contexts["push"] == ["registry-credentials"] and contexts["deploy-staging"] == ["kubeconfig-staging"]
    creds = [(c[0], c[1]) for n in find(jenkins_tree, "withCredentials") for c in n[2] if c[0] != "sh"]
    assert creds == [("usernamePassword", ["credentialsId", "usernameVariable", "passwordVariable"]),
                     ("file", ["credentialsId", "variable"]), ("file", ["credentialsId", "variable"])]
    for path in FILES.values():
        assert "password-stdin" in (built / path).read_text()


@pytest.mark.tools
def test_shellcheck_accepts_every_job_script(built: Path, jenkins_tree: list, tmp_path: Path) -> None:
    # GitLab (docker executor) and Jenkins run POSIX sh; CircleCI and the workflow's steps run bash
    dialects = {"gitlab": "sh", "jenkins": "sh", "circleci": "bash", "github": "bash"}
    files: dict[str, list[str]] = {"sh": [], "bash": []}
    for system, scripts in job_scripts(built, jenkins_tree).items():
        assert scripts, system
        for job, script in scripts.items():
            path = tmp_path / f"{system}-{job}.sh"
            path.write_text(script + "\n")
            files[dialects[system]].append(str(path))
    for dialect, paths in files.items():
        # SC1091: the venv's activate script does not exist until the job runs
        proc = subprocess.run(["shellcheck", "-s", dialect, "-e", "SC1091", *paths], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_mlready_command_line_is_a_valid_invocation(built: Path, jenkins_tree: list) -> None:
    seen = {}
    for system, lines in shell_lines(built, jenkins_tree).items():
        commands = [shlex.split(ln) for ln in lines if ln.startswith("mlready ")]
        assert len(commands) == 5, (system, commands)  # validate, build, image, deploy staging + production
        for argv in commands:
            name, args = argv[1], argv[2:]
            ctx = cli.make_context("mlready", [name, *args], resilient_parsing=False)
            command = cli.get_command(ctx, name)
            assert command is not None, f"{system}: 'mlready {name}' is not a command of the current CLI"
            try:
                command.make_context(name, list(args))
            except click.ClickException as exc:  # pragma: no cover - the failure message is the point
                pytest.fail(f"{system}: {shlex.join(argv)}: {exc.format_message()}")
            seen.setdefault(system, []).append(shlex.join(argv))
    # the build's own overrides, minus the ci group and env (each deploy job applies its env's overlay)
    same = ("'+target=[docker,k8s]' target.docker.registry=registry.example.com/ml target.docker.wheelhouse=false "
            "+monitoring=grafana model.opset=15")
    for lines in seen.values():
        assert lines == [f"mlready validate {same}", f"mlready build {same}", f"mlready image {same}",
                         "mlready deploy --env staging", "mlready deploy --env prod"]
    assert len(set(map(tuple, seen.values()))) == 1, "every system runs the same mlready commands"
