"""Model sources from MLflow: ``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``runs:/<id>/<path>``.

:func:`resolve_model_uri` is what ``model.ingest`` calls for such a source: it asks the registry (or the run)
for the model, downloads it once into ``<project>/.mlready/models/`` and returns the local model file: one with
a suffix of an installed model format (``mlready.engine.formats``: ``.onnx``, ``.joblib``, ``.pt``, …). A name, version, alias, run or path that does not exist is a spec error that
lists what does exist. Model versions are immutable, so a downloaded version is reused; an alias is looked
up every time (it moves: that is how ``mlready promote`` and rollbacks work).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlready.engine import formats
from mlready.engine.errors import MlreadyError, SpecError, SpecProblem
from mlready.engine.lifecycle.store import STATE_DIR, Store, bounded_http, open_client, store_from_spec

_MODELS = re.compile(r"^models:/(?P<name>[^/@'\"]+)(?:/(?P<version>\d+|latest)|@(?P<alias>[A-Za-z0-9_-]+))$")
_RUNS = re.compile(r"^runs:/(?P<run>[0-9a-zA-Z_-]+)/(?P<path>[^'\"]+)$")


class RegistryLookupError(MlreadyError):
    """A registry name, version, alias, run or artifact path that does not exist (the message lists what does)."""

    exit_code = 2


@dataclass(frozen=True)
class ModelRef:
    uri: str
    name: str | None = None
    version: str | None = None  # digits or "latest"
    alias: str | None = None
    run_id: str | None = None
    path: str | None = None


def is_registry_uri(source: str) -> bool:
    return source.startswith(("models:/", "runs:/"))


def parse_model_uri(uri: str) -> ModelRef:
    if m := _MODELS.match(uri):
        return ModelRef(uri, name=m["name"], version=m["version"], alias=m["alias"])
    if m := _RUNS.match(uri):
        return ModelRef(uri, run_id=m["run"], path=m["path"].strip("/"))
    raise RegistryLookupError(
        f"{uri!r} is not a model URI: use models:/<name>/<version>, models:/<name>@<alias> or runs:/<run-id>/<path>"
    )


def _listing(items: list[str], empty: str) -> str:
    return ", ".join(items) if items else empty


def registered_names(client: Any) -> list[str]:
    return sorted(m.name for m in client.search_registered_models(max_results=1000))


def versions_of(client: Any, name: str) -> list[int]:
    return sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))


def model_version(client: Any, store: Store, ref: ModelRef) -> Any:
    """The ``ModelVersion`` a ``models:/`` ref points at, or a lookup error listing what exists."""
    from mlflow.exceptions import MlflowException

    assert ref.name is not None
    try:
        registered = client.get_registered_model(ref.name)
    except MlflowException:
        names = registered_names(client)
        hint = (f" (a build with tracking on registers it: build once without this reference, then `mlready "
                f"promote {ref.name} --from-build build --alias {ref.alias}`)" if ref.alias is not None else "")
        raise RegistryLookupError(
            f"registered model {ref.name!r} not found in {store.display}; registered models: "
            f"{_listing(names, '(none)')}{hint}"
        ) from None
    aliases = dict(sorted((registered.aliases or {}).items()))
    versions = versions_of(client, ref.name)
    if ref.alias is not None:
        if ref.alias not in aliases:
            shown = [f"@{a} -> {v}" for a, v in aliases.items()]
            raise RegistryLookupError(
                f"model {ref.name!r} has no alias {ref.alias!r}; aliases: {_listing(shown, '(none)')}; "
                f"versions: {_listing([str(v) for v in versions], '(none)')}"
                + (f" (point it at one: `mlready promote {ref.name} --version {versions[-1]} --alias {ref.alias}`, "
                   "or --from-build build for the version a build registered)" if versions else "")
            )
        return client.get_model_version(ref.name, str(aliases[ref.alias]))
    if ref.version == "latest":
        if not versions:
            raise RegistryLookupError(f"model {ref.name!r} has no versions")
        return client.get_model_version(ref.name, str(versions[-1]))
    if ref.version is None or int(ref.version) not in versions:
        raise RegistryLookupError(
            f"model {ref.name!r} has no version {ref.version}; versions: "
            f"{_listing([str(v) for v in versions], '(none)')}"
        )
    return client.get_model_version(ref.name, ref.version)


def _check_run(client: Any, store: Store, ref: ModelRef) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_run(ref.run_id)
    except MlflowException:
        raise RegistryLookupError(f"run {ref.run_id!r} not found in {store.display}") from None
    top = ref.path.split("/", 1)[0] if ref.path else ""
    names = sorted(f.path for f in client.list_artifacts(ref.run_id))
    if top not in {n.split("/", 1)[0] for n in names}:
        raise RegistryLookupError(
            f"run {ref.run_id} has no artifact {ref.path!r}; its artifacts: {_listing(names, '(none)')}"
        )


def find_model_file(root: Path) -> Path:
    """The model file in a downloaded artifact: the MLmodel flavor's file, else the one model file there.
    Suffixes and flavors come from the installed model formats (MLflow's sklearn flavor writes model.skops
    or model.pkl)."""
    suffixes = formats.model_suffixes()
    if root.is_file():
        if root.suffix in suffixes:
            return root
        raise RegistryLookupError(f"{root.name} is not a model file ({', '.join(suffixes)})")
    mlmodel = root / "MLmodel"
    if mlmodel.is_file():
        flavors = _mlmodel_flavors(mlmodel)
        for flavor, key in formats.mlflow_flavors():
            entry = flavors.get(flavor)
            rel = entry.get(key) if isinstance(entry, dict) else None
            if not isinstance(rel, str) or not rel:
                continue
            path = root / rel
            if path.resolve().is_relative_to(root.resolve()) and path.is_file() and path.suffix in suffixes:
                return path
    for suffix in suffixes:
        found = sorted(p for p in root.rglob(f"*{suffix}") if p.is_file())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(p.relative_to(root).as_posix() for p in found)
            raise RegistryLookupError(f"several {suffix} files in the model artifact ({names}): point at one")
    for marker in formats.model_markers():  # a model directory (MLflow's tensorflow flavor: tf2model/)
        found = sorted(p.parent for p in root.rglob(marker) if p.is_file())
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(p.relative_to(root).as_posix() or "." for p in found)
            raise RegistryLookupError(f"several model directories in the artifact ({names}): point at one")
    present = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    raise RegistryLookupError(
        f"no model file ({', '.join(suffixes)}) in the artifact; it holds: {_listing(present, '(nothing)')}"
    )


def _mlmodel_flavors(mlmodel: Path) -> dict[str, Any]:
    """The ``flavors`` mapping of an MLmodel file, read by the compiler's one loader for user files."""
    from mlready.engine.userfiles import load_yaml_data

    try:
        data = load_yaml_data(mlmodel, "MLmodel")
    except SpecError as exc:
        raise RegistryLookupError(f"the model artifact's {exc.problems[0]}") from None
    flavors = data.get("flavors") if isinstance(data, dict) else None
    return flavors if isinstance(flavors, dict) else {}


