#!/usr/bin/env bash
# Installs Python-based checkers whose pinned dependencies clash with mlready's own into isolated venvs under
# .tools/ (ignored by git). Idempotent. Usage: tools/install-python-tools.sh   (then use .tools/<tool>/bin/<tool>)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-python3}"

tool_venv() {  # tool_venv NAME "pip specs..."
  local name="$1"; shift
  local dir="$ROOT/.tools/$name"
  if [[ -x "$dir/bin/$name" ]]; then return 0; fi
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip >/dev/null
  "$dir/bin/pip" install -q "$@"
}

tool_venv checkov "checkov==3.*"
tool_venv dvc "dvc==3.*"

# cloud targets (generators/cloud): SDKs without a same-named console script, so a marker file says "done"
sdk_venv() {  # sdk_venv NAME "pip specs..."  -> .tools/NAME/bin/python
  local name="$1"; shift
  local dir="$ROOT/.tools/$name"
  if [[ -f "$dir/.installed" ]]; then return 0; fi
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  "$dir/bin/pip" install -q --upgrade pip >/dev/null
  "$dir/bin/pip" install -q "$@"
  touch "$dir/.installed"
}
tool_venv cfn-lint "cfn-lint==1.*"
sdk_venv azure-ai-ml "azure-ai-ml==1.*"
sdk_venv google-cloud-aiplatform "google-cloud-aiplatform==1.*"
