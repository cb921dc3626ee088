"""``+target=kserve`` alone runs the same pod checks as ``+target=k8s``: the InferenceService takes its
resources from ``target.k8s.environments``, so a request above its limit is a spec error naming the key,
raised before anything is written (it used to pass: validation skips disabled generators, and the k8s
generator's kserve branch was never reached)."""

from __future__ import annotations

import pytest

from tests.k8s.helpers import spec_problems as problems

REQUEST_OVER_LIMIT = "target.k8s.environments.staging.resources.memory=4Gi"
MESSAGE = "target.k8s.environments.staging.resources.memory: the request '4Gi' exceeds the limit '1Gi'"


@pytest.mark.parametrize("targets", ["+target=kserve", "+target=[k8s,kserve]", "+target=k8s"])
def test_request_above_limit_is_reported_once_for_every_target_combination(qs, targets):
    found = problems(qs, targets, REQUEST_OVER_LIMIT)
    assert sum(MESSAGE in p for p in found) == 1, found


def test_kserve_alone_does_not_need_the_k8s_canary_stable_version(qs):
    """The replica-weighted canary's stable_version is a k8s-bundle need; KServe splits by revision."""
    found = problems(qs, "+target=kserve", "target.kserve.mode=standard", "target.k8s.rollout.strategy=canary")
    assert not any("stable_version" in p for p in found), found
    assert any("target.kserve.mode: canaryTrafficPercent needs mode 'knative'" in p for p in found), found
