"""What the cloud targets share: script text (the container-contract check is ``_shared/cloud.py``: the batch
target's cloud jobs check it too)."""

from __future__ import annotations

import shlex
from typing import Any


def shell_script(header: str, lines: list[str]) -> str:
    """A POSIX shell script: the header, strict mode, then ``lines`` (already quoted with :func:`q`)."""
    return header + "set -eu\n" + "\n".join(lines) + "\n"


def q(value: Any) -> str:
    return shlex.quote(str(value))
