"""The README's quickstart commands run as written: the bash block under '## Quickstart' is extracted and each
line run with bash, from a temp directory laid out like the checkout (`.venv` linked, `examples/quickstart`
copied), so the repository is untouched. `mlready serve` runs until its server answers, on ports the machine
picks (`--http-port 0 --grpc-port 0` appended: the fixed 8080/8081 may be taken by another server here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.server]


def quickstart_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "README.md: no bash block under '## Quickstart'"
    return [line.split("  #")[0].rstrip() if "  #" in line else line for line in block.group(1).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_quickstart_block_is_what_this_test_runs():
    commands = quickstart_commands()
    assert commands[0] == "source .venv/bin/activate"
    assert any(c.startswith("mlready build -C examples/quickstart") for c in commands)
    assert commands[-1].startswith("mlready serve -C examples/quickstart")


@pytest.fixture
def checkout(tmp_path) -> Path:
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    shutil.copytree(ROOT / "examples" / "quickstart", tmp_path / "examples" / "quickstart",
                    ignore=shutil.ignore_patterns("build", ".mlready", "mlruns", "mlflow.db"))
    return tmp_path


def test_quickstart_commands_run_as_written(checkout, tmp_path):
    env = {**os.environ, "MLREADY_CACHE_DIR": str(tmp_path / "cache"), "MLREADY_TRACKING": "0"}
    env.pop("VIRTUAL_ENV", None)
    *steps, serve = quickstart_commands()
    activate = steps[0]
    outputs = []
    for command in steps[1:]:
        run = subprocess.run(["bash", "-c", f"set -e; {activate}; {command}"], cwd=checkout, env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{command}\n{run.stdout}\n{run.stderr}"
        outputs.append((command, run.stdout + run.stderr))
        if command.startswith("mlready build"):
            outputs[-1] += (json.loads((checkout / "examples/quickstart/build/manifest.json").read_text()),)
    builds = [o for o in outputs if o[0].startswith("mlready build")]
    assert len(builds) == 2  # the second is the README's 'again: every step is a cache hit, same bytes'
    assert all(s["cache"] == "hit" for s in builds[1][2]["steps"])
    assert builds[0][2]["artifacts"] == builds[1][2]["artifacts"]
    server = subprocess.Popen(["bash", "-c", f"{activate}; exec {serve} --http-port 0 --grpc-port 0"], cwd=checkout,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = server.stdout.readline()
        port = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert port, banner
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port.group(1)}/v2/health/ready", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the server never became ready"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=20)
