"""Bad CI input is a spec error naming the key: an unknown CI system, a stage name the target system rejects,
an unknown stage, two stages with one name."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlready.engine import api
from mlready.engine.errors import SpecError

from .conftest import TARGETS, copy_project


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("spec-errors") / "project")


def problems(project: Path, overrides: list[str]) -> list[str]:
    with pytest.raises(SpecError) as err:
        api.validate(project, overrides)
    return [str(p) for p in err.value.problems]


def test_an_unknown_ci_system_lists_the_known_ones(project: Path) -> None:
    assert problems(project, ["+ci=travis"]) == [
        "override '+ci=travis' ci: unknown option 'travis'; available: circleci, github, gitlab, jenkins"]


@pytest.mark.parametrize(("system", "name", "message"), [
    ("gitlab", "image", "'image' is a reserved GitLab keyword and cannot name a job"),
    ("gitlab", ".hidden", "'.hidden' is not a valid GitLab job name (1-255 characters, not starting with '.', "
                          "no control characters)"),
    ("circleci", "9lives", "'9lives' is not a valid CircleCI job name (a letter, then letters, digits, spaces, "
                           "'_' or '-')"),
    ("github", "build image", "'build image' is not a valid GitHub Actions job id (a letter or '_', then "
                              "letters, digits, '_' or '-')"),
    ("jenkins", " ", "' ' is not a valid Jenkins stage name (not blank, no control characters)"),
])
def test_a_stage_name_the_system_rejects(project: Path, system: str, name: str, message: str) -> None:
    assert problems(project, [f"+ci={system}", *TARGETS, f"+ci.{system}.stages.build='{name}'"]) == [
        f"deploy.yaml ci.{system}.stages.build: {message}"]


def test_a_name_valid_elsewhere_is_checked_for_each_system(project: Path) -> None:
    # 'Build image' is fine for Jenkins and CircleCI, not as a GitHub job id
    assert problems(project, ["+ci=[jenkins,circleci,github]", *TARGETS, "+ci.jenkins.stages.build='Build image'",
                              "+ci.circleci.stages.build='Build image'", "+ci.github.stages.build='Build image'"]) == [
        "deploy.yaml ci.github.stages.build: 'Build image' is not a valid GitHub Actions job id (a letter or '_', "
        "then letters, digits, '_' or '-')"]


def test_an_unknown_stage_and_a_duplicate_name(project: Path) -> None:
    unknown = problems(project, ["+ci=gitlab", *TARGETS, "+ci.gitlab.stages.lint=lint"])
    assert len(unknown) == 1 and unknown[0].endswith(
        "ci.gitlab.stages: unknown stage(s) ['lint']; the stages are: install, train, unit-tests, validate, build, "
        "image-build, push, deploy-staging, smoke-test, approve-production, deploy-production")
    assert problems(project, ["+ci=gitlab", *TARGETS, "+ci.gitlab.stages.push=build"]) == [
        "deploy.yaml ci.gitlab.stages.push: 'build' also names stage 'build'"]


def test_secret_names_are_checked(project: Path) -> None:
    found = problems(project, ["+ci=gitlab", *TARGETS, "ci.gitlab.credentials.registry='a b'"])
    assert found == ["override 'ci.gitlab.credentials.registry='a b'' ci.gitlab.credentials.registry: "
                     "'a b' is not a secret name (letters, digits, '_', '.', '-')"]


def test_the_targets_the_pipeline_runs_must_be_on(project: Path) -> None:
    assert problems(project, ["+ci=[jenkins,gitlab]", "+target=k8s"]) == [
        "deploy.yaml target.docker.enabled: the CI pipeline runs `mlready image`, which needs the docker target: "
        "add +target=docker to the command line, or set target.docker.enabled: true in deploy.yaml"]
    assert problems(project, ["+ci=github", "+target=[docker,k8s]"]) == [
        "deploy.yaml target.docker.registry: the CI pipeline pushes the image where the Kubernetes bundle pulls "
        "it from: set the registry (e.g. registry.example.com/team)"]


def test_a_url_with_credentials_is_refused(project: Path) -> None:
    assert problems(project, ["+ci=github", *TARGETS, "ci.github.staging.url=https://bot:s3cret@staging.example.com"]) == [
        "override 'ci.github.staging.url=https://bot:s3cret@staging.example.com' ci.github.staging.url: the URL "
        "carries credentials: keep them in the CI system's secret store"]


def test_ci_overrides_drop_the_ci_group_and_the_env_choice_only() -> None:
    from mlready.generators.ci.pipeline import ci_overrides

    assert ci_overrides(["+ci=[gitlab,jenkins]", "ci.gitlab.branch=trunk", "+ci.gitlab.stages.build=b", "env=prod",
                         "env.namespace=ml", "+target=k8s", "serving.replicas=3", "~tracking"]) == [
        "env.namespace=ml", "+target=k8s", "serving.replicas=3", "~tracking"]
