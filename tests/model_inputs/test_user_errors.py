"""Errors from data and model files speak the user's language (issue 17): each names the file, key or
column and says what to do, never an internal error."""

from __future__ import annotations

import io

import joblib
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DEPLOY = (
    "project: {{name: errs}}\nmodel: {{source: {source}}}\n"
    "data: {{eval: data/eval.csv}}\n"
    'readiness:\n  gates: ["accuracy >= 0.5"]\n  cv: {{folds: 0}}\n'
)


@pytest.fixture(scope="module")
def named_model(cancer_frames) -> bytes:
    """A pipeline fitted on a DataFrame: it knows its column names."""
    train = cancer_frames[0]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    buf = io.BytesIO()
    joblib.dump(model.fit(train.drop(columns="target"), train["target"]), buf)
    return buf.getvalue()


@pytest.fixture
def project(proj, cancer_frames, named_model):
    proj.write("model.joblib", named_model)
    proj.write("data/eval.csv", cancer_frames[1])
    proj.write("deploy.yaml", DEPLOY.format(source="model.joblib"))
    return proj


def test_eval_class_the_model_never_saw_is_a_located_data_error(project, cancer_frames):
    frame = cancer_frames[1].copy()
    frame.loc[[3, 5], "target"] = 7
    project.write("data/eval.csv", frame)
    rc, err = project.run()  # run() fails the test on 'internal error' (the old answer: a ValueError)
    assert rc == 1
    assert ("data/eval.csv: target column 'target' has 2 row(s) with a class the model never saw: '7' "
            "(first in data row 4); the model's classes are 0, 1") in err
    assert "retrain the model" in err


def test_extra_column_is_ignored_when_the_model_knows_its_columns(project, cancer_frames):
    frame = cancer_frames[1].copy()
    frame.insert(2, "row_id", range(len(frame)))
    project.write("data/eval.csv", frame)
    rc, err = project.run()
    assert rc == 0, err
    assert project.report()["eval"]["metrics"]["accuracy"] > 0.9


def test_pickle_named_like_a_keras_file_says_which_format_it_is(project, named_model):
    project.write("model.h5", named_model)
    rc, err = project.run("model.source=model.h5")
    assert rc == 2, err
    assert ("model.source: 'model.h5' is named like a Keras model, but its content is a Python pickle "
            "(joblib.dump or pickle.dump): set model.format: sklearn or rename it to model.joblib") in err
    rc, err = project.run("model.source=model.h5", "model.format=sklearn")  # the advice works
    assert rc == 0, err


def test_unknown_suffix_told_from_content_or_not_at_all(project, named_model):
    project.write("model.bin", named_model)
    rc, err = project.run("model.source=model.bin")
    assert rc == 2
    assert "cannot tell the format of 'model.bin' from its name" in err
    assert "its content is a Python pickle (joblib.dump or pickle.dump): set model.format: sklearn" in err
    project.write("model.bin", b"\x00\x01 neither a pickle nor an archive")
    rc, err = project.run("model.source=model.bin")
    assert rc == 2
    assert "nor from its content; if it is a model in one of the formats mlready reads (" in err
    assert "otherwise export the model to ONNX" in err
