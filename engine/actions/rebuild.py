"""Building on the previous build: the overrides an action (``mlready image``) runs with so that it adds to
what the user built instead of replacing it.

``mlready build optimize=auto +target=k8s`` then ``mlready image +target=docker`` must keep the k8s bundle, the
optimization report and the optimized model: the image is built from the previous build's choices plus the new
overrides (appended groups such as ``target`` are united, a default group such as ``env`` or a key given again
takes the new value). The build then refuses to write if it would still drop a file the previous build made
(:func:`mlready.engine.api.build`'s ``keep``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlready.engine.manifest import FILENAME, Manifest

_GROUP = re.compile(r"^(\+{0,2})([A-Za-z_][\w-]*)=(.*)$", re.DOTALL)
_KEY = re.compile(r"^[~+]{0,2}([^=]+)")
DEFAULT_GROUPS = ("env", "optimize")  # one option each; the others (target, ci, ...) are appended lists


@dataclass(frozen=True)
class Previous:
    """The build an action builds on: its overrides and the artifact paths it must keep."""

    overrides: list[str]
    paths: frozenset[str]


def previous_build(out_dir: Path) -> Previous | None:
    """The build recorded in ``out_dir`` (None when there is none yet)."""
    if not (out_dir / FILENAME).is_file():
        return None
    manifest = Manifest.load(out_dir / FILENAME)
    return Previous(list(manifest.spec.overrides), frozenset(a.path for a in manifest.artifacts))


def _options(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("[") and value.endswith("]"):
        return [v.strip() for v in value[1:-1].split(",") if v.strip()]
    return [value]


def merge_overrides(previous: list[str], new: list[str], groups: set[str]) -> list[str]:
    """``previous`` then ``new`` as one override list Hydra accepts: group choices united (default groups and
    keys: the new value wins), in a stable order."""
    choices: dict[str, list[str]] = {}
    keys: dict[str, str] = {}
    for text in [*previous, *new]:
        m = _GROUP.match(text)
        if m and m.group(2) in groups | set(DEFAULT_GROUPS):
            group, opts = m.group(2), _options(m.group(3))
            if group in DEFAULT_GROUPS:
                choices[group] = opts[:1]
            else:
                choices[group] = choices.get(group, []) + [o for o in opts if o not in choices.get(group, [])]
            continue
        key = _KEY.match(text)
        name = key.group(1).strip() if key else text
        keys.pop(name, None)  # the later value wins, placed last
        keys[name] = text
    out = [f"{g}={opts[0]}" for g, opts in choices.items() if g in DEFAULT_GROUPS]
    out += [f"+{g}={opts[0]}" if len(opts) == 1 else f"+{g}=[{','.join(opts)}]"
            for g, opts in choices.items() if g not in DEFAULT_GROUPS and opts]
    return out + list(keys.values())


def group_names(project_dir: Path) -> set[str]:
    """Every config group the project can choose from (option files and generator switches)."""
    from mlready.engine import registry
    from mlready.engine.groups import available_groups, switches

    return set(available_groups(project_dir, switches(registry.generators())))
