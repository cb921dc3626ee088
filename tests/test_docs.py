"""The documentation site builds with `mkdocs build --strict` (a broken link, a page missing from the nav or a
snippet that is not there fails it) and its generated reference covers the spec as mlready validates it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import gen_docs  # noqa: E402  (tools/ is not a package)

pytestmark = pytest.mark.slow  # ~10 s: MkDocs renders every README


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    run = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr, run.stderr
    return out


def text(page: Path) -> str:
    return re.sub(r"<[^>]+>", "", page.read_text())


def test_spec_reference_lists_every_key_with_type_default_and_switch(site):
    page = text(site / "reference" / "spec" / "index.html")
    for row in gen_docs.keys():
        assert row["key"] in page
    rows = {r["key"]: r for r in gen_docs.keys()}
    assert rows["data.target"]["default"] == '`"target"`' and rows["data.target"]["type"] == "string"
    assert rows["model.class_names"]["type"] == "list of string or null"
    assert "display names of the classes" in rows["model.class_names"]["description"]
    assert rows["target.k8s.enabled"]["switch"] == "`+target=k8s`"
    assert rows["ci.gitlab.branch"]["switch"] == "`+ci=gitlab`"
    assert rows["optimize.objective"]["switch"].startswith("`optimize=auto`")
    # the schema the engine validates with, minus the test plugin's section, key for key
    schema = gen_docs.schema()
    assert set(schema["properties"]) == {k for k in rows if "." not in k}
    assert not any(k.startswith("target.hello") for k in rows)


def test_a_page_per_target_and_protocol_with_examples(site):
    for target, section in [("docker", "target.docker"), ("k8s", "target.k8s"), ("helm", "target.helm"),
                            ("kserve", "target.kserve"), ("cloud", "target.vertex"), ("compose", "target.compose"),
                            ("edge", "target.edge")]:
        page = text(site / "targets" / target / "index.html")
        assert "mlready build -C examples/quickstart" in page
        assert f"{section}.enabled" in page  # the generated key table
        assert "mlready:keys" not in page
    for protocol, call in [("tfserving", "/v1/models/quickstart:predict"), ("v2", "tg.InferenceServerClient"),
                           ("invocations", "dataframe_records")]:
        page = text(site / "protocols" / protocol / "index.html")
        assert call in page and "mean_radius" in page  # the row snippet was included


def test_readmes_become_pages_with_their_links_kept(site):
    home = (site / "index.html").read_text()
    assert 'href="internals/runtime/#calling-the-quickstart-by-name"' in home
    for readme, page in gen_docs.READMES.items():
        assert (ROOT / readme).is_file(), readme
        assert (site / page.removesuffix(".md").removesuffix("index") / "index.html").is_file() or page == "index.md"


def test_the_row_snippet_is_the_runtime_readmes():
    readme = (ROOT / "runtime" / "README.md").read_text()
    assert (ROOT / "docs" / "_snippets" / "row.sh").read_text().strip() in readme


def test_links_to_source_files_become_plain_text():
    out = gen_docs.rewrite_links("see [the rules](../k8s/README.md#x), [code](step.py) and [web](https://a.b)\n"
                                 "```\n[kept](in_code.py)\n```\n", "generators/helm/README.md")
    assert out == ("see [the rules](generators-k8s.md#x), code and [web](https://a.b)\n"
                   "```\n[kept](in_code.py)\n```\n")
