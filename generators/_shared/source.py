"""The spec's source model: which registered format it is in (``mlready.engine.formats``), where its file is,
loading it, and the sample rows format loaders check it on. ``model.ingest`` converts it; the readiness step
uses the same loaded model to compare with the ONNX export and refit it for cross-validation (one load per
build: see :func:`load_source`).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlready.engine import formats
from mlready.engine.errors import StepError
from mlready.generators._shared.facts import REGISTRY_SCHEMES

TRAINER = "trainer"  # the format model.trainer chooses
SAMPLE_ROWS = 8


def detect(fmt: str, source: str, trainer: str | None, where: Path | None = None) -> str | None:
    """The format to use, or None when it cannot be told from the file name (or, ``where`` being the
    resolved source, from the marker file of a model directory: a SavedModel's ``saved_model.pb``)."""
    if fmt != formats.AUTO:
        return fmt
    if trainer:
        return TRAINER
    found = formats.by_suffix(Path(source).suffix)
    if found is None and where is not None and where.is_dir():
        found = formats.by_directory(where)
    return found.name if found else None


def source_exists(fmt: str, path: Path) -> bool:
    """A model file, or a model directory of a format that marks its directories (a SavedModel)."""
    decl = formats.formats().get(fmt)
    return path.is_file() or path.is_dir() and decl is not None and bool(decl.markers)


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
CONTENT_KINDS = {"keras": "an HDF5 or .keras archive (Keras)", "pytorch": "a torch.save archive (PyTorch)",
                 "sklearn": "a Python pickle (joblib.dump or pickle.dump)"}


def content_format(path: Path) -> str | None:
    """The format a model file's first bytes unmistakably show (HDF5, a Keras or torch zip archive, a
    pickle), or None when they do not tell (ONNX, JSON, text and binary booster files have no magic)."""
    import zipfile

    try:
        with open(path, "rb") as fh:
            head = fh.read(len(HDF5_MAGIC))
        if head == HDF5_MAGIC:
            return "keras"
        if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
            return "sklearn"
        if head[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
            if "config.json" in names:
                return "keras"
            if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
                return "pytorch"
    except (OSError, zipfile.BadZipFile):
        return None
    return None


def content_hint(path: Path, fmt: str | None) -> str | None:
    """What to do when the file's content is another format than ``fmt`` (its name's), else None."""
    found = content_format(path) if path.is_file() else None
    if found is None or found == fmt or (found == "sklearn" and fmt == "pytorch"):  # torch's legacy pickles
        return None
    suffixes = formats.formats()[found].suffixes
    rename = f" or rename it to {path.stem}{suffixes[0]}" if suffixes else ""
    return f"its content is {CONTENT_KINDS[found]}: set model.format: {found}{rename}"


def local_source(spec: Any) -> Path | None:
    """The source as a local path, for telling a model directory's format (None for a registry URI)."""
    source = spec.model.source
    return None if source.startswith(REGISTRY_SCHEMES) else spec.resolve(source)  # type: ignore[no-any-return]


def resolve_source(spec: Any) -> Path | None:
    """The local model file (None for a trainer). Registry URIs are resolved through MLflow."""
    source = spec.model.source
    if source.startswith(REGISTRY_SCHEMES):
        from mlready.engine.lifecycle.registry import resolve_model_uri

        return Path(resolve_model_uri(source, spec))
    if detect(spec.model.format, source, spec.model.trainer) == TRAINER:
        return None
    return spec.resolve(source)  # type: ignore[no-any-return]


#: the model a build loaded, by the identity of its ``model`` section (one object per composed spec, so per
#: build): the readiness step of the build that ran ``model.ingest`` reuses it instead of loading (for a
#: trainer: training) and converting it a second time. An entry goes when its section does.
_LOADED: dict[int, tuple[Path | None, Any]] = {}
_LOADED_LOCK = threading.Lock()


def load_source(spec: Any, sample: Callable[[], Any] = lambda: None) -> Any:
    """Load and convert the source model with its format's loader (returns the format's ``SourceModel``);
    once per build: a second call with the same spec returns the first one's model. ``sample()``: the rows
    the loader checks the model on (:func:`sample_rows`), read only when the model is loaded."""
    path = resolve_source(spec)
    with _LOADED_LOCK:
        loaded = _LOADED.get(id(spec.model))
    if loaded is not None and loaded[0] == path:
        return loaded[1]
    fmt = detect(spec.model.format, spec.model.source, spec.model.trainer, path)
    if fmt is None and path is not None:  # a registry URI: tell the format from the downloaded file
        fmt = detect(formats.AUTO, path.name, None, path)
    if fmt is None:
        raise StepError(f"{spec.model.source}: cannot tell the model format from {path}; set model.format")
    src = formats.get(fmt).loader()(spec, path, sample())
    try:
        weakref.finalize(spec.model, _LOADED.pop, id(spec.model), None)
    except TypeError:  # a model section that cannot be referenced weakly (a test's stand-in): not kept
        return src
    with _LOADED_LOCK:
        _LOADED[id(spec.model)] = (path, src)
    return src


def sample_data(ctx: Any) -> tuple[Any, str, list[str]] | None:
    """The first rows of the evaluation data's feature columns as a DataFrame (data order, original dtypes)
    with the file's name and the column names, or None when the spec names no evaluation data."""
    from mlready.generators._shared.data import choose_features, read_table

    spec = ctx.spec
    if not spec.data.eval:
        return None
    name = spec.data.eval
    frame = read_table(ctx.resolve(name), name)
    features = choose_features(frame, name, spec.data.target, spec.data.features, None)
    return frame[features].head(SAMPLE_ROWS).reset_index(drop=True), name, features


def sample_rows(ctx: Any) -> Any:
    """Just the sample rows (what format loaders take: a DataFrame), or None."""
    data = sample_data(ctx)
    return None if data is None else data[0]
