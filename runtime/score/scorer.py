"""A built model, loaded to score tables: the served ONNX with the server's signature checks, named-feature
mapping (:class:`~mlready.runtime.features.FeatureMap`) and output shaping (:mod:`~mlready.runtime.answers`).

``TableScorer.score(batch)`` takes one Arrow record batch and returns the prediction columns of its good rows
and the bad rows with their reasons. The columns:

- a classifier: ``label`` (the class name when the signature has ``class_names``, else the class) and one
  ``probability_<class name>`` column per class when the model gives probabilities;
- a regressor: ``prediction``;
- anything else: each output by name (``<output>_<i>`` per column of a 2-D output).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from mlready.runtime.answers import answers_for
from mlready.runtime.config import ThreadConfig
from mlready.runtime.model import METADATA_FILE, MODEL_FILE
from mlready.runtime.score import arrays
from mlready.runtime.score.columns import ColumnError, convert
from mlready.runtime.signature import Signature, check_inputs

SIGNATURE_FILES = (METADATA_FILE, "signature.json")


class ScoreError(Exception):
    """Input the scorer cannot take (missing or mistyped columns, a bad row under --bad-rows fail)."""


@dataclass
class Scored:
    columns: dict[str, np.ndarray]  # prediction columns, good rows only
    good: np.ndarray | None  # bool mask of the batch's good rows (None: all)
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (row in batch, column, reason)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)  # feature -> its values as fed (good rows)
    result: dict[str, np.ndarray] = field(default_factory=dict)  # the outputs as the server answers them
    label_codes: np.ndarray | None = None  # the model's label output before naming (integer class codes)


def model_files(model: str | Path, signature: str | Path | None = None) -> tuple[Path, Path | None]:
    """``model``: model.onnx, or a folder holding it and metadata.json (a model-repository version, the image's
    model) or signature.json (a build's model/ folder); ``signature``: that file, named. -> (model.onnx, the
    signature file or None)."""
    model = Path(model)
    if model.is_dir():
        if signature is None:
            signature = next((model / n for n in SIGNATURE_FILES if (model / n).is_file()), None)
        model = model / MODEL_FILE
    return model, Path(signature) if signature else None


def load_signature(model_file: Path, metadata_file: Path | None, session: Any) -> Signature:
    graph = Signature.from_session(session, model_file.parent.name or "model")
    if metadata_file is None or not metadata_file.is_file():
        return graph
    try:
        data = json.loads(metadata_file.read_text(encoding="utf-8"))
        return Signature.from_dict(data, where=str(metadata_file)).checked_against(graph)
    except (OSError, ValueError) as exc:
        raise ScoreError(f"{metadata_file}: {exc}") from None


def open_session(model: Path | bytes, threads: int = 0) -> Any:
    """An onnxruntime CPU session with the server's options; ``threads``: intra-op threads (0: onnxruntime's)."""
    import onnxruntime as ort
    from mlready.runtime.model import session_options

    source = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(source, sess_options=session_options(ThreadConfig(intra_op=threads)),
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise ScoreError(f"cannot load {'the model' if isinstance(model, bytes) else model}: "
                         f"{str(exc).strip()[:500]}") from None


class TableScorer:
    def __init__(self, session: Any, signature: Signature):
        if signature.feature_map is None:
            raise ScoreError(f"model '{signature.name}': its signature names no features, so table columns "
                             f"cannot be mapped to its inputs (rebuild it with data, or score over the API)")
        self.session = session
        self.signature = signature
        self.features = signature.feature_map
        self.answers = answers_for(signature)
        self.output_names = signature.output_names
        # a missing value of a feature the model has no imputer for would score NaN: such rows are bad rows
        self.features.probe_missing(lambda arrays: session.run(self.output_names, arrays), signature.example)
        self._no_missing = frozenset(self.features.no_missing)
        # class codes 0..k-1 name their rows with one Arrow take from the class names (no str per row)
        classes, names = signature.classes, signature.class_names
        self._label_names = arrays.strings(list(names)) if names is not None and classes is not None and \
            list(classes) == list(range(len(classes))) else None

    @classmethod
    def load(cls, model: str | Path, signature: str | Path | None = None, threads: int = 0) -> TableScorer:
        """``model`` and ``signature``: as :func:`model_files` takes them."""
        model_file, signature_file = model_files(model, signature)
        if not model_file.is_file():
            raise ScoreError(f"{model_file}: not found")
        session = open_session(model_file, threads)
        return cls(session, load_signature(model_file, signature_file, session))

    @classmethod
    def from_bytes(cls, model: bytes, signature: dict[str, Any] | None, threads: int = 0) -> TableScorer:
        """A scorer from the model's bytes and its signature document (as shipped to Spark executors)."""
        session = open_session(model, threads)
        graph = Signature.from_session(session, "model")
        if signature is None:
            return cls(session, graph)
        try:
            return cls(session, Signature.from_dict(signature).checked_against(graph))
        except ValueError as exc:
            raise ScoreError(f"signature: {exc}") from None

    def prediction_types(self) -> list[tuple[str, str]]:
        """The prediction columns and their v2 datatypes, known before scoring (a Spark schema needs them)."""
        sig, a = self.signature, self.answers
        outputs = {t.name: t for t in sig.outputs}
        if sig.task == "regression" and len(outputs) == 1:
            return [("prediction", sig.outputs[0].datatype)]
        if a is not None and a.label is not None:
            cols = [("label", "BYTES" if sig.class_names is not None else outputs[a.label].datatype)]
            if a.proba is not None and sig.class_names is not None:
                cols += [(f"probability_{n}", outputs[a.proba].datatype) for n in sig.class_names]
            return cols
        cols = []
        for t in sig.outputs:
            if len(t.shape) == 1 or (len(t.shape) == 2 and t.shape[1] == 1):
                cols.append((t.name, t.datatype))
            elif len(t.shape) == 2 and t.shape[1] > 0:
                cols += [(f"{t.name}_{j}", t.datatype) for j in range(t.shape[1])]
            else:
                raise ScoreError(f"output '{t.name}' has shape {list(t.shape)}: a table holds one value per row "
                                 f"and column")
        return cols

    @property
    def feature_names(self) -> list[str]:
        return self.features.names

    @property
    def text_features(self) -> tuple[str, ...]:
        """The features that take text (BYTES): read as dictionaries."""
        return tuple(n for n in self.features.names if self.features.by_name[n].datatype == "BYTES")

    def check_columns(self, names: list[str], where: str) -> None:
        missing = [n for n in self.feature_names if n not in names]
        if missing:
            raise ScoreError(f"{where}: missing column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(repr(n) for n in missing)} (model '{self.signature.name}' takes: "
                             f"{', '.join(self.feature_names)})")

    def score(self, batch: Any, where: str) -> Scored:
        """``batch``: a pyarrow RecordBatch or Table holding (at least) the feature columns."""
        rows = batch.num_rows
        columns: dict[str, np.ndarray] = {}
        bad_mask = np.zeros(rows, dtype=bool)
        reasons: dict[str, tuple[np.ndarray, str]] = {}
        for name in self.feature_names:
            try:
                conv = convert(self.features.by_name[name], batch.column(name))
            except ColumnError as exc:
                raise ScoreError(f"{where}: column '{name}' {exc}") from None
            columns[name] = conv.values
            bad_rows, reason = conv.bad, conv.reason
            if name in self._no_missing:
                nan = np.isnan(conv.values)
                if nan.any():
                    bad_rows = nan if bad_rows is None else bad_rows | nan
                    reason = ("missing value (the model has no imputer for this feature)" if conv.bad is None
                              else f"{reason}, or a missing value (the model has no imputer for this feature)")
            if bad_rows is not None:
                bad_mask |= bad_rows
                reasons[name] = (bad_rows, reason)
        bad: list[tuple[int, str, str]] = []
        good = None
        if reasons:
            for i in np.flatnonzero(bad_mask).tolist():
                column, reason = next((n, r) for n, (m, r) in reasons.items() if m[i])
                bad.append((i, column, reason))
            good = ~bad_mask
            columns = {n: v[good] for n, v in columns.items()}
        n = rows - len(bad)
        if n == 0:
            return Scored({}, good, bad)
        inputs = self.features.assemble(columns, n)
        check_inputs(self.signature, inputs)
        result = dict(zip(self.output_names, self.session.run(self.output_names, inputs), strict=True))
        codes = None
        if self.answers is not None:
            codes = result.get(self.answers.label) if self.answers.label else None
            result = self.answers.apply(result)
        return Scored(self.predictions(result), good, bad, columns, result, codes)

    def arrow_predictions(self, scored: Scored) -> dict[str, Any]:
        """The prediction columns of ``scored`` as Arrow arrays (the label through the class names)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        out = {}
        for name, values in scored.columns.items():
            codes = scored.label_codes
            if name == "label" and self._label_names is not None and codes is not None and codes.dtype.kind in "iu":
                try:
                    out[name] = pc.take(self._label_names, arrays.from_numpy(codes.reshape(-1).astype(np.int64)))
                    continue
                except (pa.ArrowIndexError, IndexError):
                    pass  # a code outside 0..k-1: the names the answers gave, below
            out[name] = arrays.from_numpy(values)
        return out

    def predictions(self, result: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        sig = self.signature
        a = self.answers
        out: dict[str, np.ndarray] = {}
        if sig.task == "regression" and len(result) == 1:
            (value,) = result.values()
            return {"prediction": np.asarray(value).reshape(len(value), -1)[:, 0]}
        if a is not None and a.label is not None:
            out["label"] = result[a.label]
            if a.proba is not None and sig.class_names is not None:
                proba = result[a.proba]
                for j, name in enumerate(sig.class_names):
                    out[f"probability_{name}"] = proba[:, j]
            return out
        for name, value in result.items():
            arr = np.asarray(value)
            if arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1):
                out[name] = arr.reshape(-1)
            elif arr.ndim == 2:
                for j in range(arr.shape[1]):
                    out[f"{name}_{j}"] = arr[:, j]
            else:
                raise ScoreError(f"output '{name}' has shape {list(arr.shape)}: a table holds one value per "
                                 f"row and column")
        return out
