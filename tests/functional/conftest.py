from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden", action="store_true", default=False,
        help="rewrite tests/functional/golden/ from the current output (review the diff before committing)",
    )
