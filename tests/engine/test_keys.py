"""Cache keys: what a step may read of the spec, and what its key covers (reads, code, mlready version)."""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path

import pytest
from mlready.engine import api, codehash
from mlready.engine.errors import BuildFailed
from mlready.engine.graph import plan
from mlready.engine.load import load_spec
from mlready.engine.manifest import CacheState, Manifest, ManifestError
from mlready.engine.plugin import Artifact, Generator, Section, Step
from mlready.generators.model import ModelGenerator

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"

class EchoSpec(Section):
    text: str = "hello"


class EchoGenerator(Generator[EchoSpec]):
    """One step whose body reads what the test says, declaring what the test says."""

    name = "echo"
    section = "echo"
    config_model = EchoSpec
    reads: tuple[str, ...] = ()
    body_reads: tuple[str, ...] = ("echo.text",)

    def steps(self, spec):
        return [Step("echo.say", self.say, reads=self.reads)]

    def say(self, ctx):
        values = []
        for path in self.body_reads:
            node = ctx.spec
            for part in path.split("."):
                node = getattr(node, part)
            values.append(str(node))
        return [Artifact.text("echo.txt", "note", " ".join(values))]


def gens(**kw):
    g = EchoGenerator()
    for k, v in kw.items():
        setattr(g, k, v)
    return [ModelGenerator(), g]


def keys(demo, overrides=(), **kw):
    g = gens(**kw)
    spec, _ = load_spec(demo, list(overrides), g)
    return {p.step.id: p.key for p in plan(spec, g).steps}


def test_a_step_reading_an_undeclared_section_fails_naming_step_and_path(demo):
    with pytest.raises(BuildFailed) as exc:
        api.build(demo, [], generators=gens(body_reads=("echo.text", "project.version")), run_hooks=False)
    text = str(exc.value)
    assert "step echo.say failed: step echo.say reads spec path 'project' without declaring it in reads" in text
    assert not (demo / "build").exists()


def test_a_declared_read_is_allowed_and_covered_by_the_key(demo):
    g = {"reads": ("project.version",), "body_reads": ("echo.text", "project.version")}
    result = api.build(demo, [], generators=gens(**g), run_hooks=False)
    assert (demo / "build" / "echo.txt").read_text() == "hello 0.1.0\n"
    assert result.ok
    before = keys(demo, **g)
    after = keys(demo, ["project.version=2.0.0"], **g)
    assert before["echo.say"] != after["echo.say"]
    assert before["model.ingest"] == after["model.ingest"]  # the model step does not read project.version


def test_a_partial_declaration_opens_only_that_key(demo):
    g = {"reads": ("project.name",), "body_reads": ("project.name", "project.description")}
    with pytest.raises(BuildFailed, match="reads spec path 'project.description'"):
        api.build(demo, [], generators=gens(**g), run_hooks=False)
    # and the key does not move for the undeclared sibling (not in the header either)
    assert keys(demo, reads=("project.name",))["echo.say"] == \
        keys(demo, ["project.description=other"], reads=("project.name",))["echo.say"]
    assert keys(demo, reads=("project.name",))["echo.say"] != \
        keys(demo, ["project.name=other"], reads=("project.name",))["echo.say"]


def test_the_own_section_is_always_read_and_keyed(demo):
    assert keys(demo)["echo.say"] != keys(demo, ["echo.text=bye"])["echo.say"]


def test_every_key_moves_with_the_mlready_version(demo, monkeypatch):
    before = keys(demo)
    monkeypatch.setattr("mlready.engine.version.mlready_version", lambda: "99.0.0")
    after = keys(demo)
    assert before.keys() == after.keys() and all(before[k] != after[k] for k in before)


