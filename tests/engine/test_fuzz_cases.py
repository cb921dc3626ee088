"""Hostile and broken spec files that escaped the "exit 2, located message, nothing written" contract (issue 20),
and what the fuzz test (test_fuzz.py) found. Each one runs the CLI in-process, like a user would."""

from __future__ import annotations

import time

import pytest
from mlready.engine.cli import main

GOOD = "project:\n  name: demo\nmodel:\n  source: model.joblib\n"


def _billion_laughs(levels: int = 10) -> str:
    lines = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return GOOD + "data:\n  features:\n    - x\nextra:\n" + "\n".join(lines) + "\n"


def run_cli(root, capsys, *args: str) -> tuple[int, str, float]:
    """`mlready validate|build` in-process; an old build dir must come out byte for byte as it went in."""
    out = root / "build"
    out.mkdir(exist_ok=True)
    (out / "manifest.json").write_text('{"previous": true}\n')
    started = time.monotonic()
    rc = main(list(args))
    seconds = time.monotonic() - started
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert (out / "manifest.json").read_text() == '{"previous": true}\n'
    return rc, err, seconds


CASES = {
    "not-utf8": (
        b"project:\n  name: demo\xff\nmodel:\n  source: model.joblib\n", [],
        ["deploy.yaml:2: not UTF-8 text: byte 0xff at column 13; save the file as UTF-8"],
    ),
    "utf16": (
        GOOD.encode("utf-16"), [],
        ["deploy.yaml:1: not UTF-8 text (UTF-16?): byte 0xff at column 1; save the file as UTF-8"],
    ),
    "unresolved-interpolation": (
        "project:\n  name: ${nope}\nmodel:\n  source: model.joblib\n", [],
        ["deploy.yaml:2 project.name: cannot resolve '${nope}': Interpolation key 'nope' not found"],
    ),
    "interpolation-loop": (
        "project:\n  name: demo\n  description: ${project.version}\n  version: ${project.description}\n"
        "model:\n  source: model.joblib\n", [],
        ["deploy.yaml:3 project.description: cannot resolve '${project.version}': Recursive interpolation detected",
         "deploy.yaml:4 project.version: cannot resolve '${project.description}': Recursive interpolation detected"],
    ),
    "interpolation-of-a-missing-env-var": (
        "project:\n  name: ${oc.env:MLREADY_TEST_UNSET_VARIABLE}\nmodel:\n  source: model.joblib\n", [],
        ["deploy.yaml:2 project.name: cannot resolve '${oc.env:MLREADY_TEST_UNSET_VARIABLE}': KeyError raised "
         "while resolving interpolation: \"Environment variable 'MLREADY_TEST_UNSET_VARIABLE' not found\""],
    ),
    "interpolation-to-the-wrong-type": (
        GOOD + "  version: ${project}\n", [],
        ["deploy.yaml:5 model.version: expected an integer, got a mapping"],
    ),
    "interpolation-in-overrides": (
        GOOD, ["model.name=${nope}", "project.description=${project}"],
        ["override 'model.name=${nope}' model.name: cannot resolve '${nope}': Interpolation key 'nope' not found",
         "override 'project.description=${project}' project.description: cannot resolve '${project}': "
         "Interpolation to parent node detected"],
    ),
    "empty-group-list": (
        GOOD, ["+target=[]"], ["override '+target=[]' target: choose at least one option"],
    ),
    "override-onto-a-broken-interpolation": (
        GOOD + "  name: ${nope}\n", ["model.name=served"], None,  # the override replaces it: valid
    ),
    "billion-laughs": (
        _billion_laughs(), [],
        ["deploy.yaml:13: the document expands to more than 20000 YAML nodes (keys and values; an alias counts its "
         "whole node each time it is used)"],
    ),
    "self-referencing-alias": (
        GOOD + "extra: &a\n  - *a\n", [],
        ["deploy.yaml:6: alias *a refers to a node that contains it"],
    ),
    "deep-nesting": (
        GOOD + "  name: " + "[" * 5000 + "]" * 5000 + "\n", [],
        ["deploy.yaml:5: nested deeper than 32 levels"],
    ),
    "too-large": (
        GOOD + "# " + "x" * (1 << 20) + "\n", [],
        ["deploy.yaml: larger than 1024 KiB; a spec file is a few KiB"],
    ),
    "duplicate-key": (
        "project:\n  name: demo\n  name: other\nmodel:\n  source: model.joblib\n", [],
        ["deploy.yaml:3: YAML syntax error: while constructing a mapping, found duplicate key 'name'"],
    ),
    "boolean-key": (
        GOOD + "  on: 3\n", [],
        ["deploy.yaml:5 model: key 'on' is a boolean to YAML; keys must be strings: quote it (\"on\")"],
    ),
    "binary-tag": (
        "project:\n  name: !!binary ZGVtbw==\nmodel:\n  source: model.joblib\n", [],
        ["deploy.yaml:2 project.name: unsupported YAML tag !!binary; use plain values"],
    ),
    "list-where-a-mapping-merges": (
        "project: [demo]\nmodel:\n  source: model.joblib\n", [],
        ["deploy.yaml:1 project: expected a mapping, got a list"],
    ),
    "a-list-document": (
        "- project\n- model\n", [],
        ["deploy.yaml:1: expected a mapping of keys (project:, model:, ...), got a list"],
    ),
    "hydra-defaults-list": (
        "defaults:\n  - target: k8s\n" + GOOD, [],
        ["deploy.yaml:1 defaults: config groups are chosen on the command line (env=prod, +target=k8s), not with "
         "a Hydra defaults list"],
    ),
    "hydra-section": (  # Hydra took it silently (hydra.run.dir, ...)
        GOOD + "hydra:\n  run:\n    dir: x\n", [], ["deploy.yaml:5 hydra: Hydra's own settings are not part of the spec"],
    ),
    "nul-byte": (
        b"project:\n  name: demo\x00\nmodel:\n  source: model.joblib\n", [],
        ["deploy.yaml: YAML syntax error: character '\\x00' (#x0000) is not allowed in YAML"],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_spec_is_a_located_spec_error(name, project, quickstart_files, capsys):
    text, overrides, expected = CASES[name]
    root = project({**quickstart_files, "deploy.yaml": text})
    rc, err, seconds = run_cli(root, capsys, "validate", *overrides)
    assert seconds < 10
    if expected is None:
        assert rc == 0, err
        return
    assert rc == 2, err
    n = len(expected)
    assert err.splitlines() == [f"error: the spec has {n} problem{'s' if n > 1 else ''}; nothing was written",
                                *(f"  {line}" for line in expected)]


def test_a_broken_local_group_file_is_located_too(project, quickstart_files, capsys):
    files = {**quickstart_files, "deploy.yaml": GOOD,
             "conf/env/prod.yaml": b"# @package _global_\nenv:\n  name: prod\xe9\n",
             "conf/target/k8s.yaml": "# @package _global_\ntarget:\n  k8s: ${nope}\n"}
    root = project(files)
    rc, err, _ = run_cli(root, capsys, "validate", "env=prod")
    assert (rc, err.splitlines()[1:]) == (2, ["  conf/env/prod.yaml:3: not UTF-8 text: byte 0xe9 at column 13; "
                                              "save the file as UTF-8"])
    (root / "conf/env/prod.yaml").write_text("# @package _global_\nenv:\n  name: prod\n")
    rc, err, _ = run_cli(root, capsys, "validate", "env=prod", "+target=k8s")
    assert (rc, err.splitlines()[1:]) == (2, ["  conf/target/k8s.yaml:3 target.k8s: cannot resolve '${nope}': "
                                              "Interpolation key 'nope' not found"])


def test_a_local_group_file_with_a_defaults_list_is_refused(project, quickstart_files, capsys):
    """It made Hydra load env/prod behind the build's back (the manifest's choices said env=dev)."""
    files = {**quickstart_files, "deploy.yaml": GOOD,
             "conf/target/mine.yaml": "defaults:\n  - /env: prod\nk8s:\n  enabled: true\n"}
    rc, err, _ = run_cli(project(files), capsys, "validate", "+target=mine")
    assert (rc, err.splitlines()[1:]) == (2, ["  conf/target/mine.yaml:1 defaults: config groups are chosen on the "
                                              "command line (env=prod, +target=k8s), not with a Hydra defaults list"])


def test_a_build_with_an_unresolvable_spec_writes_nothing(project, quickstart_files, capsys):
    root = project({**quickstart_files, "deploy.yaml": GOOD + "  version: ${nope}\n"})
    rc, err, _ = run_cli(root, capsys, "build")
    assert rc == 2
    assert err.splitlines()[1] == "  deploy.yaml:5 model.version: cannot resolve '${nope}': Interpolation key 'nope' not found"
    assert not (root / ".mlready" / "failed-build").exists()


def test_a_file_name_the_os_refuses_is_a_spec_error(project, quickstart_files, capsys):
    """Found by the fuzz test: a 300-character model.source made the model generator's file check raise
    OSError (ENAMETOOLONG) -> internal error."""
    root = project({**quickstart_files, "deploy.yaml": GOOD.replace("model.joblib", "y" * 300 + ".joblib")})
    rc, err, _ = run_cli(root, capsys, "validate")
    assert rc == 2
    assert err.splitlines()[1].startswith(f"  deploy.yaml:3 model: cannot check a file it names: File name too long: "
                                          f"{root}/yyy")
    assert err.splitlines()[1].endswith("...")


def test_a_composition_that_reads_the_environment_is_not_memoised(project, quickstart_files, monkeypatch):
    """The composition memo is keyed by the files' bytes; ``${oc.env:...}`` reads more than that."""
    from mlready.engine import api
    from mlready.generators.model import ModelGenerator

    root = project({**quickstart_files, "deploy.yaml": GOOD.replace("name: demo", "name: ${oc.env:MLREADY_T_NAME}")})
    for name in ("first", "second"):
        monkeypatch.setenv("MLREADY_T_NAME", name)
        assert api.validate(root, [], generators=[ModelGenerator()]).project.name == name


def test_an_mlflow_models_mlmodel_file_goes_through_the_same_loader(tmp_path):
    """MLmodel (from a runs:/ or models:/ source) is a YAML file the user hands the compiler too."""
    from mlready.engine.lifecycle.registry import RegistryLookupError, find_model_file

    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "model.pkl").write_bytes(b"not the artifact's")
    root = tmp_path / "artifact"
    root.mkdir()
    (root / "model.pkl").write_bytes(b"not really a pickle")
    (root / "MLmodel").write_bytes(b"flavors:\n  sklearn: {pickled_model: model.pkl}\n  x: \xff\n")
    with pytest.raises(RegistryLookupError, match=r"^the model artifact's MLmodel:3: not UTF-8 text: byte 0xff"):
        find_model_file(root)
    (root / "MLmodel").write_text(_billion_laughs().replace("extra:", "flavors:"))
    started = time.monotonic()
    with pytest.raises(RegistryLookupError, match="expands to more than 20000 YAML nodes"):
        find_model_file(root)
    assert time.monotonic() - started < 5
    for odd in ("flavors: [sklearn]\n", "- 1\n", "flavors:\n  sklearn: [1]\n", "flavors:\n  sklearn: {pickled_model: 3}\n",
                "flavors:\n  sklearn: {pickled_model: ../outside/model.pkl}\n"):
        (root / "MLmodel").write_text(odd)
        assert find_model_file(root) == root / "model.pkl"  # the one model file there


def test_an_interpolation_bomb_is_refused_within_a_budget(project, quickstart_files, capsys):
    """Nine keys, each repeating the previous one nine times: OmegaConf re-evaluates every reference, 9**8
    lookups (no answer within a minute before the budget)."""
    chain = "".join(f"  l{i}: {('${x.l' + str(i - 1) + '}') * 9}\n" for i in range(1, 9))
    spec = "project:\n  name: demo\n  description: ${x.l8}\nmodel:\n  source: model.joblib\nx:\n  l0: lol\n" + chain
    rc, err, seconds = run_cli(project({**quickstart_files, "deploy.yaml": spec}), capsys, "validate")
    assert rc == 2 and seconds < 10
    assert err.splitlines()[1] == ("  deploy.yaml:3 project.description: cannot resolve '${x.l8}': interpolations "
                                   "follow more than 2000 references")
    assert sum("interpolations follow" in line for line in err.splitlines()) == 1  # said once


def test_a_long_interpolated_value_is_refused(project, quickstart_files, capsys):
    chain = "".join(f"  l{i}: ${{x.l{i - 1}}}${{x.l{i - 1}}}\n" for i in range(1, 6))
    spec = ("project:\n  name: demo\n  description: ${x.l5}\nmodel:\n  source: model.joblib\nx:\n  l0: "
            + "lol" * 1000 + "\n" + chain)
    rc, err, _ = run_cli(project({**quickstart_files, "deploy.yaml": spec}), capsys, "validate")
    assert rc == 2
    assert err.splitlines()[1] == ("  deploy.yaml:3 project.description: cannot resolve '${x.l5}': the interpolated "
                                   "value is longer than 16384 characters")
