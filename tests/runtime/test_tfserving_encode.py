"""TF Serving row-format answers: the one-row shortcut of ``codec_tfserving.encode`` gives exactly what the
general row builder gives, for every kind of output (numbers, labels as text or undecodable bytes, class-named
probabilities, FP16, shapes the class names do not fit), and several rows still take the general builder."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from mlready.runtime import codec_tfserving
from mlready.runtime.answers import answers_for
from mlready.runtime.signature import Signature


def named_answers(classes: list[str]):
    sig = Signature.from_dict({
        "inputs": [{"name": "X", "datatype": "FP32", "shape": [-1, 3]}],
        "outputs": [{"name": "label", "datatype": "INT64", "shape": [-1]},
                    {"name": "probabilities", "datatype": "FP32", "shape": [-1, len(classes)]}],
        "task": "classification", "classes": list(range(len(classes))), "class_names": classes})
    return answers_for(sig)


def cases(rows: int):
    rng = np.random.default_rng(rows)
    named = named_answers(["no", "yes"])
    p = rng.random((rows, 2)).astype(np.float32)
    yield {"label": np.arange(rows, dtype=np.int64), "probabilities": p}, None
    yield {"label": np.array(["no", "yes", "no"][:rows] * (rows // 3 + 1), dtype=object)[:rows], "probabilities": p}, None
    yield {"label": np.array([b"\xff\xfe", b"ok"] * rows, dtype=object)[:rows], "score": p[:, 0]}, None
    yield named.apply({"label": (p[:, 1] > 0.5).astype(np.int64), "probabilities": p}), named
    yield named.apply({"label": np.zeros(rows, np.int64), "probabilities": p.astype(np.float16)}), named
    three = named_answers(["a", "b", "c"])
    yield {"label": np.zeros(rows, np.int64), "probabilities": p}, three  # 2 columns, 3 class names
    yield {"probabilities": p}, named  # one keyed output alone: its rows' objects, not wrapped
    yield {"y": rng.normal(size=(rows, 2, 2)), "ok": np.ones(rows, bool), "n": np.arange(rows, dtype=np.int32)}, None


@pytest.mark.parametrize("rows", [1, 2, 3])
def test_one_row_shortcut_answers_what_the_general_builder_does(rows):
    for outputs, answers in cases(rows):
        keyed = answers.proba if answers is not None and answers.proba in outputs else None
        got = codec_tfserving.encode(outputs, "row", answers)
        want = {"predictions": codec_tfserving._rows(outputs, keyed, answers)}
        if len(outputs) == 1 and keyed is None:
            continue
        opt = orjson.OPT_SERIALIZE_NUMPY
        assert orjson.dumps(got, option=opt) == orjson.dumps(want, option=opt), (rows, list(outputs))
        assert len(got["predictions"]) == rows or (len(outputs) == 1 and keyed)
