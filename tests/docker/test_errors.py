"""Spec errors name the key; an unreachable engine says how to set DOCKER_HOST; label values are quoted."""

from __future__ import annotations

import pytest
from mlready.engine import api
from mlready.engine.actions import docker_engine as img
from mlready.engine.cli import main
from mlready.engine.errors import SpecError
from mlready.generators.docker.dockerfile import label, label_instruction

from tests.docker.conftest import DOCKER, copy_quickstart


@pytest.fixture
def qs(tmp_path):
    return copy_quickstart(tmp_path / "qs")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("target.docker.uid=1000", "target.docker.uid:"),
        ("target.docker.base_image='python 3.11'", "target.docker.base_image: 'python 3.11' is not an image reference"),
        ("target.docker.base_digest=sha256:abc", "target.docker.base_digest: 'sha256:abc' is not an image digest"),
        ("target.docker.index_url=https://u:secret@pypi.example/simple",
         "target.docker.index_url: put no credentials in index_url"),
        ("target.docker.prune=[../etc]", "target.docker.prune: '../etc': expected a relative path"),
        ("target.docker.gpu_onnxruntime=torch", "target.docker.gpu_onnxruntime: 'torch': expected an onnxruntime"),
        ("project.version=1.0+local", "project.version: '1.0+local' is not a valid image tag"),
    ],
)
def test_bad_values_are_spec_errors_naming_the_key(qs, override, expected):
    with pytest.raises(SpecError) as info:
        api.build(qs, [*DOCKER, override], run_hooks=False)
    assert any(expected in str(p) for p in info.value.problems), info.value.problems
    assert not (qs / "build").exists()


def test_label_values_are_quoted_and_cannot_inject_instructions():
    assert label('a "b" $HOME \\x') == '"a \\"b\\" \\$HOME \\\\x"'
    with pytest.raises(ValueError, match="control character"):
        label("x\nRUN rm -rf /")
    assert label_instruction({"a.b": "1", "empty": ""}) == 'LABEL a.b="1"'


def test_unreachable_engine_says_how_to_set_docker_host(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    with pytest.raises(img.EngineUnreachable) as info:
        img.connect()
    message = str(info.value)
    assert f"unix://{tmp_path}/nothing.sock" in message and "export DOCKER_HOST=" in message


@pytest.mark.slow
def test_cli_image_exit_code_and_message_when_engine_unreachable(monkeypatch, qs, tmp_path, capsys):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    assert main(["image", "-C", str(qs), "-q", *DOCKER]) == 2
    err = capsys.readouterr().err
    assert "cannot reach a container engine" in err and "DOCKER_HOST" in err


@pytest.mark.parametrize(("overrides", "expected"), [
    ([], "cpu"),
    (["optimize.providers.order=[tensorrt,cuda]"], "gpu"),
    (["optimize.providers.order=[openvino]"], "cpu"),
    (["optimize.providers.order=[cuda]", "target.docker.variant=cpu"], "cpu"),
])
def test_variant_auto_follows_the_optimize_providers(qs, overrides, expected):
    from mlready.generators.docker import variant

    assert variant(api.validate(qs, [*DOCKER, *overrides])) == expected


def test_a_base_image_that_cannot_be_pulled_names_the_local_alternative():
    """No access to docker.io (an air-gapped cluster, this machine): the failing FROM says what to set."""
    log = ["STEP 1/9: FROM python:3.11-slim-bookworm"]
    err = img._build_failed(log, "initializing source docker://python:3.11-slim-bookworm: pinging container "
                                 "registry registry-1.docker.io: dial tcp: lookup registry-1.docker.io: no such host")
    assert "target.docker.base_image=localhost/<image>:<tag>" in str(err)
    later = img._build_failed([*log, "STEP 2/9: RUN pip install x"], "exit status 1")
    assert "base_image" not in str(later)
