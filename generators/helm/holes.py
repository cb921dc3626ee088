"""Helm templates from manifest data.

A template is built as plain data by the k8s generator's own builders, with a :class:`Hole` wherever a chart
value goes. It is dumped by the project's YAML serializer (so quoting, block strings and key order are the
bundle's), the literal text is escaped for Go templates (a ``{{`` in a label, an alert annotation or the
runtime config must reach the cluster as text, not run as an action), and each hole's placeholder becomes an
action that writes the value as JSON (valid YAML whatever the value holds: a newline cannot inject a key).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlready.engine.serialize import dump_yaml

TOKEN = "mlready-hole-{:05d}"
_LINE = re.compile(r"^(?P<indent> *)(?P<lead>(?:- )?(?:[^\s:][^:\n]*: )?)(?P<token>mlready-hole-\d{5})$", re.M)


@dataclass(frozen=True)
class Hole:
    """A chart value in a manifest: ``expr`` is a Go template pipeline (``.Values.replicas``); with ``when``
    the whole ``key: value`` line is written only when that pipeline is true."""

    expr: str
    when: str | None = None


def escape(text: str) -> str:
    """Literal text for a Go template: every ``{{`` is printed by an action instead of starting one."""
    return text.replace("{{", '{{ "{{" }}')


def _tokens(data: Any, holes: dict[str, Hole]) -> Any:
    if isinstance(data, Hole):
        token = TOKEN.format(len(holes))
        holes[token] = data
        return token
    if isinstance(data, dict):
        return {k: _tokens(v, holes) for k, v in data.items()}
    if isinstance(data, list):
        return [_tokens(v, holes) for v in data]
    return data


def _action(match: re.Match[str], holes: dict[str, Hole]) -> str:
    hole = holes.pop(match["token"])
    line = f"{match['indent']}{match['lead']}{{{{ {hole.expr} | toJson }}}}"
    if hole.when is None:
        return line
    if match["lead"].startswith("- ") and match["lead"] != "- ":
        raise ValueError(f"a conditional hole cannot open a list item: {match.group(0).strip()}")
    return f"{{{{- if {hole.when} }}}}\n{line}\n{{{{- end }}}}"


def template(doc: dict[str, Any], header: str, when: str | None = None, checks: str = "") -> str:
    """The template text of one manifest; with ``when`` the whole object is rendered only when it is true;
    ``checks`` (template actions that ``fail`` on bad values) run where the object is rendered."""
    holes: dict[str, Hole] = {}
    text = escape(dump_yaml(_tokens(doc, holes)))
    text = _LINE.sub(lambda m: _action(m, holes), text)
    if holes:  # a placeholder inside a longer string: a builder used a hole where it formats text
        raise ValueError(f"holes not placed on a value of their own: {sorted(h.expr for h in holes.values())}")
    text = checks + text
    if when is not None:
        text = f"{{{{- if {when} }}}}\n{text}{{{{- end }}}}\n"
    return escape(header) + text
