"""Train the Keras example: a small network on scikit-learn's bundled wine dataset (13 chemical measurements,
3 cultivars), with the feature scaling inside the model (a Normalization layer adapted on the training rows).

Writes data/train.csv, data/eval.csv (a stratified 70/30 split, `target` column last) and model.keras.
Deterministic: a fixed seed and TensorFlow's deterministic ops give the same data and the same weights.
Needs the tensorflow extra: pip install 'mlready[tensorflow]'.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_wine  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

HERE = Path(__file__).resolve().parent
SEED = 0


def build_model(train_x: np.ndarray) -> keras.Model:
    scale = keras.layers.Normalization(name="scale")
    scale.adapt(train_x)
    return keras.Sequential([
        keras.Input((train_x.shape[1],), name="features"),
        scale,
        keras.layers.Dense(16, activation="relu", name="hidden"),
        keras.layers.Dense(3, activation="softmax", name="cultivar"),
    ])


def main() -> None:
    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    frame = load_wine(as_frame=True).frame  # 178 rows, 13 float features + target (0, 1, 2)
    frame.columns = [c.replace("/", "_") for c in frame.columns]
    train, test = train_test_split(frame, test_size=0.3, stratify=frame["target"], random_state=SEED)
    (HERE / "data").mkdir(exist_ok=True)
    train.to_csv(HERE / "data" / "train.csv", index=False, float_format="%.6g")
    test.to_csv(HERE / "data" / "eval.csv", index=False, float_format="%.6g")

    features = [c for c in frame.columns if c != "target"]
    train_x = train[features].to_numpy(np.float32)
    model = build_model(train_x)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(train_x, train["target"].to_numpy(), epochs=80, batch_size=32, verbose=0)
    model.save(HERE / "model.keras")
    _, accuracy = model.evaluate(test[features].to_numpy(np.float32), test["target"].to_numpy(), verbose=0)
    print(f"eval accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
