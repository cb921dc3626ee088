"""Fuzz the compiler: mutants of the quickstart's deploy.yaml and of command-line overrides (issue 20).

For every mutant — bytes, YAML structure, values, interpolations, anchors and aliases, overrides — the CLI,
run in-process, must answer 0 or 2 (never 1: no step runs in validate/plan; never a traceback or an "internal
error"), within a time bound, and leave an existing build dir byte for byte as it was when it answers 2.
Deterministic (``derandomize``, no example database) and bounded (a fixed number of examples), so CI cannot
flake. Cases it found are pinned in test_fuzz_cases.py.
"""

from __future__ import annotations

import copy
import shutil
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlready.engine import registry
from mlready.engine.cli import main
from mlready.engine.spec import defaults_dict

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
BASE_TEXT = (QUICKSTART / "deploy.yaml").read_text(encoding="utf-8")
BASE = yaml.safe_load(BASE_TEXT)
SECONDS = 10.0  # per mutant; a hang or an exponential expansion takes minutes
PREVIOUS = '{"previous": true}\n'

pytestmark = pytest.mark.slow  # a minute or two: 270 mutants through validate (and build or plan), 3 builds

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])


def _paths(tree: dict, prefix: str = "") -> list[str]:
    out = []
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        out.append(path)
        if isinstance(value, dict):
            out += _paths(value, path)
    return out


def _get(tree: dict, path: str) -> object:
    for part in path.split("."):
        tree = tree[part]
    return tree


KEYS = sorted(set(_paths(defaults_dict(list(registry.generators())))) | set(_paths(BASE)))

TRICKY = [
    "???", "${project.name}", "${nope}", "${model}", "${project.${project.name}}", "${.name}", "${..model}",
    "${oc.env:HOME}", "${oc.env:MLREADY_FUZZ_UNSET}", "${oc.decode:'[1, 2'}", "${oc.decode:'{a: ${b}}'}",
    "${oc.create:{a: 1}}", "${oc.select:nope, 3}", "${oc.dict.keys:model}", "${hydra:runtime.cwd}", "${",
    "}", "\\${escaped}", "${model.version}", "${data}", "1.10", "off", "yes", "0o17", "0x1F", "1e400", "-.inf",
    ".nan", "2024-01-01", "a #b", "x\nnew: key", "model.joblib", "../../etc/passwd", "/dev/zero", "k8s", "",
    " ", "\t", "\u202e", "é", "\ud7ff", "\x85", "Name_With_Caps", "a" * 300, "models:/m/1", "runs:/x/y",
]
INTERPOLATIONS = st.sampled_from(KEYS).map(lambda k: "${" + k + "}") | st.sampled_from(KEYS).map(
    lambda k: "x-${" + k + "}-${oc.select:" + k + ",d}")
SCALARS = st.one_of(  # weighted towards the values that reach composition and resolution
    st.sampled_from(TRICKY), INTERPOLATIONS, st.sampled_from(TRICKY), INTERPOLATIONS,
    st.integers(min_value=-(2**70), max_value=2**70), st.floats(), st.booleans(), st.none(), st.text(max_size=20),
)
KEY_TEXT = st.one_of(st.sampled_from([k.rpartition(".")[2] for k in KEYS]), st.text(min_size=1, max_size=8))
VALUES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=3) | st.dictionaries(KEY_TEXT, kids, max_size=3),
                      max_leaves=6)
TOKENS = [b"\xff", b"\x00", b"\xef\xbb\xbf", b"\t", b": ", b"- ", b"[", b"]", b"{", b"}", b"&a ", b"*a", b"!!binary ",
          b"!!python/object:os.system ", b"!foo ", b"%YAML 1.1\n", b"---\n", b"...\n", b"#", b"\n", b"  ", b'"', b"'",
          b"${", b"${nope}", b"???", b"<<: *a\n", b"? ", b"|\n", b">-\n", b"\r", b"\x85", b"\xe2\x80\xa8"]


def _alias_bomb(width: int, levels: int) -> str:
    lines = [f"  b0: &b0 [{', '.join(['lol'] * width)}]"]
    lines += [f"  b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * width)}]" for i in range(1, levels)]
    return "bomb:\n" + "\n".join(lines) + "\n"


