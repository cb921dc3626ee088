"""Train the tabular example: a churn classifier on a mixed table (strings, missing values, ints, booleans).

The data is generated here, deterministically (numpy's PCG64, seed 7): 2 000 customers with a ``state`` and a
``plan`` (strings), ``tenure_months`` and ``support_calls`` (integers), ``monthly_charges`` (float, ~8% missing),
``autopay`` (boolean) and the target ``churned`` (0/1). Writes data/train.csv (1 500 rows), data/eval.csv
(500 rows), data/sample.csv (400 newer customers, drifted: more of them in Texas and on the basic plan) and
model.joblib: a scikit-learn Pipeline whose ColumnTransformer one-hot encodes the state, ordinal-encodes the
plan, imputes and scales the numbers and passes the boolean through, then a logistic regression.

The model is fitted on the CSV as read back, so it sees exactly the dtypes the build reads. Run it again and
you get the same files.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

HERE = Path(__file__).resolve().parent
STATES = ["CA", "NY", "TX", "WA", "FL"]
PLANS = ["basic", "plus", "pro"]
FEATURES = ["state", "plan", "tenure_months", "monthly_charges", "support_calls", "autopay"]


def customers(rng: np.random.Generator, n: int, state_p: list[float], plan_p: list[float]) -> pd.DataFrame:
    state = rng.choice(STATES, n, p=state_p)
    plan = rng.choice(PLANS, n, p=plan_p)
    tenure = rng.integers(1, 72, n)
    calls = rng.poisson(1.5, n)
    autopay = rng.random(n) < 0.55
    charges = np.round(rng.normal(55, 18, n) + 20 * (plan == "pro") - 10 * (plan == "basic"), 2)
    logit = (
        0.3 - 0.05 * tenure + 0.55 * calls + 0.03 * (charges - 55) - 0.9 * autopay
        + 0.7 * (state == "TX") - 0.4 * (state == "WA") + 0.5 * (plan == "basic")
    )
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    frame = pd.DataFrame({
        "state": state, "plan": plan, "tenure_months": tenure, "monthly_charges": charges,
        "support_calls": calls, "autopay": autopay, "churned": churned,
    })
    frame.loc[rng.random(n) < 0.08, "monthly_charges"] = np.nan  # not every customer's bill is on file
    return frame


def build_model() -> Pipeline:
    columns = ColumnTransformer([
        ("state", OneHotEncoder(handle_unknown="ignore"), ["state"]),
        ("plan", OrdinalEncoder(categories=[PLANS]), ["plan"]),
        ("numbers", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
         ["tenure_months", "monthly_charges", "support_calls"]),
        ("flags", "passthrough", ["autopay"]),
    ])
    return Pipeline([("columns", columns), ("classifier", LogisticRegression(max_iter=1000))])


def main() -> None:
    rng = np.random.default_rng(7)
    frame = customers(rng, 2000, [0.3, 0.25, 0.2, 0.15, 0.1], [0.4, 0.35, 0.25])
    sample = customers(rng, 400, [0.25, 0.22, 0.3, 0.13, 0.1], [0.5, 0.3, 0.2])
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    frame.iloc[:1500].to_csv(data / "train.csv", index=False)
    frame.iloc[1500:].to_csv(data / "eval.csv", index=False)
    sample.to_csv(data / "sample.csv", index=False)

    train, test = pd.read_csv(data / "train.csv"), pd.read_csv(data / "eval.csv")
    model = build_model().fit(train[FEATURES], train["churned"])
    joblib.dump(model, HERE / "model.joblib")
    print(f"eval accuracy: {model.score(test[FEATURES], test['churned']):.4f}")


if __name__ == "__main__":
    main()
