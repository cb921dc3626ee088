"""PyTorch models: exported with a dynamic batch axis, evaluated as served, compared with the module."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import onnxruntime as ort
import pytest

torch = pytest.importorskip("torch")

NET = textwrap.dedent(
    """
    import torch


    class Net(torch.nn.Module):
        def __init__(self, n_in, n_out, softmax=False):
            super().__init__()
            layers = [torch.nn.Linear(n_in, 16), torch.nn.ReLU(), torch.nn.Linear(16, n_out)]
            if softmax:
                layers.append(torch.nn.Softmax(dim=1))
            self.body = torch.nn.Sequential(*layers)

        def forward(self, x):
            return self.body(x)
    """
)


def trained(proj, frame, n_out: int, softmax: bool = False, regression: bool = False):
    """A small Net trained briefly on the frame (its class lives in the project's net.py)."""
    proj.write("net.py", NET)
    sys.path.insert(0, str(proj.root))
    try:
        sys.modules.pop("net", None)
        import net
    finally:
        sys.path.remove(str(proj.root))
    torch.manual_seed(0)
    X = torch.tensor(frame.drop(columns="target").to_numpy(), dtype=torch.float32)
    y = torch.tensor(frame["target"].to_numpy())
    model = net.Net(X.shape[1], n_out, softmax)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(150):
        opt.zero_grad()
        out = model(X)
        if regression:
            loss = torch.nn.functional.mse_loss(out.reshape(-1), y.float())
        elif softmax:
            loss = torch.nn.functional.nll_loss(torch.log(out + 1e-9), y)
        else:
            loss = torch.nn.functional.cross_entropy(out, y)
        loss.backward()
        opt.step()
    return model.eval()


def deploy(source: str, gates: str, extra_model: str = "") -> str:
    return (
        f"project: {{name: torchy}}\nmodel:\n  source: {source}\n{extra_model}"
        "data: {train: data/train.csv, eval: data/eval.csv}\n"
        f"readiness:\n  gates: {gates}\n"
    )


def test_saved_module_is_exported_with_dynamic_batch_and_evaluated(proj, iris_frames):
    train, test = iris_frames
    model = trained(proj, train, 3)
    torch.save(model, proj.root / "model.pt")
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    proj.write(
        "deploy.yaml",
        deploy("model.pt", '["accuracy >= 0.8", "parity.agreement >= 0.999", "parity.max_abs_diff <= 1e-5"]'),
    )
    rc, err = proj.run()
    assert rc == 0, err
    sig = proj.signature()
    assert sig["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert sig["outputs"] == [
        {"name": "label", "datatype": "INT64", "shape": [-1]},
        {"name": "probabilities", "datatype": "FP32", "shape": [-1, 3]},
    ]
    report = proj.report()
    assert report["model"]["kind"] == "pytorch Net" and report["model"]["classes"] == [0, 1, 2]
    assert report["status"] == "passed"
    assert "cannot be retrained" in report["cv"]["skipped"]
    # the served model takes any batch size, and matches the module's softmax
    sess = ort.InferenceSession(
        str(proj.root / "build" / "model" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    X = test.drop(columns="target").to_numpy(dtype=np.float32)
    for n in (1, 7):
        label, proba = sess.run(None, {"input": X[:n]})
        with torch.no_grad():
            expected = torch.softmax(model(torch.tensor(X[:n])), dim=1).numpy()
        assert proba.shape == (n, 3) and np.allclose(proba, expected, atol=1e-6)
        assert label.tolist() == expected.argmax(axis=1).tolist()


def test_torchscript_module_ending_in_softmax_is_read_as_probabilities(proj, iris_frames):
    train, test = iris_frames
    model = trained(proj, train, 3, softmax=True)
    torch.jit.save(torch.jit.script(model), str(proj.root / "model.pt"))
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    proj.write("deploy.yaml", deploy("model.pt", '["parity.max_abs_diff <= 1e-5", "f1 >= 0.8"]'))
    rc, err = proj.run()
    assert rc == 0, err
    sess = ort.InferenceSession(
        str(proj.root / "build" / "model" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    X = test.drop(columns="target").to_numpy(dtype=np.float32)
    _, proba = sess.run(None, {"input": X})
    with torch.no_grad():
        assert np.allclose(proba, model(torch.tensor(X)).numpy(), atol=1e-6)  # no second softmax


def test_single_output_module_is_a_regressor_by_default(proj, cancer_frames):
    train, test = cancer_frames
    train, test = train.iloc[:, -6:], test.iloc[:, -6:]  # five features + target, as a regression target
    model = trained(proj, train, 1, regression=True)
    torch.save(model, proj.root / "model.pt")
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    proj.write("deploy.yaml", deploy("model.pt", '["parity.max_abs_diff <= 1e-4"]'))
    rc, err = proj.run()
    assert rc == 0, err
    assert proj.signature()["outputs"] == [{"name": "prediction", "datatype": "FP32", "shape": [-1, 1]}]
    report = proj.report()
    assert report["model"]["task"] == "regression" and set(report["eval"]["metrics"]) == {"mae", "rmse", "r2"}


def test_single_logit_classifier_gets_sigmoid_probabilities(proj, cancer_frames):
    train, test = cancer_frames
    train, test = train.iloc[:, -6:], test.iloc[:, -6:]
    model = trained(proj, train, 1, regression=True)
    torch.save(model, proj.root / "model.pt")
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    proj.write("deploy.yaml", deploy("model.pt", '["parity.agreement >= 1"]', "  task: classification\n"))
    rc, err = proj.run()
    assert rc == 0, err
    assert proj.signature()["outputs"][1] == {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}
    roc = proj.report()["eval"]["roc"]
    assert roc and roc[0]["class"] == "1"


def test_state_dict_and_corrupt_files_are_refused_by_name(proj, iris_frames):
    train, test = iris_frames
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    model = trained(proj, train, 3)
    torch.save(model.state_dict(), proj.root / "weights.pt")
    proj.write("deploy.yaml", deploy("weights.pt", "[]"))
    rc, err = proj.run()
    assert rc == 1
    assert "weights.pt: holds a state_dict (weights without the architecture)" in err
    proj.write("broken.pt", b"\x80\x04not really a pickle")
    proj.write("deploy.yaml", deploy("broken.pt", "[]"))
    rc, err = proj.run()
    assert rc == 1 and "broken.pt: cannot load the PyTorch model: " in err


def test_declared_input_width_must_match_the_module(proj, iris_frames):
    train, test = iris_frames
    torch.save(trained(proj, train, 3), proj.root / "model.pt")
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    inputs = "  inputs: [{name: features, datatype: FP32, shape: [-1, 5]}]\n"
    proj.write("deploy.yaml", deploy("model.pt", "[]", inputs))
    rc, err = proj.run()
    assert rc == 1
    assert "model.pt: model.inputs[0] declares 5 features but data.eval has 4 feature columns" in err
    proj.write("deploy.yaml", deploy("model.pt", "[]", inputs.replace("5]", "4]")))
    rc, err = proj.run()
    assert rc == 0, err
    assert proj.signature()["inputs"] == [{"name": "features", "datatype": "FP32", "shape": [-1, 4]}]


def test_missing_torch_names_the_extra(monkeypatch):
    from mlready.generators.model.pytorch import import_torch
    from mlready.generators.model.source import ModelSourceError

    monkeypatch.setitem(sys.modules, "torch", None)  # what `import torch` sees when it is not installed
    with pytest.raises(
        ModelSourceError,
        match=r"torch is not installed\. PyTorch models need the optional extra: "
        r"pip install 'mlready\[torch\]' \(torch==2\.13\.0\)",
    ):
        import_torch()


TORCH_TRAINER = textwrap.dedent(
    """
    import torch


    def fit(X, y):
        torch.manual_seed(0)
        x = torch.tensor(X.to_numpy(), dtype=torch.float32)
        t = torch.tensor(y)
        net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
        opt = torch.optim.Adam(net.parameters(), lr=0.05)
        for _ in range(60):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), t).backward()
            opt.step()
        return net.eval()
    """
)


def test_trainer_returning_a_torch_module_is_exported_and_cross_validated(proj, iris_frames):
    train, test = iris_frames
    proj.write("data/train.csv", train)
    proj.write("data/eval.csv", test)
    proj.write("train_torch.py", TORCH_TRAINER)
    proj.write(
        "deploy.yaml",
        'project: {name: torchy}\nmodel: {source: train_torch.py, trainer: "train_torch:fit"}\n'
        "data: {train: data/train.csv, eval: data/eval.csv}\n"
        'readiness:\n  gates: ["cv.accuracy.mean >= 0.7", "parity.agreement >= 0.999"]\n  cv: {folds: 3}\n',
    )
    rc, err = proj.run()
    assert rc == 0, err
    report = proj.report()
    assert report["model"]["kind"] == "trainer Sequential"
    assert len(report["cv"]["per_fold"]) == 3 and report["status"] == "passed"
    assert "the module's outputs read as logits: softmax added for probabilities" in report["notes"]
