"""Operations with side effects live in one layer (mlready.engine.actions) behind mlready.engine.api: commands
stay thin and generator packages hold no actions (their steps are pure)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from mlready.engine import api

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = ("image", "deploy", "rollback", "serve", "promote", "monitor")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_command_goes_through_the_api(action):
    imports = _imports(ROOT / "engine" / "commands" / f"{action}.py")
    assert "mlready.engine" in imports  # `from mlready.engine import api`
    assert not {m for m in imports if m.startswith(("mlready.generators", "mlready.engine.lifecycle"))}
    assert callable(getattr(api, action))


def test_no_generator_package_talks_to_docker_kubernetes_or_a_server():
    offenders = []
    for path in sorted((ROOT / "generators").rglob("*.py")):
        hits = {m for m in _imports(path) if m.split(".")[0] in ("docker", "kubernetes") or m == "mlready.runtime.server"}
        if hits:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(hits)}")
    assert offenders == []


def test_deploy_through_the_api_reports_a_missing_bundle(tmp_path):
    from mlready.engine.errors import UsageError

    with pytest.raises(UsageError, match="mlready build \\+target=k8s"):
        api.deploy(tmp_path / "build", "dev", dry_run=True)


def test_actions_import_no_generator_or_client_until_they_run():
    import subprocess
    import sys

    code = ("import sys\n"
            + "".join(f"import mlready.engine.actions.{a}\n" for a in ACTIONS)
            + "print(sorted(m for m in sys.modules if m.startswith('mlready.generators') "
              "or m.split('.')[0] in ('docker', 'kubernetes', 'mlflow')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
