"""``http_limits``: every bound is checked and the error names the field (issue 20 items 4-6)."""

from __future__ import annotations

import pytest
from mlready.runtime.config import ConfigError, RuntimeConfig


@pytest.mark.parametrize("limits, message", [
    ({"max_connections": 0}, "http_limits.max_connections: expected 1..1000000, got 0"),
    ({"max_header_bytes": 4096}, "http_limits.max_header_bytes: expected 8192..16777216, got 4096"),
    ({"max_headers": 101}, "http_limits.max_headers: expected 1..100, got 101"),
    ({"header_timeout_s": 61}, "http_limits.header_timeout_s: expected 0.1..60 seconds, got 61.0"),
    ({"body_timeout_s": 0}, "http_limits.body_timeout_s: expected 0.1..3600 seconds, got 0.0"),
    ({"decode_budget_bytes": 1024}, "http_limits.decode_budget_bytes: must be at least max_body_bytes (16777216)"),
    ({"offload_bytes": -1}, "http_limits.offload_bytes: expected an integer >= 0, got -1"),
    ({"decode_workers": -1}, "http_limits.decode_workers: expected 0..64, got -1"),
    ({"decode_workers": 65}, "http_limits.decode_workers: expected 0..64, got 65"),
    ({"max_pipelined": 4}, "http_limits.max_pipelined: unknown field"),
])
def test_http_limits_bounds(limits, message):
    with pytest.raises(ConfigError) as err:
        RuntimeConfig.from_dict({"model_repository": "/m", "http_limits": limits})
    assert message in str(err.value)


def test_http_limits_round_trip():
    config = RuntimeConfig.from_dict({"model_repository": "/m", "http_limits": {"max_headers": 20}})
    again = RuntimeConfig.from_dict(config.to_dict())
    assert again.http_limits == config.http_limits and again.http_limits.max_headers == 20
    assert config.http_limits.max_header_bytes == 65536  # the defaults documented in runtime/README.md
