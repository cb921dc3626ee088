"""The one loader for every YAML file a user gives the compiler (``deploy.yaml``, ``conf/<group>/*.yaml``, an
MLflow model's ``MLmodel``).

A hostile or broken file must end in a located :class:`SpecError`, never in a traceback or a hang, so every
read goes through :func:`load_yaml`, which checks, in this order and before anything expands the document:

- size: at most :data:`MAX_BYTES` (read no further than that);
- encoding: UTF-8 (a BOM is allowed), else ``deploy.yaml:3: not UTF-8 text (byte 0xff at column 9)``;
- shape, on PyYAML's event stream (an iterative parser, so deep nesting cannot exhaust the stack): nesting
  depth at most :data:`MAX_DEPTH`, and at most :data:`MAX_NODES` nodes *after alias expansion* — the
  "billion laughs" document of nested aliases is refused at the alias that crosses the bound, in linear time;
  an alias inside its own anchor is refused;
- content, on the composed node graph: the tags OmegaConf can hold (no ``!!binary``, ``!!set``, Python
  tags), string keys (``on:`` is a boolean to YAML 1.1), no duplicate keys, and one document whose root is a
  mapping.

Hydra reads the same files afterwards with OmegaConf's loader (a ``SafeLoader``); the loader here mirrors its
resolution (no timestamps, duplicate keys refused) so what passes here composes there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mlready.engine.errors import SpecError, SpecProblem

MAX_BYTES = 1 << 20  # a spec or group file; real ones are a few KiB
MAX_DEPTH = 32  # nesting of mappings and lists, aliases included; real specs nest 5 deep
MAX_NODES = 20_000  # keys, scalars and collections after alias expansion; ~3 s of composition at the limit

_TAG = "tag:yaml.org,2002:"
ALLOWED_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "merge")}


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` resolving scalars as OmegaConf's loader does (no timestamps), refusing duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == f"{_TAG}str":
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found duplicate key '{key_node.value}'", key_node.start_mark)
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != f"{_TAG}timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class YamlDoc:
    path: Path
    display: str  # as the user sees it: "deploy.yaml", "conf/target/k8s.yaml", "mlready:conf/env/dev.yaml"
    text: str
    node: yaml.Node | None  # the composed root (a MappingNode), None for an empty file


def _problem(display: str, line: int | None, message: str, key: str = "") -> SpecError:
    where = f"{display}:{line}" if line else display
    return SpecError(SpecProblem(where, key, message))


def read_text(path: Path, display: str) -> str:
    """The file's text: size-bounded, strict UTF-8, errors located."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _problem(display, None, f"cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_BYTES:
        raise _problem(display, None, f"larger than {MAX_BYTES // 1024} KiB; a spec file is a few KiB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
        pos = exc.start
        line = raw.count(b"\n", 0, pos) + 1
        column = pos - (raw.rfind(b"\n", 0, pos) + 1) + 1 - (start if line == 1 else 0)
        hint = " (UTF-16?)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise _problem(display, line, f"not UTF-8 text{hint}: byte 0x{raw[pos]:02x} at column {column}; "
                                      "save the file as UTF-8") from None


def syntax_problem(display: str, exc: yaml.YAMLError) -> SpecError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return _problem(display, None, f"YAML syntax error: character {char!r} (#x{ord(char):04x}) is not "
                                       "allowed in YAML")
    problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context else problem
    opened = getattr(exc, "context_mark", None)
    if context and "quoted scalar" in context and opened is not None and mark is not None:
        # a quote never closed is found where the scan gives up (often the end of the file): name the quote's line
        text = f"a quoted value is never closed (its opening quote is at column {opened.column + 1})"
        if "end of stream" not in problem:
            text += f": {problem} at line {mark.line + 1}"
        mark = opened
    return _problem(display, mark.line + 1 if mark is not None else None, f"YAML syntax error: {text}")


@dataclass
class _Open:
    anchor: str | None
    nodes: int = 1  # expanded nodes so far, itself included
    height: int = 0  # levels below it so far


