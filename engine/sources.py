"""Where did a value come from? Maps a dotted key path to ``file:line`` or to the override that set it.

Hydra's composed config carries no file or line information, so we re-read the YAML node marks of every
source that took part, in precedence order, and let later sources win, exactly as the merge did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from mlready.engine.errors import SpecProblem


@dataclass(frozen=True)
class Source:
    path: Path  # the YAML file
    prefix: str  # the package the file's content lands at ("" for _global_)

    @property
    def display(self) -> str:
        return display_path(self.path)


def packaged_conf_dir() -> Path:
    """The packaged config groups (``mlready.conf``)."""
    from importlib.resources import files

    return Path(str(files("mlready.conf")))


def display_path(path: Path) -> str:
    """A path as the user should see it: packaged config files as ``mlready:conf/...``, others relative to
    the working directory when below it."""
    path = Path(path)
    packaged = packaged_conf_dir().resolve()
    try:
        return "mlready:conf/" + path.resolve().relative_to(packaged).as_posix()
    except ValueError:
        pass
    try:
        rel = Path(os.path.relpath(path, Path.cwd()))
    except ValueError:  # different drive
        return str(path)
    if rel.parts and rel.parts[0] == "..":
        return str(path)
    return rel.as_posix()


def yaml_syntax_problem(path: Path, exc: yaml.YAMLError) -> SpecProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{display_path(path)}:{mark.line + 1}" if mark is not None else display_path(path)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context else problem
    return SpecProblem(where, "", f"YAML syntax error: {text}")


def package_of(path: Path, group: str | None) -> str:
    """The ``# @package`` a config file declares, as a key prefix ("" for _global_)."""
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                stripped = line.strip()
                if not stripped:
                    continue
                if not stripped.startswith("#"):
                    break
                body = stripped.lstrip("#").strip()
                if body.startswith("@package"):
                    pkg = body[len("@package") :].strip()
                    if pkg == "_global_":
                        return ""
                    if pkg == "_group_":
                        return group or ""
                    return pkg.replace("_global_.", "")
    except OSError:
        return group or ""
    return group or ""


def check_yaml(path: Path) -> SpecProblem | None:
    try:
        with open(path, encoding="utf-8") as fh:
            yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        return yaml_syntax_problem(path, exc)
    return None


class SourceMap:
    """Key path -> where it was last set. Built from YAML sources (lowest precedence first) and overrides."""

    def __init__(self) -> None:
        self._where: dict[str, str] = {}
        self.fallback = ""

    def add_file(self, source: Source) -> None:
        with open(source.path, encoding="utf-8") as fh:
            node = yaml.compose(fh, Loader=yaml.SafeLoader)
        if node is None:
            return
        self._walk(node, source.prefix, source.display, top=True)

    def _walk(self, node: yaml.Node, prefix: str, display: str, top: bool = False) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if top and key == "defaults":
                    continue
                path = f"{prefix}.{key}" if prefix else key
                if isinstance(value_node, yaml.MappingNode):
                    # mappings merge: keys set by earlier sources keep their own locations
                    self._where.setdefault(path, f"{display}:{key_node.start_mark.line + 1}")
                else:
                    # a scalar or a list replaces everything below it that earlier sources set
                    self._where[path] = f"{display}:{key_node.start_mark.line + 1}"
                    for stale in [k for k in self._where if k.startswith(path + ".")]:
                        del self._where[stale]
                self._walk(value_node, path, display)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                path = f"{prefix}.{i}"
                self._where[path] = f"{display}:{item.start_mark.line + 1}"
                self._walk(item, path, display)

    def add_override(self, key: str, text: str) -> None:
        for stale in [k for k in self._where if k == key or k.startswith(key + ".")]:
            del self._where[stale]
        self._where[key] = f"override '{text}'"

    def where(self, key: str) -> str:
        """The most specific known location of ``key`` (or of its nearest parent)."""
        probe = key
        while probe:
            if probe in self._where:
                return self._where[probe]
            probe = probe.rpartition(".")[0]
        return self.fallback
