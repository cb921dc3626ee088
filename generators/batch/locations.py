"""Where each platform reads and writes: the effective ``input``/``output`` of a platform (its own, else the
shared one, else the k8s default), the key that set it (for error messages), and the checks of its scheme."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlready.generators.batch.spec import PVC, SCHEMES, BatchSpec

SECTION = "target.batch"
#: where the k8s Job mounts a claim: /mnt/<claim>
MOUNT_ROOT = "/mnt"
SUFFIXES = (".parquet", ".csv")


@dataclass(frozen=True)
class Location:
    uri: str
    key: str  # the spec key that set it: target.batch.<platform>.input, target.batch.input, or the default


def location(spec: Any, cfg: BatchSpec, platform: str, which: str) -> Location | None:
    """The effective ``which`` ("input" or "output") of ``platform``, or None when nothing sets it."""
    own = getattr(getattr(cfg, platform), which)
    if own is not None:
        return Location(own, f"{SECTION}.{platform}.{which}")
    shared = getattr(cfg, which)
    if shared is not None:
        return Location(shared, f"{SECTION}.{which}")
    if platform == "k8s":  # the default claim: +target=batch alone builds
        path = "input/" if which == "input" else "output/predictions.parquet"
        return Location(f"pvc://{spec.project.name}-batch/{path}", f"{SECTION}.{which}")
    return None


def problems(spec: Any, cfg: BatchSpec) -> list[tuple[str, str]]:
    """(key, message) for every platform's missing or unreadable location."""
    out: list[tuple[str, str]] = []
    for platform in cfg.platforms:
        schemes = " or ".join(SCHEMES[platform])
        source, dest = location(spec, cfg, platform, "input"), location(spec, cfg, platform, "output")
        if source and dest and (dest.uri == source.uri or (source.uri.endswith("/") and dest.uri.startswith(source.uri))):
            out.append((dest.key, f"{dest.uri!r} is inside the {platform} input {source.uri!r}: the next run would "
                        "read the predictions as rows"))
        for which in ("input", "output"):
            loc = location(spec, cfg, platform, which)
            if loc is None:
                out.append((f"{SECTION}.{which}", f"the {platform} batch job needs an {which} ({schemes}): set "
                            f"{SECTION}.{platform}.{which} or {SECTION}.{which}"))
                continue
            if not loc.uri.startswith(SCHEMES[platform]):
                out.append((loc.key, f"the {platform} batch job reads {schemes} locations, got {loc.uri!r}"
                            + (f"; give the {platform} job its own with {SECTION}.{platform}.{which}"
                               if loc.key == f"{SECTION}.{which}" and len(cfg.platforms) > 1 else "")))
                continue
            if "*" in loc.uri and not (platform == "vertex" and which == "input" and loc.uri.startswith("gs://")):
                out.append((loc.key, f"{loc.uri!r}: only a Vertex AI gs:// input takes wildcards; the {platform} "
                            f"job reads a file, a folder or a prefix"))
                continue
            if platform == "k8s":
                out.extend((loc.key, m) for m in _pvc_problems(loc.uri, which))
    return out


def _pvc_problems(uri: str, which: str) -> list[str]:
    m = PVC.match(uri)
    if m is None:
        return [f"{uri!r} is not pvc://<claim>/<path> with a claim name that is a DNS-1123 subdomain"]
    path = m.group("path") or "/"
    if which == "output" and not path.lower().endswith(SUFFIXES):
        return [f"{uri!r}: the scorer writes one file, ending in .parquet or .csv (e.g. pvc://claim/out/preds.parquet)"]
    return []


def claim_path(uri: str) -> tuple[str, str]:
    """``pvc://claim/a/b`` -> (``claim``, ``/mnt/claim/a/b``): the claim and the path inside the pod."""
    m = PVC.match(uri)
    assert m is not None, uri  # checked at spec time (problems)
    claim = m.group("claim")
    return claim, f"{MOUNT_ROOT}/{claim}{m.group('path') or '/'}"
