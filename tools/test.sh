#!/usr/bin/env bash
# Runs the full test suite (after making sure the environment is set up). Extra arguments go to pytest,
# e.g. `bash tools/test.sh -m "not container"` for a quick loop.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash tools/setup.sh >&2
if [[ -f .container-env ]]; then eval "$(cat .container-env)"; fi
# the test plugin package (a third-party target, config group and model format: tests/engine/test_plugins.py),
# installed for the test run only, so a user's `mlready generators` after setup lists only mlready's own
.venv/bin/python -m pip install -q --no-deps --no-build-isolation -e tests/plugins/mlready-hello
exec .venv/bin/python -m pytest "$@"
