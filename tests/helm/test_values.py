"""Bad values are refused by Helm itself (the chart's values.schema.json, generated from the spec's models),
naming the key; literal text in the chart never runs as a template; values cannot inject YAML."""

from __future__ import annotations

import json

import helm_python as helm
import pytest
import yaml
from mlready.generators.helm.holes import Hole, template

from tests.helm.helpers import chart_dir, objects, render, values_file

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def chart(charts):
    return chart_dir(charts.build(targets="[k8s,helm]"))


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"resources": {"cpu": "2 cores"}}, "at '/resources/cpu': '2 cores' does not match pattern"),
        ({"resources": {"memory_limit": "1GB"}}, "at '/resources/memory_limit': '1GB' does not match pattern"),
        ({"resources": {"cpu_limt": "1"}}, "additional properties 'cpu_limt' not allowed"),
        ({"replicaz": 3}, "additional properties 'replicaz' not allowed"),
        ({"replicas": -1}, "at '/replicas'"),
        ({"autoscaling": {"max_replicas": 0}}, "at '/autoscaling/max_replicas': minimum: got 0, want 1"),
        ({"autoscaling": {"cpu_utilization": 150}}, "at '/autoscaling/cpu_utilization': maximum: got 150, want 100"),
        ({"environment": "qa"}, "at '/environment'"),
        ({"image": {"digest": "sha256:xyz"}}, "at '/image/digest': 'sha256:xyz' does not match pattern"),
        ({"image": {"tag": "a b"}}, "at '/image/tag': 'a b' does not match pattern"),
        ({"image": {"repository": "Bad Repo"}}, "at '/image/repository': 'Bad Repo' does not match pattern"),
        ({"resources": {"cpu_limit_off_reason": "x" * 41}}, "at '/resources/cpu_limit_off_reason'"),
    ],
)
def test_values_breaking_the_schema_are_refused_naming_the_key(chart, values, expected):
    with pytest.raises(helm.HelmValuesError) as info:
        render(chart, values, "ns")
    assert expected in str(info.value)
    with helm.Chart.load(chart) as c:  # the same check `helm lint` and `helm install` run
        with pytest.raises(helm.HelmValuesError):
            c.validate_schema(values)


def test_every_values_file_passes_the_schema(chart):
    with helm.Chart.load(chart) as c:
        for env in ("dev", "staging", "prod"):
            c.validate_schema(values_file(chart, env))
    schema = json.loads((chart / "values.schema.json").read_text())
    assert schema["additionalProperties"] is False
    assert schema["$defs"]["ResourcesSpec"]["additionalProperties"] is False


def test_autoscaling_minimum_above_maximum_fails_the_render(chart):
    with pytest.raises(helm.HelmRenderError) as info:
        render(chart, {"autoscaling": {"enabled": True, "min_replicas": 6, "max_replicas": 4}}, "ns")
    assert "autoscaling.min_replicas (6) is above autoscaling.max_replicas (4)" in str(info.value)


def test_no_cpu_limit_drops_the_limit_and_records_the_reason(chart):
    docs = objects(render(chart, {"resources": {"cpu_limit": None, "cpu_limit_off_reason": "latency"}}, "ns"))
    (dep,) = [d for d in docs if d["kind"] == "Deployment"]
    assert "cpu" not in dep["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert dep["metadata"]["annotations"]["checkov.io/skip2"] == "CKV_K8S_11=latency"


def test_literal_braces_stay_text_and_values_cannot_inject_yaml(tmp_path):
    """A '{{' in the data is printed, not run (a fail action in a label would abort the install); a value
    holding a newline and a key stays one string."""
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": Hole(".Release.Namespace")},
           "data": {"alert": '{{ fail "ran" }} {{ $value }}', "note": Hole(".Values.note"),
                    "maybe": Hole(".Values.note", when=".Values.on")}}
    (tmp_path / "templates").mkdir(parents=True)
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: t\nversion: 1.0.0\n")
    (tmp_path / "values.yaml").write_text("note: x\non: false\n")
    (tmp_path / "templates/cm.yaml").write_text(template(doc, "# header {{ not an action\n"))
    evil = "a\nkind: Secret\nstringData: {k: v}"
    for on in (False, True):
        (cm,) = objects(render(tmp_path, {"note": evil, "on": on}, "ns"))
        assert cm["kind"] == "ConfigMap" and cm["metadata"]["namespace"] == "ns"
        assert cm["data"]["alert"] == '{{ fail "ran" }} {{ $value }}'
        assert cm["data"]["note"] == evil
        assert ("maybe" in cm["data"]) is on
    assert yaml.safe_load(template({"a": 1}, "")) == {"a": 1}


def test_a_builder_computing_with_a_chart_value_is_refused():
    """The k8s builders may convert a value (int(float(x)), str(x)) but not compute with it: the result
    would otherwise reach the chart as a meaningless constant."""
    from mlready.generators._shared.k8s_spec import AutoscalingSpec
    from mlready.generators.helm.sentinels import templated

    def section(v):
        return v.section(AutoscalingSpec, ".Values.autoscaling")

    filled = templated(lambda v: {"min": int(float(section(v).min_replicas)), "max": str(section(v).max_replicas),
                                  "on": section(v).enabled, "fixed": 60})
    assert filled == {"min": Hole(".Values.autoscaling.min_replicas"),
                      "max": Hole(".Values.autoscaling.max_replicas"), "on": False, "fixed": 60}
    with pytest.raises(ValueError, match="twice: a k8s builder computed"):
        templated(lambda v: {"twice": section(v).max_replicas * 2})
    with pytest.raises(ValueError, match="text: a k8s builder computed"):
        templated(lambda v: {"text": f"up to {section(v).max_replicas} pods"})
    with pytest.raises(ValueError, match="cannot open a list item"):
        template({"items": [{"a": Hole(".Values.a", when=".Values.on")}]}, "")


def test_canary_track_replicas_accept_only_the_charts_tracks(charts):
    chart = chart_dir(charts.build("target.k8s.rollout.strategy=canary", "target.k8s.rollout.canary.stable_version=0.9.0",
                                   targets="[k8s,helm]"))
    with pytest.raises(helm.HelmValuesError) as info:
        render(chart, {"track_replicas": {"blue": 1}}, "ns")
    assert "at '/track_replicas': additional properties 'blue' not allowed" in str(info.value)
    with pytest.raises(helm.HelmValuesError) as info:
        render(chart, {"track_replicas": {"canary": -1}}, "ns")
    assert "/track_replicas/canary" in str(info.value)
