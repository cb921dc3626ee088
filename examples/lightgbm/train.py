"""Train the LightGBM example: a churn classifier on generated customer data (no download), saved as
LightGBM's native text model (``model.txt``) — the file a LightGBM user already has.

The columns: ``tenure_months``, ``monthly_charges``, ``support_calls``, ``data_gb`` (numbers) and ``contract``
(``month-to-month``, ``one-year``, ``two-year``), a pandas ``category`` column LightGBM splits on as a
category; the served model takes the contract as that text. The target is 1 when the customer churns. Writes data/train.csv, data/eval.csv (a stratified
70/30 split, ``target`` last) and model.txt. Deterministic: fixed seeds, one thread, LightGBM's deterministic
mode. Needs the lightgbm extra: pip install 'mlready[lightgbm]'.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

HERE = Path(__file__).resolve().parent
SEED = 0
ROWS = 2000
CONTRACTS = ["month-to-month", "one-year", "two-year"]


def customers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    contract = rng.choice([0, 1, 2], n, p=[0.55, 0.25, 0.2])
    tenure = np.round(rng.gamma(2.0, 12.0, n) * (1 + contract), 0).clip(1, 120)
    charges = np.round(rng.normal(70, 20, n).clip(20, 130), 2)
    calls = rng.poisson(1.5, n)
    data_gb = np.round(rng.lognormal(2.5, 0.6, n), 1)
    logit = (1.2 - 1.6 * contract - 0.035 * tenure + 0.025 * (charges - 70) + 0.45 * calls
             - 0.01 * data_gb + rng.normal(0, 0.8, n))
    churns = (logit > 0).astype(int)
    return pd.DataFrame({"tenure_months": tenure, "monthly_charges": charges, "support_calls": calls,
                         "data_gb": data_gb, "contract": np.asarray(CONTRACTS)[contract], "target": churns})


def main() -> None:
    frame = customers(np.random.default_rng(SEED), ROWS)
    train, test = train_test_split(frame, test_size=0.3, stratify=frame["target"], random_state=SEED)
    (HERE / "data").mkdir(exist_ok=True)
    train.to_csv(HERE / "data" / "train.csv", index=False)
    test.to_csv(HERE / "data" / "eval.csv", index=False)

    features = [c for c in frame.columns if c != "target"]
    table = train[features].assign(contract=pd.Categorical(train["contract"], categories=CONTRACTS))
    model = lgb.LGBMClassifier(n_estimators=120, learning_rate=0.05, num_leaves=15, min_child_samples=20,
                               random_state=SEED, n_jobs=1, deterministic=True, force_row_wise=True, verbose=-1)
    model.fit(table, train["target"])  # the category column is a categorical feature (its codes are pandas')
    model.booster_.save_model(HERE / "model.txt")
    rows = test[features].assign(contract=pd.Categorical(test["contract"], categories=CONTRACTS))
    auc = roc_auc_score(test["target"], model.predict_proba(rows)[:, 1])
    print(f"eval accuracy: {model.score(rows, test['target']):.4f}  auc: {auc:.4f}")


if __name__ == "__main__":
    main()
