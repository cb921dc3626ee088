"""The runtime's pinned lock (``requirements.lock`` with ``--hash``) and its wheelhouse, for the image's platform.

Resolution and downloads need a package index, so they run through pip (honouring the user's pip config) into
a persistent cache *outside* the build dir, keyed by everything that decides the result (the requirements
text, Python version, platform, glibc, index, pip version)::

    ~/.cache/mlready/wheels/<key>/report.json      pip's resolution report (the pins and their sha256)
    ~/.cache/mlready/wheels/<key>/wheelhouse/*.whl  the wheels, verified against the pins

A warm cache means no network at all, and the same key always yields the same lock and wheels: the step that
uses this stays a deterministic function of its inputs. ``MLREADY_WHEEL_CACHE`` moves the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote

from mlready.engine.errors import StepError
from mlready.engine.plugin import file_digest


@dataclass(frozen=True)
class LockRequest:
    requirements: str  # requirements.txt text (pins of the runtime's direct dependencies)
    python_version: str = "3.11"
    arch: str = "x86_64"
    glibc: str = "2.36"
    index_url: str | None = None

    def platforms(self) -> list[str]:
        """Every manylinux tag the base image's glibc accepts (pip does not expand ``manylinux_2_X`` itself)."""
        newest = int(self.glibc.split(".")[1])
        tags = [f"manylinux_2_{minor}_{self.arch}" for minor in range(newest, 4, -1)]
        return [*tags, f"manylinux2014_{self.arch}", f"manylinux2010_{self.arch}", f"manylinux1_{self.arch}"]

    def pip_target_args(self) -> list[str]:
        args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", self.python_version]
        for tag in self.platforms():
            args += ["--platform", tag]
        if self.index_url:
            args += ["--index-url", self.index_url]
        return args

    def key(self) -> str:
        blob = json.dumps({**asdict(self), "pip": pip_version()}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def cache_dir(self) -> Path:
        """``<cache_root>/wheels/<key>/``: this request's report.json and wheelhouse."""
        return cache_root() / "wheels" / self.key()


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    filename: str
    sha256: str


def pip_version() -> str:
    from importlib.metadata import version

    return version("pip")


def cache_root() -> Path:
    """Not the engine's step cache (MLREADY_CACHE_DIR): wheels outlive builds and are shared by projects."""
    if os.environ.get("MLREADY_WHEEL_CACHE"):
        return Path(os.environ["MLREADY_WHEEL_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlready"


def _pip(args: list[str], what: str) -> None:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    proc = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise StepError(f"{what} failed (pip exit {proc.returncode}); is the package index reachable?",
                        details=tail)


def resolve(req: LockRequest) -> list[Pin]:
    """The full pinned dependency set for the target platform, one wheel (and its sha256) per package."""
    folder = req.cache_dir()
    report = folder / "report.json"
    if not report.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            reqs = Path(tmp, "requirements.txt")
            reqs.write_text(req.requirements)
            out = Path(tmp, "report.json")
            _pip(["install", "--dry-run", "--quiet", "--ignore-installed", "--report", str(out),
                  "--target", str(Path(tmp, "target")), *req.pip_target_args(), "-r", str(reqs)],
                 "resolving the runtime requirements for the image")
            os.replace(out, report)
    pins = []
    for item in json.loads(report.read_text())["install"]:
        info = item["download_info"]
        sha = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        if not sha:
            raise StepError(f"the index gave no sha256 for {info['url']}: cannot write a hash-checked lock")
        meta = item["metadata"]
        pins.append(Pin(_normalise(meta["name"]), meta["version"], unquote(info["url"].rsplit("/", 1)[-1].split("#")[0]),
                        sha))
    return sorted(pins, key=lambda p: p.name)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_text(pins: list[Pin], header: str) -> str:
    lines = [header.rstrip("\n")] if header else []
    for pin in pins:
        lines.append(f"{pin.name}=={pin.version} \\")
        lines.append(f"    --hash=sha256:{pin.sha256}")
    return "\n".join(lines) + "\n"


def wheelhouse(req: LockRequest, pins: list[Pin]) -> Path:
    """A directory holding exactly the pinned wheels, each verified against its sha256 (downloaded once)."""
    folder = req.cache_dir()
    house = folder / "wheelhouse"
    if not house.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix="download-"))
        try:
            lock = tmp / "requirements.lock"
            lock.write_text(lock_text(pins, ""))
            dest = tmp / "wheelhouse"
            _pip(["download", "--quiet", "--no-deps", "--require-hashes", "--dest", str(dest),
                  *req.pip_target_args(), "-r", str(lock)], "downloading the runtime wheels")
            try:
                os.replace(dest, house)
            except OSError:  # another build filled the cache first: keep theirs (verified below)
                if not house.is_dir():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    for pin in pins:
        path = house / pin.filename
        if not path.is_file() or file_digest(path) != pin.sha256:
            raise StepError(f"wheel cache {house} is damaged ({pin.filename} missing or wrong hash); delete "
                            "that folder to fetch the wheels again")
    return house

