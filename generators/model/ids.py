"""The model generator's step id and artifact kinds (no imports: other modules name them without loading the
generator)."""

INGEST_STEP = "model.ingest"
ONNX_MODEL = "onnx-model"  # the model to serve (from model.ingest, or model.optimize when it is active)
ONNX_BASELINE = "onnx-baseline"  # model.ingest's output when the optimizer is active
SIGNATURE = "model-signature"
MODEL_PATH = "model/model.onnx"
BASELINE_PATH = "model/baseline.onnx"
SIGNATURE_PATH = "model/signature.json"