def test_editing_the_generator_source_changes_its_key_only(tmp_path, demo, monkeypatch):
    pkg = tmp_path / "plugins" / "acme_gen"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helper.py").write_text("WORD = 'one'\n")
    (pkg / "gen.py").write_text(textwrap.dedent("""
        from mlready.engine.plugin import Artifact, Generator, Section, Step

        class AcmeSpec(Section):
            on: bool = True

        class AcmeGenerator(Generator[AcmeSpec]):
            name = "acme"
            section = "acme"
            config_model = AcmeSpec

            def steps(self, spec):
                return [Step("acme.say", "acme_gen.body:say")]
        """))
    (pkg / "body.py").write_text("from acme_gen.helper import WORD\n"
                                 "from mlready.engine.plugin import Artifact\n\n"
                                 "def say(ctx):\n    return [Artifact.text('acme.txt', 'note', WORD)]\n")
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    gen_cls = importlib.import_module("acme_gen.gen").AcmeGenerator
    g = [ModelGenerator(), gen_cls()]

    def acme_keys():
        codehash.forget()
        spec, _ = load_spec(demo, [], g)
        return {p.step.id: p.key for p in plan(spec, g).steps}

    first = acme_keys()
    assert "acme_gen.helper" in codehash.closure_modules(codehash.generator_roots("acme_gen.gen"))
    (pkg / "helper.py").write_text("WORD = 'two'\n")  # a module the body imports, not the generator class
    second = acme_keys()
    assert first["acme.say"] != second["acme.say"]
    assert first["model.ingest"] == second["model.ingest"]
    for name in [m for m in sys.modules if m.startswith("acme_gen")]:
        del sys.modules[name]
    codehash.forget()


def test_a_generator_owns_its_package_or_its_module():
    assert codehash.generator_roots("mlready.generators.tracking") == ["mlready.generators.tracking"]
    model = codehash.generator_roots("mlready.generators.model")  # a class in the package's __init__
    assert {"mlready.generators.model", "mlready.generators.model.ingest", "mlready.generators.model.ids"} <= set(model)
    k8s = codehash.generator_roots("mlready.generators.k8s.generator")
    assert "mlready.generators.k8s.bundle" in k8s and "mlready.generators.kserve.generator" not in k8s
    covered = codehash.closure_modules(codehash.generator_roots("mlready.generators.runtime"))
    assert "mlready.runtime.config" in covered  # it shapes runtime/config.json
    assert "mlready.generators.k8s.generator" not in covered


def test_check_regenerates_without_the_cache(demo):
    g = {"reads": ("project.version",), "body_reads": ("echo.text", "project.version")}
    api.build(demo, [], generators=gens(**g), run_hooks=False)
    # poison the cache: the entry of every step now serves other bytes for the same key
    for entry in (demo.parent / "cache" / "steps").glob("*.json"):
        text = entry.read_text()
        for blob in (demo.parent / "cache" / "blobs").rglob("*"):
            if blob.is_file() and blob.name in text and blob.read_bytes() == b"hello 0.1.0\n":
                blob.chmod(0o644)
                blob.write_bytes(b"stale\n")
    drift, _ = api.check(demo, generators=gens(**g))
    assert drift == []  # the build dir is right; a cached answer would have reported echo.txt as differing
    rebuilt = api.build(demo, [], generators=gens(**g), run_hooks=False)
    assert {r.id: r.cache for r in rebuilt.records}["echo.say"] == CacheState.HIT


def test_manifest_round_trip_and_refusals(demo, tmp_path):
    api.build(demo, [], generators=gens(), run_hooks=False)
    manifest = Manifest.load(demo / "build")
    assert manifest.paths("note") == ["echo.txt"]
    assert Manifest.model_validate_json(manifest.dump()) == manifest
    assert {s.cache for s in manifest.steps} == {CacheState.MISS}
    newer = tmp_path / "newer.json"
    newer.write_text(manifest.dump().replace('"schema_version": 1', '"schema_version": 2'))
    with pytest.raises(ManifestError, match="schema_version 2, written by a newer mlready"):
        Manifest.load(newer)
    broken = tmp_path / "broken.json"
    broken.write_text(manifest.dump().replace('"cache": "miss"', '"cache": "maybe"', 1))
    with pytest.raises(ManifestError, match=r"broken.json steps.0.cache: Input should be"):
        Manifest.load(broken)
    with pytest.raises(ManifestError, match="no build found"):
        Manifest.load(tmp_path / "nothing.json")


