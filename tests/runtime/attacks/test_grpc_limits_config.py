"""The gRPC port's limits in RuntimeConfig: defaults, bounds, errors that name the field."""

from __future__ import annotations

import pytest
from mlready.runtime.config import ConfigError, GrpcLimitsConfig, RuntimeConfig


def test_defaults_round_trip():
    config = RuntimeConfig.from_dict({"model_repository": "/m"})
    assert config.grpc_limits == GrpcLimitsConfig()
    assert RuntimeConfig.from_dict(config.to_dict()).grpc_limits == config.grpc_limits


@pytest.mark.parametrize(("limits", "message"), [
    ({"max_connections": 0}, "grpc_limits.max_connections: expected 1..1000000, got 0"),
    ({"header_timeout_s": 0}, "grpc_limits.header_timeout_s: expected 0.1..3600 seconds, got 0.0"),
    ({"message_timeout_s": 1e9}, "grpc_limits.message_timeout_s: expected 0.1..3600 seconds"),
    ({"idle_timeout_s": -1}, "grpc_limits.idle_timeout_s: expected 0.1..86400 seconds"),
    ({"max_buffered_bytes": 1000}, "grpc_limits.max_buffered_bytes: must be at least max_body_bytes (16777216)"),
    ({"max_conections": 5}, "grpc_limits.max_conections: unknown field"),
    ({"max_connections": "5"}, "grpc_limits.max_connections: expected an integer, got '5'"),
])
def test_bad_limits_name_the_field(limits, message):
    with pytest.raises(ConfigError) as err:
        RuntimeConfig.from_dict({"model_repository": "/m", "grpc_limits": limits})
    assert message in str(err.value)