def _interpolation_bomb(width: int, levels: int) -> str:
    lines = [f"  i{i}: {('${chain.i' + str(i - 1) + '}') * width}" for i in range(1, levels)]
    return "chain:\n  i0: lol\n" + "\n".join(lines) + "\n"


@st.composite
def spec_mutants(draw) -> bytes:
    tree = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(0, 3))):  # structure and values
        path = draw(st.sampled_from(KEYS)).split(".")
        node = tree
        for part in path[:-1]:
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        if draw(st.booleans()) and path[-1] in node:
            del node[path[-1]]
        else:
            node[path[-1]] = draw(VALUES)
    text = yaml.safe_dump(tree, sort_keys=False, allow_unicode=draw(st.booleans())).encode("utf-8")
    if draw(st.integers(0, 5)) == 0:
        text += _alias_bomb(draw(st.integers(2, 9)), draw(st.integers(2, 9))).encode()
    if draw(st.integers(0, 5)) == 0:
        text += _interpolation_bomb(draw(st.integers(2, 9)), draw(st.integers(2, 9))).encode()
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3]))):  # bytes
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        chunk = draw(st.sampled_from(TOKENS) | st.binary(max_size=4))
        text = text[:at] + chunk + text[at + cut:]
    return text


BASE_LEAVES = [k for k in _paths(BASE) if not isinstance(_get(BASE, k), dict)]


@st.composite
def interpolation_mutants(draw) -> bytes:
    """Mostly-valid specs: a few of the quickstart's own values become interpolations or tricky strings, so
    that mutants get through the loader to Hydra, OmegaConf's resolution, validation and planning."""
    tree = copy.deepcopy(BASE)
    for path in draw(st.lists(st.sampled_from(BASE_LEAVES), min_size=1, max_size=3, unique=True)):
        *parents, leaf = path.split(".")
        node = tree
        for part in parents:
            node = node[part]
        node[leaf] = draw(INTERPOLATIONS | st.sampled_from(TRICKY))
    return yaml.safe_dump(tree, sort_keys=False).encode("utf-8")


GROUP_OVERRIDES = ["env=prod", "env=prodd", "env=[dev,prod]", "env=", "+env=staging", "~env", "+target=k8s",
                   "+target=[k8s,docker]", "+target=nope", "target=k8s", "+target=[]", "+ci=gitlab", "optimize=auto",
                   "+monitoring=grafana", "+pipeline=dvc", "++target=k8s"]
FUNCTION_VALUES = ["choice(1,2)", "range(1,3)", "interval(0,1)", "shuffle([1,2])", "sort([3,1])", "glob(*)",
                   "int(3.5)", "str(3)", "float(x)", "json_str({a:1})", "extend_list(1)", "tag(a, choice(1,2))",
                   "[", "]", "{a:", "'quoted'", "\"dq\"", "null", "[1,[2,[3]]]", "{a: {b: 1}}", "\\${x}"]


@st.composite
def override_lists(draw) -> list[str]:
    out = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.integers(0, 3)) == 0:
            out.append(draw(st.sampled_from(GROUP_OVERRIDES)))
            continue
        key = draw(st.sampled_from(KEYS) | st.text(alphabet="abmode._[]0~+", min_size=1, max_size=10))
        prefix = draw(st.sampled_from(["", "", "+", "++", "~"]))
        if prefix == "~":
            out.append(f"~{key}" + draw(st.sampled_from(["", "=1"])))
            continue
        value = draw(st.sampled_from(TRICKY + FUNCTION_VALUES) | st.text(max_size=10)
                     | st.integers(-5, 10**6).map(str))
        out.append(f"{prefix}{key}={value}")
    return out