def _download(dest: Path, fetch: Any) -> Path:
    """Download with ``fetch(tmpdir) -> path`` into ``dest`` atomically; reuse ``dest`` when complete."""
    if (dest / ".complete").is_file():
        return dest / (dest / ".complete").read_text().strip()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=dest.parent))
    try:
        got = Path(fetch(str(tmp)))
        rel = got.relative_to(tmp).as_posix() if got != tmp else "."
        (tmp / ".complete").write_text(rel + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest / rel


def fetch_model(client: Any, store: Store, ref: ModelRef, cache_root: Path) -> tuple[Path, dict[str, str]]:
    """Download what ``ref`` points at under ``cache_root``; return (model file, provenance)."""
    import mlflow.artifacts

    store_key = hashlib.sha256(store.tracking_uri.encode()).hexdigest()[:12]
    if ref.run_id is not None:
        _check_run(client, store, ref)
        dest = cache_root / store_key / "runs" / ref.run_id / (ref.path or "").replace("/", "__")
        local = _download(dest, lambda tmp: client.download_artifacts(ref.run_id, ref.path, tmp))
        return find_model_file(local), {"run_id": ref.run_id}
    mv = model_version(client, store, ref)
    dest = cache_root / store_key / "models" / mv.name / str(mv.version)
    uri = client.get_model_version_download_uri(mv.name, str(mv.version))
    local = _download(
        dest,
        lambda tmp: mlflow.artifacts.download_artifacts(
            artifact_uri=uri, dst_path=tmp, tracking_uri=store.tracking_uri
        ),
    )
    return find_model_file(local), {"name": mv.name, "version": str(mv.version), "run_id": mv.run_id or ""}


def resolve_model_uri(uri: str, spec: Any) -> Path:
    """Local path of the model behind a ``models:/`` or ``runs:/`` source (downloaded once, then cached)."""
    store = store_from_spec(spec)
    try:
        ref = parse_model_uri(uri)
        with bounded_http(store.timeout):
            client = open_client(store)
            path, _ = fetch_model(client, store, ref, Path(spec.project_dir) / STATE_DIR / "models")
    except RegistryLookupError as exc:
        raise SpecError(SpecProblem(where="", key="model.source", message=str(exc))) from None
    return path
