"""Train the regression example: disease progression one year on, from scikit-learn's bundled diabetes data.

Writes data/train.csv and data/eval.csv (a 75/25 split of the 442 patients, unscaled measurements, the
``progression`` target last) and model.joblib: a scikit-learn Pipeline that standardises the ten features and
fits a ridge regression. Deterministic: run it again and you get the same files.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent


def build_model() -> Pipeline:
    return Pipeline([("scale", StandardScaler()), ("ridge", RidgeCV(alphas=[0.1, 1.0, 10.0, 100.0]))])


def main() -> None:
    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    train, test = train_test_split(frame, test_size=0.25, random_state=0)
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    train.to_csv(data / "train.csv", index=False, float_format="%.6g")
    test.to_csv(data / "eval.csv", index=False, float_format="%.6g")

    train = pd.read_csv(data / "train.csv")  # fitted on the values the build reads
    features = [c for c in train.columns if c != "progression"]
    model = build_model().fit(train[features], train["progression"])
    joblib.dump(model, HERE / "model.joblib")
    test = pd.read_csv(data / "eval.csv")
    print(f"eval R²: {model.score(test[features], test['progression']):.4f}")


if __name__ == "__main__":
    main()
