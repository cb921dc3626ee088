#!/usr/bin/env bash
# Sets up everything mlready's build, tests and benchmarks need on a fresh Debian bookworm machine (root or
# sudo): system tools, a Python 3.11 venv in .venv with mlready installed editable plus its dev tools,
# the isolated checker venvs under .tools/, and the podman container harness with its local base image.
# Idempotent: a second run only checks. Usage: bash tools/setup.sh [--no-containers]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
WITH_CONTAINERS=1
for arg in "$@"; do
  case "$arg" in
    --no-containers) WITH_CONTAINERS=0 ;;
    *) echo "usage: tools/setup.sh [--no-containers]" >&2; exit 2 ;;
  esac
done
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

log "system packages"
$SUDO bash tools/install-system-deps.sh

PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY="$(command -v "$cand")"; break
    fi
  done
fi
[[ -n "$PY" ]] || { echo "error: mlready needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 2; }

log "Python environment (.venv, $("$PY" --version))"
if [[ ! -x .venv/bin/python ]]; then "$PY" -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade "pip>=24" "setuptools>=77" wheel
# torch only as the local CPU build (any other spec pulls GBs of CUDA wheels)
# the optional model formats, batch engine and docs extras are installed too: the tests cover all of them
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev,xgboost,lightgbm,catboost,tensorflow,spark,docs]"
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  .venv/bin/python -m pip install -q "torch==2.13.0" || echo "warning: torch==2.13.0 not installable here; PyTorch inputs untested" >&2
fi

log "isolated checkers (.tools/)"
PYTHON="$PY" bash tools/install-python-tools.sh

if [[ $WITH_CONTAINERS -eq 1 ]]; then
  log "container harness (podman service, local base image)"
  $SUDO bash tools/containers/setup.sh > .container-env
  log "container harness ready: $(cat .container-env | tr '\n' ' ')"
fi
log "done: .venv/bin/mlready --help"
