"""Auth bypass by configuration (issue 20 item 9): configured routes never take over another route, and every
gRPC call needs the token exactly where its REST equivalent does."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from mlready.runtime.config import ConfigError, RuntimeConfig


def config(**cloud) -> RuntimeConfig:
    return RuntimeConfig.from_dict({"model_repository": "/models", "cloud": cloud})


@pytest.mark.parametrize(("route", "message"), [
    ("/", "cloud.azure_route: route '/' is already a built-in route"),
    ("/v2/health/ready", "already a built-in route"),
    ("/metrics/", "already a built-in route"),  # the router ignores a trailing slash
    ("/invocations", "the SageMaker routes"),
    ("/v2/models/quickstart/infer", "would shadow the model routes"),
    ("/v1/models/quickstart:predict", "would shadow the model routes"),
])
def test_azure_route_colliding_with_another_route_is_a_config_error(route, message):
    with pytest.raises(ConfigError, match="routes must differ|shadow") as err:
        config(azure_route=route)
    assert message in str(err.value)


def test_sagemaker_routes_are_free_when_sagemaker_is_off():
    assert config(sagemaker=False, azure_route="/invocations").cloud.azure_route == "/invocations"


@pytest.mark.parametrize(("env", "message"), [
    ({"AIP_HEALTH_ROUTE": "/predict", "AIP_PREDICT_ROUTE": "/predict"},
     "AIP_PREDICT_ROUTE: route '/predict' is already taken by AIP_HEALTH_ROUTE"),
    ({"AIP_HEALTH_ROUTE": "/score", "AIP_PREDICT_ROUTE": "/predict"},
     "AIP_HEALTH_ROUTE: route '/score' is already taken by cloud.azure_route"),
    ({"AIP_PREDICT_ROUTE": "/score"}, "AIP_PREDICT_ROUTE: route '/score' is already taken by cloud.azure_route"),
    ({"AIP_PREDICT_ROUTE": "/v2/health/live"}, "AIP_PREDICT_ROUTE: route '/v2/health/live' is already a built-in"),
    ({"AIP_PREDICT_ROUTE": "/"}, "already a built-in route"),
    ({"AIP_PREDICT_ROUTE": "/ping"}, "the SageMaker routes"),
    ({"AIP_PREDICT_ROUTE": "predict"}, "must start with '/'"),
])
def test_vertex_routes_colliding_are_refused(env, message):
    with pytest.raises(ConfigError) as err:
        config().vertex_routes(env)
    assert message in str(err.value)


def test_vertex_routes_that_are_fine():
    assert config().vertex_routes({"AIP_HEALTH_ROUTE": "/v2/health/ready", "AIP_PREDICT_ROUTE": "/predict"}) == (
        "/v2/health/ready", "/predict")  # the generator's default: the built-in readiness check
    assert config().vertex_routes({"AIP_HEALTH_ROUTE": "/h", "AIP_PREDICT_ROUTE": "/p"}) == ("/h", "/p")
    assert config(vertex=False).vertex_routes({"AIP_PREDICT_ROUTE": "/score"}) == (None, None)


@pytest.mark.server
def test_server_refuses_to_start_on_colliding_vertex_routes(tmp_path, model_repo):
    import json

    cfg = tmp_path / "runtime.json"
    cfg.write_text(json.dumps({"model_repository": str(model_repo), "host": "127.0.0.1", "http_port": 0,
                               "grpc_port": None, "auth": {"token_env": "TOKEN"}}))
    env = {"AIP_HEALTH_ROUTE": "/vertex", "AIP_PREDICT_ROUTE": "/vertex", "TOKEN": "s3cret", "PATH": ""}
    proc = subprocess.run([sys.executable, "-m", "mlready.runtime", "--config", str(cfg)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "AIP_PREDICT_ROUTE: route '/vertex' is already taken by AIP_HEALTH_ROUTE" in proc.stderr


@pytest.mark.slow
def test_build_refuses_colliding_vertex_routes():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "mlready.engine", "validate", "-C", str(root / "examples/quickstart"),
           "+target=vertex", "target.vertex.predict_route=/v2/health/ready"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "target.vertex.predict_route: route '/v2/health/ready' is already a built-in route" in proc.stderr
    proc = subprocess.run([*cmd[:-1], "target.vertex.health_route=/score"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2 and "target.vertex.health_route: route '/score' is already taken by " \
        "cloud.azure_route" in proc.stderr, proc.stderr


@pytest.mark.server
def test_grpc_needs_the_token_where_rest_does(launch, model_repo):
    import grpc
    import tritonclient.grpc as tg
    from tritonclient.utils import InferenceServerException

    srv = launch(model_repo, auth={"token_env": "MLREADY_TEST_TOKEN"}, env={"MLREADY_TEST_TOKEN": "s3cret"})
    client = tg.InferenceServerClient(srv.grpc)
    good = {"authorization": "Bearer s3cret"}
    # open, like /v2/health/live and /v2/health/ready
    assert client.is_server_live() and client.is_server_ready()
    assert httpx.get(srv.url + "/v2/health/ready").status_code == 200
    # closed, like GET /v2/models/{m}/ready and GET /v2
    assert httpx.get(srv.url + "/v2/models/quickstart/ready").status_code == 401
    assert httpx.get(srv.url + "/v2").status_code == 401
    for call in (lambda h: client.is_model_ready("quickstart", headers=h),
                 lambda h: client.get_server_metadata(headers=h),
                 lambda h: client.get_model_metadata("quickstart", headers=h)):
        with pytest.raises(InferenceServerException) as err:
            call(None)
        assert err.value.status() == str(grpc.StatusCode.UNAUTHENTICATED), err.value
        assert call(good)


def test_a_predict_path_routed_before_still_checks_token_and_method(launch, model_repo):
    """The router remembers the paths that reached a TF Serving :predict; a remembered path is still refused
    without the token, with a wrong one, and with another method, and still answers 404 for what is not
    there."""
    srv = launch(model_repo, auth={"token_env": "MLREADY_TEST_TOKEN"}, env={"MLREADY_TEST_TOKEN": "s3cret"})
    good = {"authorization": "Bearer s3cret"}
    path = srv.url + "/v1/models/half_plus_two:predict"
    body = {"instances": [1.0, 2.0]}
    for _ in range(2):  # routed, then remembered
        assert httpx.post(path, json=body, headers=good).json() == {"predictions": [2.5, 3.0]}
        assert httpx.post(path, json=body).status_code == 401
        assert httpx.post(path, json=body, headers={"authorization": "Bearer s3cre"}).status_code == 401
        assert httpx.post(path, json=body, headers={"authorization": "bearer s3cret"}).status_code == 200
        assert httpx.get(path, headers=good).status_code == 405
        assert httpx.request("HEAD", path, headers=good).status_code == 405
        assert httpx.post(path + "/", json=body, headers=good).status_code == 200
        versioned = srv.url + "/v1/models/half_plus_two/versions/1:predict"
        assert httpx.post(versioned, json=body, headers=good).json() == {"predictions": [2.5, 3.0]}
        assert httpx.post(versioned.replace("/1:", "/9:"), json=body, headers=good).status_code == 404
        assert httpx.post(srv.url + "/v1/models/nothing:predict", json=body, headers=good).status_code == 404
