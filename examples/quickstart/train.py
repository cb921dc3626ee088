"""Train the quickstart model: a scaled MLP classifier on scikit-learn's bundled breast-cancer dataset.

Writes data/train.csv, data/eval.csv (a stratified 75/25 split, `target` column last) and model.joblib.
Deterministic: run it again and you get the same data and the same model. In the retrain pipeline
(+pipeline=retrain), MLREADY_RETRAIN_DATA names the training set it gathered: the model is trained on that
file as it is, and the data files are left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import joblib
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent


def build_model() -> object:
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(hidden_layer_sizes=(64, 32), alpha=1e-2, max_iter=800, random_state=0),
    )


def main() -> None:
    gathered = os.environ.get("MLREADY_RETRAIN_DATA")
    if gathered:  # the retrain pipeline's training set (base rows + labelled production rows), as it is
        train, test = pd.read_csv(gathered), pd.read_csv(HERE / "data" / "eval.csv")
    else:
        frame = load_breast_cancer(as_frame=True).frame  # 569 rows, 30 float features + target
        frame.columns = [c.replace(" ", "_") for c in frame.columns]
        train, test = train_test_split(frame, test_size=0.25, stratify=frame["target"], random_state=0)
        (HERE / "data").mkdir(exist_ok=True)
        train.to_csv(HERE / "data" / "train.csv", index=False, float_format="%.6g")
        test.to_csv(HERE / "data" / "eval.csv", index=False, float_format="%.6g")

    features = [c for c in train.columns if c != "target"]
    model = build_model().fit(train[features], train["target"])
    joblib.dump(model, HERE / "model.joblib")
    print(f"eval accuracy: {model.score(test[features], test['target']):.4f}")


if __name__ == "__main__":
    main()