def test_a_trainer_model_is_keyed_on_its_training_data(project, quickstart_files):
    """model.ingest fits a trainer on data.train: the file (and the path) are in its key. Found by the spec
    view: the step read data.train, which neither its key nor its inputs covered."""
    root = project({
        **quickstart_files,
        "data/train.csv": QUICKSTART / "data" / "train.csv",
        "train.py": "def fit(X, y):\n    raise NotImplementedError\n",
        "deploy.yaml": 'project: {name: demo}\nmodel: {source: train.py, trainer: "train:fit"}\n'
                       "data: {train: data/train.csv, eval: data/eval.csv}\n",
    })
    g = [ModelGenerator()]

    def ingest_key():
        spec, _ = load_spec(root, [], g)
        return plan(spec, g).by_id()["model.ingest"].key

    before = ingest_key()
    with open(root / "data" / "train.csv", "a") as fh:
        fh.write(open(root / "data" / "train.csv").readlines()[1])
    assert ingest_key() != before


def test_planning_computes_code_digests_without_importing_step_libraries(demo):
    """The code digest reads sources, it does not import them: a no-op rebuild stays cheap."""
    import subprocess

    script = (
        "import sys\n"
        "from mlready.engine import api\n"
        f"api.plan_build({str(demo)!r}, ['+target=[docker,k8s]'])\n"
        "print(sorted(m for m in ('numpy', 'onnx', 'onnxruntime', 'sklearn', 'pandas', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "MLREADY_TRACKING": "0"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_plan_json_lists_what_each_step_reads(demo, capsys):
    import json

    from mlready.engine.cli import main

    assert main(["plan", "-C", str(demo), "--json", "+target=k8s"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)["steps"]}
    assert rows["k8s.bundle"]["reads"] == ["data", "env", "model.name", "monitoring.grafana", "monitoring.prometheus",
                                           "project", "readiness.gates", "readiness.sample.gates", "serving",
                                           "target.docker", "target.k8s"]  # data, gates: the live alert rules
    assert "project.name" in rows["model.ingest"]["reads"] and "model" in rows["model.ingest"]["reads"]


def test_the_image_record_is_typed_and_a_bad_one_leaves_the_manifest_alone(demo):
    from mlready.engine.writer import update_manifest

    api.build(demo, [], generators=gens(), run_hooks=False)
    before = (demo / "build" / "manifest.json").read_bytes()
    with pytest.raises(ManifestError, match="manifest image.id: Field required"):
        update_manifest(demo / "build", {"image": {"name": "demo", "tag": "0.1.0"}})
    assert (demo / "build" / "manifest.json").read_bytes() == before
    update_manifest(demo / "build", {"image": {"name": "demo", "tag": "0.1.0", "id": "sha256:ab", "digest": None,
                                               "pushed": False, "size": 123}})
    image = Manifest.load(demo / "build").image
    assert image is not None and (image.id, image.size, image.pushed) == ("sha256:ab", 123, False)


def test_the_view_answers_declared_paths_only(demo):
    from mlready.engine.errors import StepError
    from mlready.engine.specview import SpecView

    spec, _ = load_spec(demo, [], gens())
    view = SpecView(spec, ("echo", "model.name", "monitoring.grafana"), "echo.say")
    assert view.section("echo").text == "hello" and view.model.name is None
    assert view.optional_section("monitoring.grafana") is None  # declared, and no generator owns it here
    assert view.project_dir == spec.project_dir and view.resolve("x") == spec.project_dir / "x"
    for read in (lambda: view.model.source, lambda: view.optional_section("monitoring.prometheus"),
                 lambda: view.to_dict(), lambda: view.model_name, lambda: view.overrides):
        with pytest.raises(StepError, match="echo.say reads spec path"):
            read()
    with pytest.raises(AttributeError, match="read-only"):
        view.project_dir = spec.project_dir  # type: ignore[misc]