@pytest.fixture(scope="module")
def fuzz_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz") / "proj"
    shutil.copytree(QUICKSTART, root, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__"))
    return root


@pytest.fixture
def in_project(fuzz_project, tmp_path, monkeypatch):
    monkeypatch.chdir(fuzz_project)
    monkeypatch.setenv("MLREADY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("MLREADY_DEBUG", raising=False)
    return fuzz_project


def _run(capsys, *args: str) -> tuple[int, str]:
    started = time.monotonic()
    rc = main(list(args))
    seconds = time.monotonic() - started
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text and "internal error" not in text, (args, text)
    assert seconds < SECONDS, (args, seconds)
    return rc, text


def check_mutant(root: Path, capsys, spec: bytes, overrides: list[str]) -> None:
    (root / "deploy.yaml").write_bytes(spec)
    build = root / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    (build / "manifest.json").write_text(PREVIOUS)
    rc, text = _run(capsys, "validate", *overrides)
    assert rc in (0, 2), text
    if rc == 2:
        assert text.startswith("error: "), text
        rc, text = _run(capsys, "build", "--quiet", *overrides)  # fails before any step: nothing written
        assert rc == 2, text
        assert [p.name for p in build.iterdir()] == ["manifest.json"]
        assert (build / "manifest.json").read_text() == PREVIOUS
        assert not (root / ".mlready" / "failed-build").exists()
    else:
        rc, text = _run(capsys, "plan", *overrides)
        assert rc in (0, 2), text  # planning may refuse a valid spec's combination, never crash


@settings(FUZZ, max_examples=120)
@given(spec=spec_mutants())
def test_fuzz_deploy_yaml(in_project, capsys, spec):
    check_mutant(in_project, capsys, spec, [])


@settings(FUZZ, max_examples=50)
@given(overrides=override_lists())
def test_fuzz_overrides(in_project, capsys, overrides):
    check_mutant(in_project, capsys, BASE_TEXT.encode(), overrides)


@settings(FUZZ, max_examples=40)
@given(spec=interpolation_mutants())
def test_fuzz_interpolations(in_project, capsys, spec):
    check_mutant(in_project, capsys, spec, [])


@settings(FUZZ, max_examples=30)
@given(spec=spec_mutants() | interpolation_mutants(), overrides=override_lists())
def test_fuzz_both(in_project, capsys, spec, overrides):
    check_mutant(in_project, capsys, spec, overrides)


@settings(FUZZ, max_examples=30)
@given(spec=spec_mutants() | interpolation_mutants(), header=st.sampled_from(["# @package _global_\n", ""]))
def test_fuzz_local_group_file(in_project, capsys, spec, header):
    """The same mutants as a project-local group option, appended after deploy.yaml by +target=fuzz."""
    option = in_project / "conf" / "target" / "fuzz.yaml"
    option.parent.mkdir(parents=True, exist_ok=True)
    option.write_bytes(header.encode() + spec)
    try:
        check_mutant(in_project, capsys, BASE_TEXT.encode(), ["+target=fuzz"])
    finally:
        shutil.rmtree(in_project / "conf")


SERVED_NAMES = ["${project.name}", "${oc.select:nope,served}", "x-${project.name}", "???", "${model.version}", "é"]


@settings(FUZZ, max_examples=3)
@given(description=st.sampled_from(TRICKY) | INTERPOLATIONS, served=st.sampled_from(SERVED_NAMES))
def test_fuzz_full_builds(in_project, capsys, description, served):
    """A few mutants run the whole build: 0 and a new manifest, 2 (or 1 for a failed step) and the previous
    build dir byte for byte."""
    tree = copy.deepcopy(BASE)
    tree["project"]["description"] = description
    tree["model"]["name"] = served
    (in_project / "deploy.yaml").write_text(yaml.safe_dump(tree, sort_keys=False), encoding="utf-8")
    build = in_project / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir()
    (build / "manifest.json").write_text(PREVIOUS)
    started = time.monotonic()
    rc = main(["build", "--quiet"])
    out = capsys.readouterr()
    text = out.out + out.err
    assert time.monotonic() - started < 120
    assert "Traceback" not in text and "internal error" not in text, text
    if rc == 0:
        assert '"artifacts"' in (build / "manifest.json").read_text()
        return
    assert rc == 2 or (rc == 1 and "failed:" in text), text
    assert [p.name for p in build.iterdir()] == ["manifest.json"]
    assert (build / "manifest.json").read_text() == PREVIOUS
