"""Every kind of spec mistake: exit 2, one located line per problem, no traceback, nothing written."""

from __future__ import annotations

import pytest
from mlready.engine import api
from mlready.engine.cli import main
from mlready.engine.errors import SpecError
from mlready.generators.model import ModelGenerator

GENS = [ModelGenerator()]

GOOD = """
project:
  name: demo
model:
  source: model.joblib
"""


def problems(files, overrides=(), project=None):
    with pytest.raises(SpecError) as info:
        api.validate(project(files), list(overrides), generators=GENS)
    return [str(p) for p in info.value.problems]


def test_unknown_key_names_file_line_and_suggests(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": "project:\n  name: demo\n  versoin: 1.0.0\nmodel:\n  source: model.joblib\n"}
    assert problems(files, project=project) == ["deploy.yaml:3 project.versoin: unknown key (did you mean 'version'?)"]


def test_wrong_type(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": GOOD + "  version: two\n"}
    assert problems(files, project=project) == ["deploy.yaml:5 model.version: expected an integer, got 'two'"]


def test_missing_required_values(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": "project:\n  name: ???\n"}
    assert problems(files, project=project) == [
        "deploy.yaml model.source: required value is missing",
        "deploy.yaml:2 project.name: required value is missing",
    ]


def test_unknown_group_option_lists_choices(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": GOOD}
    assert problems(files, ["env=prodd"], project=project) == [
        "override 'env=prodd' env: unknown option 'prodd' (did you mean 'prod'?); available: dev, prod, staging"
    ]


def test_yaml_syntax_error(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": "project:\n  name: demo\n model: x\n"}
    assert problems(files, project=project) == [
        "deploy.yaml:3: YAML syntax error: while parsing a block mapping, expected <block end>, "
        "but found '<block mapping start>'"
    ]


def test_an_unclosed_quote_is_located_where_it_opens(project, quickstart_files):
    """PyYAML gives up at the end of the file; the quote that never closed is the line to fix."""
    files = {**quickstart_files, "deploy.yaml": 'project:\n  name: "demo\n  version: 1\nmodel:\n  source: m.onnx\n'}
    assert problems(files, project=project) == [
        "deploy.yaml:2: YAML syntax error: a quoted value is never closed (its opening quote is at column 9)"
    ]


def test_malformed_override_and_unknown_keys_are_all_reported(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": GOOD}
    assert problems(files, ["model.version=[", "+typo=1", "model.opzet=3", "model.opset=99"], project=project) == [
        "override 'model.version=[' : malformed override: no viable alternative at input '['".replace(" :", ":"),
        "override '+typo=1' typo: unknown key; valid keys here: project, model, data, env",
        "override 'model.opzet=3' model.opzet: unknown key (did you mean 'model.opset'?)",
        "override 'model.opset=99' model.opset: must be <= 21, got 99",
    ]


def test_a_gate_override_hydra_cannot_read_unquoted_gets_the_quoted_form(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": GOOD}
    assert problems(files, ["readiness.gates=[f1 >= 0.9, auc >= 0.9]"], project=project) == [
        "override 'readiness.gates=[f1 >= 0.9, auc >= 0.9]': malformed override: token recognition error at: '>' "
        "(quote values with spaces or >, <, =, (, ): 'readiness.gates=[\"f1 >= 0.9\", \"auc >= 0.9\"]')"]


def test_missing_model_and_data_files(project):
    files = {"deploy.yaml": GOOD + "data:\n  eval: data/nope.csv\n"}
    root = project(files)
    with pytest.raises(SpecError) as info:
        api.validate(root, [], generators=GENS)
    assert [str(p) for p in info.value.problems] == [
        f"deploy.yaml:4 model.source: model file not found: {root / 'model.joblib'}",
        f"deploy.yaml:6 data.eval: data file not found: {root / 'data' / 'nope.csv'}",
    ]


def test_group_file_problems_point_into_the_group_file(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": GOOD, "conf/env/prod.yaml": "# @package _global_\nenv:\n  name: prod\n  namespace: Bad_NS\n"}
    assert problems(files, ["env=prod"], project=project) == [
        "conf/env/prod.yaml:4 env.namespace: 'Bad_NS' is not a DNS-1123 label (lowercase letters, digits and '-', "
        "start and end alphanumeric, at most 63 characters)"
    ]


def test_cli_exit_2_no_traceback_and_build_dir_untouched(project, quickstart_files, capsys):
    root = project({**quickstart_files, "deploy.yaml": GOOD})
    # a previous build
    out = root / "build"
    out.mkdir()
    (out / "manifest.json").write_text('{"previous": true}\n')
    (out / "keep.txt").write_text("old\n")
    (root / "deploy.yaml").write_text(GOOD + "  version: two\n")
    assert main(["build", "serving.nope=1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[0] == "error: the spec has 2 problems; nothing was written"
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt", "manifest.json"]
    assert (out / "manifest.json").read_text() == '{"previous": true}\n'


def test_valid_spec_with_local_group_shadowing_and_precedence(project, quickstart_files):
    files = {
        **quickstart_files,
        "deploy.yaml": GOOD + "env:\n  namespace: from-deploy\n",
        "conf/env/prod.yaml": "# @package _global_\nenv:\n  name: prod\n  namespace: from-local-prod\n",
    }
    root = project(files)
    spec = api.validate(root, ["env=prod"], generators=GENS)
    assert spec.env.name == "prod"  # the local prod option shadows the packaged one ...
    assert spec.env.namespace == "from-deploy"  # ... and deploy.yaml wins over group defaults
    spec = api.validate(root, ["env=prod", "env.namespace=cli"], generators=GENS)
    assert spec.env.namespace == "cli"  # overrides win over everything
    assert spec.choices == {"env": "prod", "optimize": "none"}


def test_help_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys; from mlready.engine.cli import main; rc = main(['--help']); "
        "heavy = [m for m in ('hydra', 'omegaconf', 'pydantic', 'onnx', 'sklearn', 'rich', 'numpy') if m in sys.modules]; "
        "print(heavy); sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert "build" in out.stdout and "validate" in out.stdout


def test_location_of_a_key_survives_later_group_files_that_merge_its_parent(project, quickstart_files):
    """A group file appended after deploy.yaml sets `env: {name: ...}`; deploy.yaml's env.namespace keeps its line."""
    files = {
        **quickstart_files,
        "deploy.yaml": GOOD + "env:\n  namespace: Bad_NS\n",
        "conf/extra/prod.yaml": "# @package _global_\nenv:\n  name: prod\n",
    }
    assert problems(files, ["+extra=prod"], project=project) == [
        "deploy.yaml:6 env.namespace: 'Bad_NS' is not a DNS-1123 label (lowercase letters, digits and '-', "
        "start and end alphanumeric, at most 63 characters)"
    ]


def test_memoised_composition_follows_every_file_it_read(project, quickstart_files):
    files = {**quickstart_files, "deploy.yaml": GOOD,
             "conf/env/prod.yaml": "# @package _global_\nenv:\n  name: prod\n  namespace: one\n"}
    root = project(files)
    assert api.validate(root, ["env=prod"], generators=GENS).env.namespace == "one"
    assert api.validate(root, ["env=prod"], generators=GENS).env.namespace == "one"  # from the memo
    (root / "conf/env/prod.yaml").write_text("# @package _global_\nenv:\n  name: prod\n  namespace: two\n")
    assert api.validate(root, ["env=prod"], generators=GENS).env.namespace == "two"
    (root / "deploy.yaml").write_text(GOOD + "  version: two\n")
    with pytest.raises(SpecError, match="model.version: expected an integer"):
        api.validate(root, ["env=prod"], generators=GENS)
