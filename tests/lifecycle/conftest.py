"""Fixtures for the lifecycle tests: a real MLflow store (SQLite in a temp dir) with registered models."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import joblib
import pytest
from mlready.engine.lifecycle.store import Store, open_client


@pytest.fixture(autouse=True)
def _no_ambient_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's MLFLOW_TRACKING_URI must not leak into the tests."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLREADY_TRACKING", raising=False)


def make_spec(project_dir: Path, **sections: Any) -> Any:
    """A real validated Spec with the core sections plus the ``tracking`` section."""
    from mlready.engine.spec import Spec, spec_model
    from mlready.generators.tracking import TrackingGenerator

    data = {"project": {"name": "iris-demo"}, "model": {"source": "model.joblib"}, **sections}
    root = spec_model([TrackingGenerator()]).model_validate(data)
    return Spec(root, project_dir=project_dir, choices={}, overrides=[])


@pytest.fixture
def spec_for():
    return make_spec


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A SQLite-backed MLflow store holding model ``iris`` v1 (alias champion) and v2 (alias challenger).

    Both versions are real scikit-learn pipelines logged as run artifacts ``model/model.joblib``.
    """
    from mlflow.entities import Param
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    root = tmp_path_factory.mktemp("mlflow")
    store = Store(tracking_uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=(root / "art").as_uri())
    client = open_client(store)
    exp = client.create_experiment("iris", artifact_location=(root / "art" / "iris").as_uri())
    x, y = load_iris(return_X_y=True)
    client.create_registered_model("iris")
    runs = []
    for i, c in enumerate((0.5, 2.0), start=1):
        model = LogisticRegression(C=c, max_iter=500).fit(x, y)
        path = root / f"v{i}" / "model.joblib"
        path.parent.mkdir()
        joblib.dump(model, path)
        run = client.create_run(exp)
        client.log_batch(run.info.run_id, params=[Param("C", str(c))])
        client.log_artifact(run.info.run_id, str(path), "model")
        client.set_terminated(run.info.run_id)
        source = f"{run.info.artifact_uri}/model"
        client.create_model_version("iris", source, run_id=run.info.run_id)
        runs.append(run.info.run_id)
    # the usual way a training script registers a model: MLflow's sklearn flavor (an MLmodel folder)
    import mlflow
    import mlflow.sklearn

    mlflow.set_tracking_uri(store.tracking_uri)
    try:
        with warnings.catch_warnings(), mlflow.start_run(experiment_id=exp):
            # MLflow's type-hint inference for the model's predict(): a note, not a problem of ours
            warnings.filterwarnings("ignore", message=".*type hint is inferred as AnyType", category=UserWarning)
            mlflow.sklearn.log_model(LogisticRegression(C=3.0, max_iter=500).fit(x, y), name="model",
                                     registered_model_name="iris-flavor", pip_requirements=[])
    finally:
        mlflow.set_tracking_uri(None)
    client.set_registered_model_alias("iris", "champion", "1")
    client.set_registered_model_alias("iris", "challenger", "2")
    return {"store": store, "uri": store.tracking_uri, "runs": runs, "client": client, "root": root}
