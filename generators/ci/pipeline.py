"""Build the one pipeline model from the spec: install → train → unit tests → validate → build → image (build +
scan) → push → deploy to staging → smoke test → manual approval → deploy to production.

What to install, whether there is a train job (the model and data a fresh clone lacks) and a unit-test job come
from what the project really has (:mod:`.project`).

The ``mlready`` command lines use the build's own overrides (``spec.overrides``) minus those that make no sense
in CI: the ``ci`` group itself (the pipeline does not regenerate its own definition) and ``env`` (the bundle
has an overlay per environment: each deploy job applies its own with ``mlready deploy --env``, from the build
job's build dir). The image is pushed exactly as scanned, under the name the Kubernetes bundle pulls.
"""

from __future__ import annotations

import hashlib
import shlex

from mlready.generators._shared.facts import image_ref
from mlready.generators.ci.model import Cache, Environment, Job, Pipeline, Secret
from mlready.generators.ci.project import ProjectPlan
from mlready.generators.ci.spec import PipelineSpec

#: where jobs keep what later jobs and people need
BUILD_DIR = "build"
REPORTS_DIR = "reports"
DIST_DIR = "dist"
VENV = ".venv"
TRIVY_IMAGE = "aquasec/trivy:0.57.1"
ENV_NAMES = {"staging": "staging", "production": "prod"}  # CI environment -> mlready env group option
VARIABLES = (("PIP_DISABLE_PIP_VERSION_CHECK", "1"),)  # every job's plain environment


def _override_key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0]


def ci_overrides(overrides: list[str]) -> list[str]:
    """The build's overrides minus the ones that make no sense in a CI job (see module doc)."""
    out = []
    for o in overrides:
        key = _override_key(o)
        if key == "ci" or key.startswith("ci.") or key == "env":  # env.* values (a namespace) are kept
            continue
        out.append(o)
    return out


def mlready(command: str, overrides: list[str], *extra: str) -> str:
    return shlex.join(["mlready", command, *overrides, *extra])


def target(spec, name: str):
    """A target's section (``target.docker``, ``target.k8s``), or None when that generator is not installed."""
    return spec.optional_section(f"target.{name}")


def docker_registry(spec) -> str:
    docker = target(spec, "docker")
    return (getattr(docker, "registry", None) or "") if docker is not None else ""


def image_name(spec) -> str:
    """The tag ``mlready image`` gives the image and the k8s bundle pulls: ``registry/name:version``."""
    if target(spec, "docker") is None:  # not installed: target_problems reports it
        return f"{spec.project.name}:{spec.project.version}"
    repo, tag = image_ref(spec)
    return f"{repo}:{tag}"


def target_problems(spec, section: str) -> list[tuple[str, str]]:
    """(key, message) for the targets the pipeline's commands need but the spec does not enable (reported
    once, by the first enabled CI system)."""
    ci = spec.section("ci")
    enabled = sorted(name for name in type(ci).model_fields if getattr(getattr(ci, name), "enabled", False))
    if not enabled or section != f"ci.{enabled[0]}":
        return []
    out = []
    for name, command in (("docker", "mlready image"), ("k8s", "mlready deploy")):
        cfg = target(spec, name)
        if cfg is None or not getattr(cfg, "enabled", False):
            out.append((f"target.{name}.enabled", f"the CI pipeline runs `{command}`, which needs the "
                        f"{name} target: add +target={name} to the command line, or set target.{name}.enabled: true in "
                        "deploy.yaml"))
        elif name == "docker" and not docker_registry(spec):
            out.append(("target.docker.registry", "the CI pipeline pushes the image where the Kubernetes "
                        "bundle pulls it from: set the registry (e.g. registry.example.com/team)"))
    return out


def python_setup(cfg: PipelineSpec, project: ProjectPlan) -> tuple[Cache, tuple[str, ...], tuple[str, ...]]:
    """(the dependency cache, the setup of a Python job on a fresh machine, the command entering its venv)."""
    # the install commands are part of the cache key: installing mlready from elsewhere is a new environment
    installs = hashlib.sha256("\n".join(project.install).encode()).hexdigest()[:8]
    cache = Cache(key_files=project.lock_files, paths=(VENV,), prefix=f"venv-py{cfg.python}-{installs}")
    activate = (f". {VENV}/bin/activate",)
    return cache, (f"python3 -m venv {VENV}", *activate, *project.install), activate


