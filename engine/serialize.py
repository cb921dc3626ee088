"""Deterministic serializers: data in, text out. Same data -> byte-identical text, trailing newline.

YAML is dumped in a form default yamllint accepts: a ``---`` document start, sequences indented under their
key, no line folding, strings that look like other types quoted (PyYAML's resolver does that).
"""

from __future__ import annotations

import json
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """SafeDumper that indents block sequences under their parent key (yamllint's default style)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)
# never emit anchors/aliases for repeated objects
_Dumper.ignore_aliases = lambda self, data: True  # type: ignore[method-assign]


def dump_yaml(docs: Any, header: str | None = None, multi: bool = False) -> str:
    """Dump one document (or several when ``multi``) with ``---`` starts and an optional comment header."""
    items = list(docs) if multi else [docs]
    parts: list[str] = []
    if header:
        parts.append(header if header.endswith("\n") else header + "\n")
    for doc in items:
        body = yaml.dump(
            doc,
            Dumper=_Dumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=4096,
            explicit_start=True,
        )
        parts.append(body)
    return "".join(parts)


def dump_json(obj: Any, sort_keys: bool = True) -> str:
    return json.dumps(obj, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n"


def canonical_json(obj: Any) -> str:
    """Compact, sorted JSON for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
