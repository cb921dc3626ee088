"""Train {{ cookiecutter.project_name }}: a scaled {% if cookiecutter.dataset == 'diabetes' %}ridge regression{% else %}logistic regression{% endif %} on scikit-learn's bundled
`{{ cookiecutter.dataset }}` dataset.

Writes data/train.csv and data/eval.csv (a stratified split, `target` column last) and model/model.joblib.
Parameters come from params.yaml. Deterministic: the same parameters give the same data and model. In the
retrain pipeline (+pipeline=retrain), MLREADY_RETRAIN_DATA names the training set it gathered: the model is
trained on that file as it is (data/eval.csv stays the evaluation set), and the data files are left alone.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import joblib
import pandas as pd
import yaml
from sklearn import datasets
from sklearn.linear_model import {% if cookiecutter.dataset == 'diabetes' %}Ridge{% else %}LogisticRegression{% endif %}
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
DATASET = "{{ cookiecutter.dataset }}"
REGRESSION = {{ "True" if cookiecutter.dataset == "diabetes" else "False" }}


def load_frame():
    frame = getattr(datasets, f"load_{DATASET}")(as_frame=True).frame
    frame.columns = [re.sub(r"[^0-9a-zA-Z]+", "_", c).strip("_") for c in frame.columns]
    return frame


def main(out_dir: Path = HERE, params_file: Path = HERE / "params.yaml") -> float:
    params = yaml.safe_load(params_file.read_text())
    gathered = os.environ.get("MLREADY_RETRAIN_DATA")
    if gathered:  # the retrain pipeline's training set (base rows + labelled production rows), as it is
        train, test = pd.read_csv(gathered), pd.read_csv(out_dir / "data" / "eval.csv")
    else:
        frame = load_frame()
        train, test = train_test_split(
            frame,
            test_size=params["test_size"],
            stratify=None if REGRESSION else frame["target"],
            random_state=params["seed"],
        )
        (out_dir / "data").mkdir(parents=True, exist_ok=True)
        train.to_csv(out_dir / "data" / "train.csv", index=False, float_format="%.6g")
        test.to_csv(out_dir / "data" / "eval.csv", index=False, float_format="%.6g")

    features = [c for c in train.columns if c != "target"]
{%- if cookiecutter.dataset == 'diabetes' %}
    model = make_pipeline(StandardScaler(), Ridge(alpha=params["alpha"]))
{%- else %}
    model = make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=params["max_iter"]))
{%- endif %}
    model.fit(train[features], train["target"])
    (out_dir / "model").mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out_dir / "model" / "model.joblib")
    return float(model.score(test[features], test["target"]))


if __name__ == "__main__":
    accuracy = main()
    print(f"eval {'r2' if REGRESSION else 'accuracy'}: {accuracy:.4f}", file=sys.stdout)
