"""The bearer-token check in-process: the exact header (one constant-time comparison) and every other spelling
the parse accepts give the same answers, for tokens from the environment and from a file that changes."""

from __future__ import annotations

import os

import pytest
from mlready.runtime.config import RuntimeConfig
from mlready.runtime.errors import Unauthorized
from mlready.runtime.service import Auth


def auth(monkeypatch, token: str | None = None, token_file: str | None = None) -> Auth:
    if token is not None:
        monkeypatch.setenv("MLREADY_TEST_TOKEN", token)
        conf = {"token_env": "MLREADY_TEST_TOKEN"}
    else:
        conf = {"token_file": token_file}
    return Auth(RuntimeConfig.from_dict({"model_repository": "/", "auth": conf}))


def accepted(a: Auth, header: str | None) -> bool:
    try:
        a.check(header)
    except Unauthorized:
        return False
    return True


@pytest.mark.parametrize("token", ["s3cret", "t\u00f6k\u00e9n"])  # an ASCII token and one that is not
def test_headers_accepted_and_refused(monkeypatch, token):
    a = auth(monkeypatch, token)
    for header in (f"Bearer {token}", f"bearer {token}", f"BEARER {token}", f"Bearer  {token} "):
        assert accepted(a, header), header
    for header in (None, "", "Bearer", "Bearer ", f"Basic {token}", f"Bearer {token}x", f"Bearer {token[:-1]}",
                   f"Bearer{token}", "Bearer t\u00f6k", f"Bearer {token}\u00e9", f"{token}"):
        assert not accepted(a, header), header


def test_a_token_file_that_changes_moves_the_accepted_header(monkeypatch, tmp_path):
    path = tmp_path / "token"
    path.write_text("first\n")
    a = auth(monkeypatch, token_file=str(path))
    assert accepted(a, "Bearer first") and not accepted(a, "Bearer second")
    path.write_text("second-token\n")
    os.utime(path, ns=(1, 1))  # a new stamp even within the file system's time granularity
    a._checked = 0.0  # the file is looked at every 5 s: now
    assert accepted(a, "Bearer second-token") and not accepted(a, "Bearer first")
