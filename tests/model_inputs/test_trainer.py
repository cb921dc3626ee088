"""``model.trainer: module:function`` entry points: trained at build time, refitted per CV fold."""

from __future__ import annotations

import textwrap

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

TRAIN_XY = textwrap.dedent(
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def fit(X, y):
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    """
)


def deploy(trainer: str, gates: str = "[]", cv: str = "{folds: 4, seed: 2}") -> str:
    return (
        f'project: {{name: trained}}\nmodel: {{source: train.py, trainer: "{trainer}"}}\n'
        "data: {train: data/train.csv, eval: data/eval.csv}\n"
        f"readiness:\n  gates: {gates}\n  cv: {cv}\n"
    )


@pytest.fixture
def cancer_proj(proj, cancer_frames):
    train, test = cancer_frames
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    return proj


def test_trainer_taking_data_is_refitted_on_every_fold(cancer_proj, cancer_frames):
    cancer_proj.write("train.py", TRAIN_XY)
    cancer_proj.write(
        "deploy.yaml", deploy("train:fit", '["cv.accuracy.mean >= 0.9", "parity.agreement >= 0.999"]')
    )
    rc, err = cancer_proj.run()
    assert rc == 0, err
    report = cancer_proj.report()
    assert report["model"]["kind"] == "trainer Pipeline"
    assert report["cv"]["data"] == "data/train.csv" and report["cv"]["rows"] == 400
    # the same folds with the same pipeline give the same per-fold accuracy as scikit-learn's own CV
    train = cancer_frames[0].copy()
    X, y = train.drop(columns="target"), train["target"].to_numpy()
    expected = cross_val_score(
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
        X,
        y,
        cv=StratifiedKFold(4, shuffle=True, random_state=2),
    )
    assert [f["accuracy"] for f in report["cv"]["per_fold"]] == pytest.approx(list(expected), abs=1e-6)
    # it was fitted on named columns: the signature records them
    assert cancer_proj.signature()["feature_names"][:2] == ["mean_radius", "mean_texture"]


def test_trainer_without_arguments_is_cross_validated_by_cloning(cancer_proj):
    cancer_proj.write(
        "pkg/__init__.py",
        textwrap.dedent(
            """
            from sklearn.datasets import load_breast_cancer
            from sklearn.tree import DecisionTreeClassifier


            def train():
                X, y = load_breast_cancer(return_X_y=True)
                return DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
            """
        ),
    )
    cancer_proj.write("deploy.yaml", deploy("pkg:train", '["cv.f1.mean >= 0.8"]', "{folds: 3}"))
    rc, err = cancer_proj.run()
    assert rc == 0, err
    report = cancer_proj.report()
    assert report["model"]["kind"] == "trainer DecisionTreeClassifier"
    assert len(report["cv"]["per_fold"]) == 3


@pytest.mark.parametrize(
    ("code", "trainer", "message"),
    [
        (
            "def fit(X, y):\n    raise ValueError('labels look wrong')\n",
            "train:fit",
            "model.trainer 'train:fit' raised ValueError: labels look wrong",
        ),
        (
            "def fit(X, y):\n    return 42\n",
            "train:fit",
            "model.trainer 'train:fit' returned 'int', not a fitted estimator",
        ),
        ("def fit(X, y, z):\n    return None\n", "train:fit", "fit(X, y, z) must take no argument or (X, y)"),
        ("x = 1\n", "train:fit", "model.trainer 'train:fit': module train has no function 'fit'"),
        ("x = 1\n", "nowhere:fit", "model.trainer 'nowhere:fit': cannot import module 'nowhere'"),
        (
            "import numpy as np\nraise RuntimeError('bad import')\n",
            "train:fit",
            "model.trainer 'train:fit': importing train failed: RuntimeError: bad import",
        ),
    ],
)
def test_trainer_errors_are_named_not_tracebacks(cancer_proj, code, trainer, message):
    cancer_proj.write("train.py", code)
    cancer_proj.write("deploy.yaml", deploy(trainer))
    rc, err = cancer_proj.run()
    assert rc == 1
    assert message in err
