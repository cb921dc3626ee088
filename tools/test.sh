#!/usr/bin/env bash
# Runs the full test suite (after making sure the environment is set up). Extra arguments go to pytest,
# e.g. `bash tools/test.sh -m "not container"` for a quick loop.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash tools/setup.sh >&2
if [[ -f .container-env ]]; then eval "$(cat .container-env)"; fi
exec .venv/bin/python -m pytest "$@"
