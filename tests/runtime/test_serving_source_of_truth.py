"""The build side's ``serving`` section and the runtime's ``RuntimeConfig`` describe the same knobs: one source
of truth (the runtime's). Field by field: every runtime knob is settable from deploy.yaml, defaults agree, and
every bound the build side declares is one the runtime enforces at the same value (the runtime checks the
rest itself when the spec is validated, with errors naming ``serving.<key>``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from mlready.engine import api
from mlready.engine.errors import SpecError
from mlready.generators.runtime import (
    AuthSpec,
    BatchingSpec,
    CaptureSpec,
    CloudSpec,
    FeedbackSpec,
    GrpcLimitsSpec,
    HttpLimitsSpec,
    ServingSpec,
    ThreadsSpec,
    VersionPolicySpec,
    runtime_config,
)
from mlready.runtime.config import (
    AuthConfig,
    BatchingConfig,
    CaptureConfig,
    CloudConfig,
    ConfigError,
    FeedbackConfig,
    GrpcLimitsConfig,
    HttpLimitsConfig,
    ModelConfig,
    RuntimeConfig,
    ThreadConfig,
    VersionPolicy,
)

from tests.k8s.helpers import copy_quickstart

#: runtime fields the build derives instead of reading from the serving section
DERIVED = {"models": "one entry, the served model (serving's per-model knobs fill it)",
           "default_model": "a build serves one model: no default for others",
           "providers": "from the optimize step's model/providers.json"}
#: the serving section's build-only knobs (the runtime never sees them)
BUILD_ONLY = {"replicas", "autoscaling"}  # autoscaling: the signal the k8s bundle scales on
#: where the build deliberately differs from the runtime's defaults, and why
BUILD_DEFAULTS = {("serving", "metrics_port"): "an image publishes metrics on their own port (runtime: on http)",
                  ("serving", "drift"): "a switch on the build side (true); the runtime's models.<name>.drift is the "
                                        "training reference the build derives from the data (none by default)"}
#: serving-level fields that fill ``models.<name>``
PER_MODEL = ("version_policy", "labels", "batching", "warmup", "drift")

PAIRS = [(ThreadsSpec, ThreadConfig, "threads"), (BatchingSpec, BatchingConfig, "batching"),
         (VersionPolicySpec, VersionPolicy, "version_policy"), (AuthSpec, AuthConfig, "auth"),
         (CloudSpec, CloudConfig, "cloud"), (GrpcLimitsSpec, GrpcLimitsConfig, "grpc_limits"),
         (HttpLimitsSpec, HttpLimitsConfig, "http_limits"), (CaptureSpec, CaptureConfig, "capture"),
         (FeedbackSpec, FeedbackConfig, "feedback")]


NO_DEFAULT = object()  # a runtime field the config file must give (model_repository): the build supplies it


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return NO_DEFAULT


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="python")
    return list(value) if isinstance(value, tuple) else value


def test_every_runtime_knob_is_a_serving_key():
    runtime = {f.name for f in dataclasses.fields(RuntimeConfig)} - set(DERIVED)
    per_model = {f.name for f in dataclasses.fields(ModelConfig)}
    serving = set(ServingSpec.model_fields) - BUILD_ONLY
    assert per_model == set(PER_MODEL)
    assert serving == runtime | per_model, (sorted(runtime | per_model - serving), sorted(serving - runtime))
    for spec, config, where in PAIRS:
        assert set(spec.model_fields) == {f.name for f in dataclasses.fields(config)}, where


def _top_defaults() -> list[tuple[str, str, Any, Any]]:
    fields = {f.name: f for f in [*dataclasses.fields(RuntimeConfig), *dataclasses.fields(ModelConfig)]}
    nested = {where for *_, where in PAIRS}  # compared field by field below
    out = []
    for name, info in ServingSpec.model_fields.items():
        if name in BUILD_ONLY or name in nested:
            continue
        out.append(("serving", name, info.get_default(call_default_factory=True), _default(fields[name])))
    for spec, config, where in PAIRS:
        for f in dataclasses.fields(config):
            out.append((where, f.name, spec.model_fields[f.name].get_default(call_default_factory=True), _default(f)))
    return out


@pytest.mark.parametrize(("where", "name", "build", "runtime"), _top_defaults(),
                         ids=[f"{w}.{n}" for w, n, *_ in _top_defaults()])
def test_defaults_agree(where, name, build, runtime):
    if runtime is NO_DEFAULT:
        assert build, f"{where}.{name}: the runtime needs a value; the build side must default it"
        return
    if (where, name) in BUILD_DEFAULTS:
        assert _plain(build) != _plain(runtime), f"{where}.{name}: listed as differing, but now agrees: unlist it"
        return
    assert _plain(build) == _plain(runtime), f"{where}.{name}: build default {build!r}, runtime {runtime!r}"


def _bounds() -> list[tuple[str, str, str, float]]:
    """Every ge/le/gt/lt the build side declares, as (section, field, op, value)."""
    sections = [("serving", ServingSpec)] + [(where, spec) for spec, _, where in PAIRS]
    out = []
    for where, model in sections:
        for name, info in model.model_fields.items():
            if where == "serving" and name in BUILD_ONLY:
                continue
            for meta in info.metadata:
                for op in ("ge", "le", "gt", "lt"):
                    if getattr(meta, op, None) is not None:
                        out.append((where, name, op, getattr(meta, op)))
    return out


def _config_with(where: str, name: str, value: Any) -> dict[str, Any]:
    """A runtime-config document from the default serving section with one value replaced."""
    doc = runtime_config(ServingSpec(), "m")
    if where == "serving":
        target = doc["models"]["m"] if name in PER_MODEL else doc
    else:
        target = doc["models"]["m"][where] if where in PER_MODEL else doc[where]
    target[name] = value
    return doc


@pytest.mark.parametrize(("where", "name", "op", "bound"), _bounds(), ids=[f"{w}.{n}.{o}" for w, n, o, _ in _bounds()])
def test_build_bounds_are_the_runtime_bounds(where, name, op, bound):
    integer = float(bound).is_integer() and (where, name) not in _FLOATS
    step = 1 if integer else 1e-6
    inside = bound if op in ("ge", "le") else (bound + step if op == "gt" else bound - step)
    outside = bound - step if op in ("ge", "gt") else bound + step
    if integer:
        inside, outside = int(inside), int(outside)
    RuntimeConfig.from_dict(_config_with(where, name, inside))  # the runtime accepts what the build accepts
    if where == "serving" and name in ("grpc_port", "metrics_port", "http_port") and outside == 0:
        return  # port 0 (ephemeral) is valid for the runtime; the build refuses it for an image's fixed ports
    with pytest.raises(ConfigError):
        RuntimeConfig.from_dict(_config_with(where, name, outside))


_FLOATS = {(w, n) for w, m in [("serving", ServingSpec)] + [(w, s) for s, _, w in PAIRS]
           for n, i in m.model_fields.items() if i.annotation is float}


@pytest.mark.parametrize(("overrides", "expected"), [
    (["serving.http_limits.max_headers=500"],
     "override 'serving.http_limits.max_headers=500' serving.http_limits.max_headers: expected 1..100, got 500"),
    (["serving.grpc_limits.idle_timeout_s=0"],
     "serving.grpc_limits.idle_timeout_s: expected 0.1..86400 seconds, got 0"),
    (["serving.http_limits.decode_budget_bytes=1024"],
     "serving.http_limits.decode_budget_bytes: must be at least max_body_bytes (16777216), got 1024"),
    (["serving.capture.enabled=true", "serving.capture.sink=http", "serving.capture.url=ftp://collector"],
     "serving.capture.url: expected an http:// or https:// URL with a host, got 'ftp://collector'"),
    (["serving.capture.enabled=true", "serving.capture.sink=http"],
     "serving.capture.url: the http sink needs the collector's URL"),
    (["serving.capture.enabled=true", "serving.capture.sink=http", "serving.capture.url=collector:9000"],
     "serving.capture.url: expected an http:// or https:// URL with a host, got 'collector:9000'"),
    (["serving.capture.enabled=true", "serving.capture.sink=http", "serving.capture.url='not a url'"],
     "serving.capture.url: expected an http:// or https:// URL without spaces, got 'not a url'"),
    (["serving.capture.enabled=true", "serving.capture.sample_rate=2"],
     "serving.capture.sample_rate: expected 0..1, got 2.0"),
    (["serving.feedback.max_rows=0"], "serving.feedback.max_rows: expected 1..10000000, got 0"),
    (["serving.feedback.enabled=true", "serving.workers=2"], "feedback.enabled: needs workers: 1"),
])
def test_runtime_bounds_of_derived_sections_are_located_spec_errors(tmp_path, overrides, expected):
    project = copy_quickstart(tmp_path / "qs")
    with pytest.raises(SpecError) as info:
        api.validate(project, ["tracking.enabled=false", *overrides])
    assert [p for p in map(str, info.value.problems) if expected in p], [str(p) for p in info.value.problems]


def test_derived_knobs_reach_the_runtime_config():
    serving = ServingSpec(host="127.0.0.1", warmup=False, http_limits={"max_headers": 50},
                          grpc_limits={"max_connections": 7})
    config = RuntimeConfig.from_dict(runtime_config(serving, "m"))
    assert (config.host, config.model("m").warmup) == ("127.0.0.1", False)
    assert (config.http_limits.max_headers, config.grpc_limits.max_connections) == (50, 7)
