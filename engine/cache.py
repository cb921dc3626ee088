"""A content-addressed step cache: ``<cache>/steps/<key>.json`` lists a step's artifacts, whose bytes live
in ``<cache>/blobs/<sha256>``. Keys are content hashes (never modification times); writes are atomic."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from mlready.engine.plugin import Artifact
from mlready.engine.writer import atomic_write_text


class StepCache:
    def __init__(self, root: Path):
        self.root = root

    def _blob(self, sha: str) -> Path:
        return self.root / "blobs" / sha[:2] / sha

    def _entry(self, key: str) -> Path:
        return self.root / "steps" / f"{key}.json"

    def get(self, key: str) -> list[Artifact] | None:
        entry = self._entry(key)
        try:
            meta = json.loads(entry.read_text())
        except (OSError, ValueError):
            return None
        arts = []
        for a in meta["artifacts"]:
            blob = self._blob(a["sha256"])
            if not blob.is_file():
                return None
            arts.append(Artifact(path=a["path"], kind=a["kind"], source=blob, mode=a["mode"], digest=a["sha256"]))
        return arts

    def put(self, key: str, step_id: str, artifacts: list[Artifact]) -> list[Artifact]:
        """Store the artifacts; return them re-pointed at their blobs (so step memory can be freed)."""
        stored = []
        records = []
        for art in artifacts:
            sha = art.sha256()
            blob = self._blob(sha)
            if not blob.is_file():
                blob.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=blob.parent, prefix=".tmp-")
                with os.fdopen(fd, "wb") as fh:
                    if art.data is not None:
                        fh.write(art.data)
                    else:
                        with open(art.source, "rb") as src:  # type: ignore[arg-type]
                            shutil.copyfileobj(src, fh, 1 << 20)
                os.replace(tmp, blob)
            stored.append(Artifact(path=art.path, kind=art.kind, source=blob, mode=art.mode, digest=sha))
            records.append({"path": art.path, "kind": art.kind, "sha256": sha, "mode": art.mode})
        entry = {"step": step_id, "artifacts": records}
        atomic_write_text(self._entry(key), json.dumps(entry, indent=1, sort_keys=True))
        return stored
