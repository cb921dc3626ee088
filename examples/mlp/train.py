"""Train the example MLP classifier (scikit-learn's bundled digits data) and write its data and model.

    python examples/mlp/train.py      # writes data/train.csv, data/eval.csv, model.joblib

Deterministic: a fixed split and seed. The MLP is wide enough (64 → 512 → 256 → 10) for quantization and
pruning to show on this machine; the quickstart's model is too small to.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).parent
HIDDEN = (512, 256)


def main() -> None:
    x, y = load_digits(return_X_y=True, as_frame=True)
    x.columns = [f"px{i:02d}" for i in range(x.shape[1])]
    x_tr, x_ev, y_tr, y_ev = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    model = make_pipeline(StandardScaler(), MLPClassifier(HIDDEN, max_iter=200, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_tr.astype(np.float32), y_tr)
    (HERE / "data").mkdir(exist_ok=True)
    pd.concat([x_tr, y_tr.rename("target")], axis=1).to_csv(HERE / "data/train.csv", index=False)
    pd.concat([x_ev, y_ev.rename("target")], axis=1).to_csv(HERE / "data/eval.csv", index=False)
    joblib.dump(model, HERE / "model.joblib")
    print(f"eval accuracy {model.score(x_ev.astype(np.float32), y_ev):.4f}")


if __name__ == "__main__":
    main()
