"""Where config-group options come from: group discovery for composition (engine/compose.py) and
``mlready generators``.

An option ``<group>/<option>`` is, first match wins:

1. a file ``<project>/conf/<group>/<option>.yaml`` (a project's own option shadows the others);
2. a file in the packaged ``mlready.conf``;
3. a file in the config directory of an installed plugin package: the ``mlready.config_groups`` entry-point
   group names packages (``hello = "mlready_hello.conf"``) holding ``<group>/<option>.yaml`` files;
4. a generator's switch, synthesized: a generator with ``group = "target"`` and ``section = "target.hello"``
   is switched on by ``+target=hello``, which sets ``target.hello.enabled: true`` — no YAML file needed.

This module only finds options; compose.py hands them to Hydra (files through the search path, synthesized
switches through Hydra's config store).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mlready.engine.errors import MlreadyError
from mlready.engine.sources import packaged_conf_dir

CONFIG_GROUPS_ENTRY_POINT = "mlready.config_groups"

#: group -> option -> the dotted section the option switches on
Switches = Mapping[str, Mapping[str, str]]


class ConfigPluginError(MlreadyError):
    exit_code = 1


@cache
def plugin_conf_dirs() -> tuple[Path, ...]:
    """Config directories of installed plugin packages, in entry-point name order."""
    from importlib.resources import files

    dirs = []
    for ep in sorted(entry_points(group=CONFIG_GROUPS_ENTRY_POINT), key=lambda e: e.name):
        try:
            path = Path(str(files(ep.value)))
        except (ImportError, TypeError, ValueError) as exc:
            raise ConfigPluginError(f"config-group plugin {ep.name!r} ({ep.value}) cannot be found: {exc}") from exc
        if not path.is_dir():
            raise ConfigPluginError(f"config-group plugin {ep.name!r} ({ep.value}): {path} is not a directory")
        dirs.append(path)
    return tuple(dirs)


def group_dirs(project_dir: Path) -> list[Path]:
    """Where option files are looked up, first match wins."""
    return [project_dir / "conf", packaged_conf_dir(), *plugin_conf_dirs()]


def hydra_searchpath(project_dir: Path) -> list[str]:
    """The same directories as Hydra search-path entries (the project itself is Hydra's config dir)."""
    local = [f"file://{project_dir / 'conf'}"] if (project_dir / "conf").is_dir() else []
    return [*local, "pkg://mlready.conf", *(f"file://{d}" for d in plugin_conf_dirs())]


def switches(generators: Iterable[Any]) -> dict[str, dict[str, str]]:
    """The switch of every generator that a config group enables: ``{"target": {"k8s": "target.k8s"}}``.
    The option is the last part of the generator's section."""
    out: dict[str, dict[str, str]] = {}
    for gen in generators:
        if gen.group:
            out.setdefault(gen.group, {})[gen.section.rsplit(".", 1)[-1]] = gen.section
    return out


def available_groups(project_dir: Path, switched: Switches | None = None) -> dict[str, list[str]]:
    """Every group and its options: option files and generator switches."""
    groups: dict[str, set[str]] = {g: set(opts) for g, opts in (switched or {}).items()}
    for base in group_dirs(project_dir):
        if not base.is_dir():
            continue
        for sub in base.iterdir():
            if sub.is_dir() and not sub.name.startswith(("_", ".")):
                opts = {p.stem for p in sub.glob("*.yaml")}
                if opts:
                    groups.setdefault(sub.name, set()).update(opts)
    return {g: sorted(o) for g, o in sorted(groups.items())}


def option_file(project_dir: Path, group: str, option: str) -> Path | None:
    for base in group_dirs(project_dir):
        candidate = base / group / f"{option}.yaml"
        if candidate.is_file():
            return candidate
    return None


def synthesized_option(project_dir: Path, group: str, option: str, switched: Switches | None
                       ) -> dict[str, Any] | None:
    """The config a generator's switch stands for (``{"target": {"hello": {"enabled": True}}}``, global
    package), or None when a file provides the option or no generator has that switch."""
    section = (switched or {}).get(group, {}).get(option)
    if section is None or option_file(project_dir, group, option) is not None:
        return None
    node: dict[str, Any] = {"enabled": True}
    for part in reversed(section.split(".")):
        node = {part: node}
    return node


def describe_option(project_dir: Path, group: str, option: str, switched: Switches | None) -> str:
    """Where an option comes from, for ``mlready config``'s origins."""
    from mlready.engine.sources import display_path

    path = option_file(project_dir, group, option)
    if path is not None:
        return display_path(path)
    section = (switched or {}).get(group, {}).get(option)
    return f"the {section} generator's switch ({section}.enabled: true)" if section else ""