def _check_shape(text: str, display: str) -> None:
    """Depth and expanded size on the event stream, before anything is composed or expanded."""
    anchors: dict[str, tuple[int, int]] = {}  # anchor -> (expanded nodes, height)
    stack: list[_Open] = []  # the collections open at this point of the stream
    total = 0

    def fail(event: yaml.Event, message: str) -> SpecError:
        return _problem(display, event.start_mark.line + 1 if event.start_mark else None, message)

    def close(anchor: str | None, nodes: int, height: int) -> None:
        if anchor:
            anchors[anchor] = (nodes, height)
        if stack:
            stack[-1].nodes += nodes
            stack[-1].height = max(stack[-1].height, height + 1)

    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append(_Open(event.anchor))
            total += 1
            if len(stack) > MAX_DEPTH:
                raise fail(event, f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            frame = stack.pop()
            close(frame.anchor, frame.nodes, frame.height)
        elif isinstance(event, yaml.ScalarEvent):
            total += 1
            close(event.anchor, 1, 0)
        elif isinstance(event, yaml.AliasEvent):
            if any(frame.anchor == event.anchor for frame in stack):
                raise fail(event, f"alias *{event.anchor} refers to a node that contains it")
            # an undefined alias fails when composed
            nodes, height = anchors.get(event.anchor or "", (1, 0))
            total += nodes
            if len(stack) + height > MAX_DEPTH:
                raise fail(event, f"alias *{event.anchor} nests the document deeper than {MAX_DEPTH} levels")
            close(None, nodes, height)
        else:
            continue
        if total > MAX_NODES:
            raise fail(event, f"the document expands to more than {MAX_NODES} YAML nodes (keys and values; "
                              "an alias counts its whole node each time it is used)")


def _kind(node: yaml.Node) -> str:
    return {f"{_TAG}bool": "a boolean", f"{_TAG}int": "an integer", f"{_TAG}float": "a number",
            f"{_TAG}null": "null"}.get(node.tag, "not a string")


def _check_nodes(root: yaml.Node, display: str) -> None:
    """Tags and keys, in document order; each problem names the key path it is under."""
    seen: set[int] = set()
    todo: list[tuple[yaml.Node, str]] = [(root, "")]
    while todo:
        node, path = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if node.tag not in ALLOWED_TAGS:
            tag = re.sub(f"^{re.escape(_TAG)}", "!!", node.tag)
            raise _problem(display, node.start_mark.line + 1, f"unsupported YAML tag {tag}; use plain values", path)
        children: list[tuple[yaml.Node, str]] = []
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                line = key.start_mark.line + 1
                if key.tag == f"{_TAG}merge":
                    children.append((value, path))
                elif not isinstance(key, yaml.ScalarNode):
                    raise _problem(display, line, "keys must be strings, not lists or mappings", path)
                elif key.tag != f"{_TAG}str":
                    raise _problem(display, line, f"key {key.value!r} is {_kind(key)} to YAML; keys must be "
                                                  f"strings: quote it (\"{key.value}\")", path)
                else:
                    children.append((value, f"{path}.{key.value}" if path else key.value))
        elif isinstance(node, yaml.SequenceNode):
            children = [(item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(node.value)]
        todo.extend(reversed(children))


def _parse(text: str, display: str) -> tuple[yaml.Node | None, Any]:
    try:
        _check_shape(text, display)
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = None
            if node is not None:
                _check_nodes(node, display)
                data = loader.construct_document(node)  # constructor errors: bad !!int values, duplicate keys
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise syntax_problem(display, exc) from None
    return node, data


def load_yaml(path: Path, display: str) -> YamlDoc:
    """Read, check and compose one spec or group file (a mapping). Raises :class:`SpecError`, located."""
    text = read_text(path, display)
    node, _ = _parse(text, display)
    if node is not None and not isinstance(node, yaml.MappingNode):
        if isinstance(node, yaml.ScalarNode) and node.tag == f"{_TAG}null":
            node = None
        else:
            kind = "a list" if isinstance(node, yaml.SequenceNode) else f"the value {node.value!r}"
            raise _problem(display, node.start_mark.line + 1,
                           f"expected a mapping of keys (project:, model:, ...), got {kind}")
    return YamlDoc(path, display, text, node)


def load_yaml_data(path: Path, display: str) -> Any:
    """The plain data of any other YAML (or JSON) file a user hands the compiler — an MLflow ``MLmodel`` —
    under the same limits. Raises :class:`SpecError`, located; the caller checks the data's shape."""
    return _parse(read_text(path, display), display)[1]
