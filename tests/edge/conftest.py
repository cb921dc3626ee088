"""Edge fixtures: the quickstart project, and a wider MLP (digits, 64 -> 512 -> 256 -> 10) trained here."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest
from mlready.engine import api

REPO = Path(__file__).resolve().parents[2]
BASE = ["tracking.enabled=false", "readiness.enabled=false", "+target=edge"]
DEPLOY = """project:
  name: digits-mlp
  version: 1.0.0
model:
  source: model.joblib
data:
  train: data/train.csv
  eval: data/eval.csv
  target: target
"""


def train_digits_mlp(dest: Path) -> Path:
    """A scaled MLP on scikit-learn's bundled digits data (deterministic), written as an mlready project."""
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True, as_frame=True)
    x.columns = [f"px{i:02d}" for i in range(x.shape[1])]
    x_tr, x_ev, y_tr, y_ev = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), MLPClassifier((512, 256), max_iter=15, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_tr.astype(np.float32), y_tr)
    (dest / "data").mkdir(parents=True)
    pd.concat([x_tr, y_tr.rename("target")], axis=1).to_csv(dest / "data" / "train.csv", index=False)
    pd.concat([x_ev, y_ev.rename("target")], axis=1).to_csv(dest / "data" / "eval.csv", index=False)
    joblib.dump(model, dest / "model.joblib")
    (dest / "deploy.yaml").write_text(DEPLOY)
    return dest


class Builds:
    def __init__(self, project: Path, root: Path):
        self.project, self.root = project, root
        self._done: dict[tuple[str, ...], Path] = {}

    def build(self, *overrides: str, use_cache: bool = True) -> Path:
        key = (*overrides, f"cache={use_cache}")
        if key not in self._done:
            out = self.root / f"out{len(self._done)}"
            api.build(self.project, [*BASE, *overrides], out=out, run_hooks=False, use_cache=use_cache)
            self._done[key] = out
        return self._done[key]


@pytest.fixture(scope="session")
def quickstart(tmp_path_factory) -> Builds:
    root = tmp_path_factory.mktemp("edge-quickstart")
    project = root / "quickstart"
    shutil.copytree(REPO / "examples" / "quickstart", project,
                    ignore=shutil.ignore_patterns("build", ".mlready", "__pycache__"))
    return Builds(project, root)


@pytest.fixture(scope="session")
def digits(tmp_path_factory) -> Builds:
    root = tmp_path_factory.mktemp("edge-digits")
    return Builds(train_digits_mlp(root / "digits-mlp"), root)
