"""The image smoke test feeds a per-column model (examples/tabular) every input, through the signature's
feature binding: strings stay strings, booleans booleans, and rows with a missing value are passed over
(a JSON body has no NaN)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mlready.engine import api
from mlready.engine.actions.smoke import eval_frame, expected

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tabular"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("tabular") / "tabular"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__"))
    api.build(root, ["tracking.enabled=false"])
    return root


def test_smoke_request_feeds_every_column_input(built):
    spec = api.validate(built, ["tracking.enabled=false"])
    sig = json.loads((built / "build" / "model" / "signature.json").read_text())
    rows = eval_frame(spec, sig, 8)
    assert len(rows) == 8 and not rows.isna().any().any()  # data/eval.csv has missing monthly_charges
    body, want = expected(built / "build" / "model" / "model.onnx", sig, rows)
    sent = {i["name"]: i for i in body["inputs"]}
    assert list(sent) == [i["name"] for i in sig["inputs"]]
    assert sent["state"]["datatype"] == "BYTES" and all(isinstance(v, str) for v in sent["state"]["data"])
    assert sent["autopay"]["datatype"] == "BOOL" and all(isinstance(v, bool) for v in sent["autopay"]["data"])
    assert sent["tenure_months"]["shape"] == [8, 1]
    json.dumps(body, allow_nan=False)  # valid JSON: no NaN sent
    assert want["label"].shape == (8,) and want["probabilities"].shape == (8, 2)
