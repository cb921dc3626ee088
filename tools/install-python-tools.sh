#!/usr/bin/env bash
# Installs Python-based checkers and SDKs whose pinned dependencies clash with mlready's own into isolated
# venvs under .tools/ (ignored by git), all at once in parallel. Idempotent: a venv is reused once its
# install finished (marker file .tools/NAME/.installed). Usage: tools/install-python-tools.sh
# Then: .tools/<name>/bin/<tool> (checkov, dvc, cfn-lint) or .tools/<name>/bin/python (SDKs).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"
mkdir -p "$ROOT/.tools"

venv() {  # venv NAME "pip specs..."
  local name="$1"; shift
  local dir="$ROOT/.tools/$name"
  if [[ -f "$dir/.installed" ]]; then return 0; fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip >/dev/null 2>&1
  if ! "$dir/bin/pip" install -q "$@" >"$dir.log" 2>&1; then
    echo "error: installing $name ($*) failed; see $dir.log" >&2
    tail -20 "$dir.log" >&2
    return 1
  fi
  touch "$dir/.installed"
}

pids=()
venv checkov "checkov==3.*" & pids+=($!)                                  # docker + k8s checks
venv dvc "dvc==3.*" & pids+=($!)                                          # DVC pipeline tests
venv cfn-lint "cfn-lint==1.*" & pids+=($!)                                # SageMaker CloudFormation
venv azure-ai-ml "azure-ai-ml==1.*" & pids+=($!)                          # Azure ML YAML loaders
venv google-cloud-aiplatform "google-cloud-aiplatform==1.*" & pids+=($!)  # Vertex AI request types
venv botocore "botocore==1.*" & pids+=($!)                                # SageMaker API requests (service model)
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status
