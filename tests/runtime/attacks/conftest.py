"""Fixtures for the attack suite: a fresh server per test (an attack may leave a server damaged) and the
honest gRPC request the prober sends. The harness itself is tests/support/prober.py."""

from __future__ import annotations

import pytest

from tests.support.prober import honest_request


@pytest.fixture
def honest(model_repo, breast_cancer_X) -> bytes:
    """One row for the ``quickstart`` model (logistic regression on 30 features) as a serialized request."""
    import json

    signature = json.loads((model_repo / "quickstart" / "1" / "metadata.json").read_text())
    return honest_request("quickstart", signature["inputs"][0]["name"], breast_cancer_X[:1])


@pytest.fixture
def target(launch, model_repo):
    """A fresh server on the model repository (stopped at teardown)."""
    return launch(model_repo)
