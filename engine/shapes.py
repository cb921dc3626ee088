"""Mapping-versus-list conflicts between the files a composition merges, found before Hydra merges them.

OmegaConf replaces a value by a scalar, a scalar by anything, but cannot merge a mapping with a list (or a list
with a mapping); Hydra then reports ``Cannot merge DictConfig with ListConfig`` with no key and no file. Walking
the same files in the same order over the schema defaults finds the key and the line.
"""

from __future__ import annotations

from typing import Any

import yaml
from mlready.engine.errors import SpecProblem
from mlready.engine.sources import Source

_MERGE = "tag:yaml.org,2002:merge"
_LIST = "a list"
_SCALAR = "a value"


def _shape_of(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _shape_of(v) for k, v in value.items()}
    return _LIST if isinstance(value, list) else _SCALAR


def shape_conflicts(base: dict[str, Any], files: list[tuple[Source, yaml.Node | None, str]]) -> list[SpecProblem]:
    """``files``: (source, composed root node, display name), lowest precedence first."""
    tree = _shape_of(base)
    problems: list[SpecProblem] = []
    for source, node, display in files:
        if not isinstance(node, yaml.MappingNode):  # the loader let only mappings through
            continue
        target = tree
        for part in source.prefix.split(".") if source.prefix else []:
            nxt = target.get(part)
            if not isinstance(nxt, dict):
                nxt = target[part] = {}
            target = nxt
        _merge(target, node, source.prefix, display, problems, top=True)
    return problems


def _merge(tree: dict[str, Any], node: yaml.MappingNode, prefix: str, display: str, problems: list[SpecProblem],
           top: bool = False) -> None:
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key_node.tag == _MERGE or (top and key == "defaults"):
            continue
        path = f"{prefix}.{key}" if prefix else key
        current = tree.get(key)
        is_map = isinstance(value_node, yaml.MappingNode)
        is_list = isinstance(value_node, yaml.SequenceNode)
        if (isinstance(current, dict) and is_list) or (current == _LIST and is_map):
            expected = "a mapping" if isinstance(current, dict) else "a list"
            got = "a list" if is_list else "a mapping"
            problems.append(SpecProblem(f"{display}:{key_node.start_mark.line + 1}", path,
                                        f"expected {expected}, got {got}"))
            continue
        if is_map:
            if not isinstance(current, dict):
                current = tree[key] = {}
            _merge(current, value_node, path, display, problems)
        elif not (isinstance(current, dict) and value_node.value == "???"):  # ??? keeps what is there
            tree[key] = _LIST if is_list else _SCALAR