def build_pipeline(spec, cfg: PipelineSpec, project: ProjectPlan) -> Pipeline:
    ov = ci_overrides(list(spec.overrides))
    image = image_name(spec)
    tar = f"{DIST_DIR}/image.tar"
    # trivy runs as a container on the same docker daemon (dind service, remote docker, the runner's own)
    scan = (
        f"docker run --rm -v /var/run/docker.sock:/var/run/docker.sock {TRIVY_IMAGE} image --no-progress "
        f"--exit-code 1 --severity {cfg.scan_severity} {image}"
    )
    cache, setup, activate = python_setup(cfg, project)

    def job(stage: str, steps: tuple[str, ...], **kw) -> Job:
        if kw.get("python", True):
            kw["setup"] = setup
        return Job(id=stage, name=cfg.stage_name(stage), steps=steps, **kw)

    def env(name: str) -> Environment:
        e = getattr(cfg, name)
        return Environment(name=name, url=e.url, url_variable=e.url_variable)

    def url(name: str) -> str:
        e = getattr(cfg, name)
        return shlex.quote(e.url) if e.url else f'"${e.url_variable}"'

    registry = Secret("REGISTRY", cfg.credentials.registry, "userpass")
    kube = {
        "staging": Secret("KUBECONFIG", cfg.credentials.kubeconfig_staging, "file"),
        "production": Secret("KUBECONFIG", cfg.credentials.kubeconfig_production, "file"),
    }

    def deploy(name: str, needs: tuple[str, ...]) -> Job:
        return job(
            f"deploy-{name}",
            (shlex.join(["mlready", "deploy", "--env", ENV_NAMES[name]]),),
            needs=needs, cache=cache, secrets=(kube[name],), environment=env(name), branch_only=True,
        )

    train = ("train",) if project.produce else ()
    tests = ("unit-tests",) if project.tests else ()
    jobs = (
        job("install", ("python -m pip check",), cache=cache),
        *((job("train", project.produce, needs=("install",), cache=cache, files=project.produced),) if train else ()),
        *((job(
            "unit-tests",
            (f"python -m pytest --junitxml={REPORTS_DIR}/junit.xml {shlex.quote(project.tests)}",),
            needs=("install",), cache=cache, artifacts=(REPORTS_DIR,), junit=(f"{REPORTS_DIR}/junit.xml",),
        ),) if tests else ()),
        job("validate", (mlready("validate", ov),), needs=("install", *train), cache=cache),
        job(
            "build", (mlready("build", ov),),
            needs=(*tests, "validate", *train), cache=cache, artifacts=(BUILD_DIR,),
        ),
        job(
            "image-build",
            (mlready("image", ov), *(scan,) * cfg.scan, f"mkdir -p {DIST_DIR}", f"docker save {image} -o {tar}"),
            needs=("build", *train), cache=cache, docker=True, artifacts=(DIST_DIR,),
        ),
        job(
            "push",
            (
                f"docker load -i {tar}",
                'printf \'%s\' "$REGISTRY_PASSWORD" | docker login --username "$REGISTRY_USER" '
                f"--password-stdin {image.split('/')[0]}",
                f"docker push {image}",
            ),
            needs=("image-build",), python=False, docker=True, secrets=(registry,), branch_only=True,
        ),
        deploy("staging", ("push", "build")),
        job(
            "smoke-test",
            (
                f"curl --fail --silent --show-error --retry 10 --retry-delay 6 --retry-all-errors "
                f"{url('staging')}/v2/health/ready",
                f"curl --fail --silent --show-error {url('staging')}/v2/models/{spec.model_name}",
            ),
            needs=("deploy-staging",), python=False, environment=env("staging"), branch_only=True,
        ),
        job(
            "approve-production", ('echo "deploy to production approved"',),
            needs=("smoke-test",), python=False, manual=True, branch_only=True,
        ),
        deploy("production", ("approve-production", "build")),
    )
    return Pipeline(name=spec.project.name, python=cfg.python, jobs=jobs, variables=VARIABLES, branch=cfg.branch,
                    activate=activate, notes=project.notes)
