"""What a model's raw outputs become in every protocol's answer: class names and one number per regression row.

- A classifier whose signature has ``class_names`` answers its label output (``label`` / ``output_label``) as
  the class name: a BYTES tensor in v2, a JSON string in TF Serving and the cloud routes. Its probabilities
  output (``probabilities`` / ``output_probability``, one column per class) keeps its float tensor; the class
  order travels with it: keyed by class name in TF Serving/cloud JSON (``{"benign": 0.97, ...}`` per row, or one
  list per class in the columnar format) and as the output's ``class_names`` parameter (a JSON array in a string
  parameter, valid in v2 REST and gRPC) in v2.
- A regression model (``task: regression``) answers outputs of shape ``[-1, 1]`` as ``[-1]``: one number per row,
  the same shape in every protocol.

Signatures without ``class_names`` (built before the contract) and models without metadata answer as before.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import orjson
from mlready.runtime.signature import Signature, TensorSpec

LABEL_OUTPUTS = ("label", "output_label")
PROBA_OUTPUTS = ("probabilities", "output_probability")


class Answers:
    """The output shaping of one signature (None from :func:`answers_for` when there is nothing to shape)."""

    def __init__(self, signature: Signature):
        self.class_names = signature.class_names
        self.label: str | None = None
        self.proba: str | None = None
        self.squeeze: frozenset[str] = frozenset()
        self._names: np.ndarray | None = None
        self._lookup: dict[Any, str] = {}
        if signature.class_names is not None and signature.classes is not None:
            k = len(signature.classes)
            for t in signature.outputs:
                if t.name in LABEL_OUTPUTS and len(t.shape) == 1 and self.label is None:
                    self.label = t.name
                if t.name in PROBA_OUTPUTS and len(t.shape) == 2 and t.shape[1] in (-1, k) and self.proba is None:
                    self.proba = t.name
            self._lookup = dict(zip(signature.classes, signature.class_names, strict=True))
            if list(signature.classes) == list(range(k)):  # integer codes 0..k-1: one vectorised take
                self._names = np.array(signature.class_names, dtype=object)
            # the class names travel as a parameter: a JSON array, valid in any string parameter
            self.parameter = orjson.dumps(list(signature.class_names)).decode()
        if signature.task == "regression":
            self.squeeze = frozenset(t.name for t in signature.outputs if len(t.shape) == 2 and t.shape[1] == 1)

    def apply(self, result: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        label = self.label
        if label is not None and label in result:
            result[label] = self._named(result[label])
        for name in self.squeeze:
            if name in result:
                result[name] = result[name].reshape(-1)
        return result

    def _named(self, codes: np.ndarray) -> np.ndarray:
        if self._names is not None and codes.dtype.kind in "iu":
            try:
                return self._names[codes]
            except IndexError:
                pass  # a code outside 0..k-1 (cannot happen for a converted classifier): the slow path below
        lookup = self._lookup
        values = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in codes.reshape(-1).tolist()]
        return np.array([lookup.get(v, str(v)) for v in values] + [None], dtype=object)[:-1].reshape(codes.shape)

    @cached_property
    def proba_template(self) -> bytes:
        """``{"malignant":[%b],"benign":[%b]}``: a capture record's probabilities object, filled with one column's
        JSON text per class (:mod:`~mlready.runtime.capture`)."""
        return b"{" + b",".join(orjson.dumps(str(n)).replace(b"%", b"%%") + b":[%b]"
                                for n in self.class_names or ()) + b"}"

    def served(self, outputs: tuple[TensorSpec, ...]) -> tuple[TensorSpec, ...]:
        """The output tensors as answered (for metadata): the label is BYTES, regression outputs one-dimensional."""
        out = []
        for t in outputs:
            if t.name == self.label:
                t = TensorSpec(t.name, "BYTES", t.shape)
            elif t.name in self.squeeze:
                t = TensorSpec(t.name, t.datatype, t.shape[:1])
            out.append(t)
        return tuple(out)


def answers_for(signature: Signature) -> Answers | None:
    a = Answers(signature)
    return a if a.label or a.proba or a.squeeze else None
