"""Where did a value come from? Maps a dotted key path to ``file:line`` or to the override that set it.

Hydra's composed config carries no file or line information, so we re-read the YAML node marks of every
source that took part, in precedence order, and let later sources win, exactly as the merge did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml


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


def package_of(text: str, group: str | None) -> str:
    """The ``# @package`` a config file's header comment declares, as a key prefix ("" for _global_)."""
    for line in text.splitlines():
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
    return group or ""


class SourceMap:
    """Key path -> where it was last set. Built from YAML sources (lowest precedence first) and overrides."""

    def __init__(self) -> None:
        self._where: dict[str, str] = {}
        self.fallback = ""

    def add_file(self, source: Source, node: yaml.Node | None) -> None:
        """Record the keys of one source's composed YAML (from :func:`mlready.engine.userfiles.load_yaml`)."""
        if node is None:
            return
        found: list[tuple[str, str, bool]] = []  # (path, location, replaces what earlier sources set below it)
        self._walk(node, source.prefix, source.display, found, top=True)
        replaced = {path for path, _, replaces in found if replaces}
        if replaced:  # one pass, not one scan per key: a file with n keys must not cost n * (keys so far)
            for key in [k for k in self._where if _has_prefix_in(k, replaced)]:
                del self._where[key]
        for path, where, replaces in found:
            if replaces:
                self._where[path] = where
            else:  # mappings merge: keys set by earlier sources keep their own locations
                self._where.setdefault(path, where)

    def _walk(self, node: yaml.Node, prefix: str, display: str, found: list[tuple[str, str, bool]],
              top: bool = False) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if top and key == "defaults":
                    continue
                path = f"{prefix}.{key}" if prefix else key
                found.append((path, f"{display}:{key_node.start_mark.line + 1}",
                              not isinstance(value_node, yaml.MappingNode)))
                self._walk(value_node, path, display, found)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                path = f"{prefix}.{i}"
                found.append((path, f"{display}:{item.start_mark.line + 1}", True))
                self._walk(item, path, display, found)

    def add_override(self, key: str, text: str) -> None:
        for stale in [k for k in self._where if k == key or k.startswith(key + ".")]:
            del self._where[stale]
        self._where[key] = f"override '{text}'"

    def recorded(self) -> dict[str, str]:
        """Every key a source set, exactly (no parent fallback) -> its location (``mlready config``)."""
        return dict(self._where)

    def where(self, key: str) -> str:
        """The most specific known location of ``key`` (or of its nearest parent)."""
        probe = key
        while probe:
            if probe in self._where:
                return self._where[probe]
            probe = probe.rpartition(".")[0]
        return self.fallback


def _has_prefix_in(key: str, paths: set[str]) -> bool:
    """Whether ``key`` is strictly below one of ``paths``."""
    probe = key.rpartition(".")[0]
    while probe:
        if probe in paths:
            return True
        probe = probe.rpartition(".")[0]
    return False
