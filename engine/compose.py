"""Hydra composition — the only module that imports Hydra or OmegaConf.

Precedence, lowest first:

1. the schema defaults (every key, from the pydantic section models; required ones are ``???``),
2. the default-list groups ``env`` and ``optimize`` (``env=prod``, ``optimize=auto``),
3. the project's ``deploy.yaml``,
4. appended groups in command-line order (``+target=k8s``, ``+ci=[gitlab,jenkins]``, ``+monitoring=grafana``),
5. key overrides in command-line order (``serving.replicas=3``, ``+serving.labels.team=ml``, ``~key``).

Config groups are looked up in ``<project>/conf/<group>/`` first (user-local options shadow packaged ones of the
same name), then in the packaged ``mlready.conf``. Group overrides are checked before Hydra runs and key
overrides are applied after it, so that every problem is collected and located, not just the first.
"""

from __future__ import annotations

import difflib
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlready.engine.errors import SpecError, SpecProblem, UsageError
from mlready.engine.groups import (
    Switches,
    available_groups,
    describe_option,
    group_dirs,
    hydra_searchpath,
    option_file,
    synthesized_option,
)
from mlready.engine.shapes import shape_conflicts
from mlready.engine.sources import Source, SourceMap, display_path, package_of, packaged_conf_dir
from mlready.engine.userfiles import MAX_BYTES, MAX_DEPTH, YamlDoc, load_yaml

SPEC_FILE = "deploy.yaml"
DEFAULT_GROUPS: dict[str, str] = {"env": "dev", "optimize": "none"}  # group -> default option


@dataclass
class Composition:
    config: dict[str, Any]  # plain, resolved; required-but-missing values are absent
    missing: list[str]  # key paths still ``???``
    choices: dict[str, str | list[str]]
    overrides: list[str]
    sources: SourceMap
    choice_origin: dict[str, str] = field(default_factory=dict)  # group -> "default", "deploy.yaml", override
    problems: list[SpecProblem] = field(default_factory=list)  # override problems, reported with validation's


@dataclass
class _GroupOverride:
    text: str
    group: str
    options: list[str]
    append: bool


def _quote_hint(text: str) -> str:
    """A hint for a value Hydra's grammar cannot read unquoted (a gate such as ``f1 >= 0.9``, a URL's ``(``): the
    quoted form of the same override, for the shell (outer single quotes) and for Hydra (inner double quotes)."""
    key, sep, value = text.partition("=")
    if not sep or not re.search(r"[\s<>=()!'\\]", value) or value.lstrip().startswith(("'", '"')):
        return ""
    if value.startswith("[") and value.endswith("]"):
        items = [i.strip() for i in value[1:-1].split(",")]
        quoted = "[" + ", ".join(f'"{i}"' for i in items if i) + "]"
    else:
        quoted = f'"{value}"'
    return f" (quote values with spaces or >, <, =, (, ): '{key}={quoted}')"


def _parse_overrides(
    overrides: list[str], groups: dict[str, list[str]], problems: list[SpecProblem]
) -> tuple[list[_GroupOverride], list[Any]]:
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    parser = OverridesParser.create()
    group_ovs: list[_GroupOverride] = []
    key_ovs: list[Any] = []
    for text in overrides:
        try:
            ov = parser.parse_override(text)
        except HydraException as exc:
            msg = str(exc).split("\n")[0]
            problems.append(SpecProblem(f"override '{text}'", "", f"malformed override: {msg}{_quote_hint(text)}"))
            continue
        if ov.is_sweep_override():
            problems.append(
                SpecProblem(f"override '{text}'", ov.key_or_group, "a sweep is not a build; for several options "
                            f"use a list: {ov.get_key_element()}=[a,b]")
            )
            continue
        if ov.key_or_group in groups or (ov.key_or_group in DEFAULT_GROUPS):
            if ov.is_delete():
                problems.append(SpecProblem(f"override '{text}'", ov.key_or_group, "a config group cannot be deleted"))
                continue
            value = ov.value()
            options = [str(v) for v in value] if isinstance(value, list) else [str(value)]
            group_ovs.append(_GroupOverride(text, ov.key_or_group, options, append=ov.is_add() or ov.is_force_add()))
        else:
            key_ovs.append(ov)
    return group_ovs, key_ovs


def _check_group_options(
    project_dir: Path, group_ovs: list[_GroupOverride], groups: dict[str, list[str]], problems: list[SpecProblem]
) -> list[_GroupOverride]:
    """Report unknown options; return the overrides that can be composed."""
    good = []
    for gov in group_ovs:
        before = len(problems)
        available = groups.get(gov.group, [])
        if gov.group in DEFAULT_GROUPS and len(gov.options) != 1:
            problems.append(SpecProblem(f"override '{gov.text}'", gov.group, "takes exactly one option"))
        elif not gov.options:
            problems.append(SpecProblem(f"override '{gov.text}'", gov.group, "choose at least one option"))
        for opt in gov.options:
            if opt not in available:
                hint = difflib.get_close_matches(opt, available, n=1)
                did = f" (did you mean '{hint[0]}'?)" if hint else ""
                problems.append(
                    SpecProblem(
                        f"override '{gov.text}'",
                        gov.group,
                        f"unknown option '{opt}'{did}; available: {', '.join(available) or 'none'}",
                    )
                )
        if len(problems) == before:
            good.append(gov)
    return good


def compose(project_dir: Path, overrides: list[str], base: dict[str, Any], cache: Path | None = None,
            switches: Switches | None = None) -> Composition:
    """Compose ``<project_dir>/deploy.yaml`` with config groups and overrides. Raises :class:`SpecError`.

    With ``cache``, a composition is memoised under a content hash of everything it reads (deploy.yaml, every
    group file, the overrides, the schema defaults, Hydra's version): a no-op rebuild skips Hydra entirely.
    ``switches`` are the generators' group switches (:func:`mlready.engine.groups.switches`): options that
    need no file.
    """
    if cache is None:
        return _compose(project_dir, overrides, base, switches)
    key = _composition_key(project_dir.resolve(), overrides, base, switches)
    entry = cache / f"{key}.json" if key else None
    if entry is not None and entry.is_file():
        try:
            return _load_composition(entry)
        except (OSError, ValueError, KeyError):
            pass
    comp = _compose(project_dir, overrides, base, switches)
    if entry is not None and not comp.problems:
        _store_composition(entry, comp)
    return comp


#: ``${oc.env:HOME}``, ``${now:%H}``: a resolver reads more than the files (the environment, the clock), so a
#: composition that may use one is not memoised under the files' hash.
_RESOLVER = re.compile(rb"\$\{\s*[\w.]+\s*:")


def _composition_key(project_dir: Path, overrides: list[str], base: dict[str, Any], switches: Switches | None
                     ) -> str | None:
    import hashlib
    import json
    from importlib.metadata import version

    h = hashlib.sha256()
    spec_path = project_dir / SPEC_FILE
    if not spec_path.is_file():
        return None
    files: list[Path] = [spec_path]
    for d in group_dirs(project_dir):
        if d.is_dir():
            files.extend(sorted(p for p in d.rglob("*.yaml") if p.is_file()))
    for f in files:
        with open(f, "rb") as fh:  # a file past the loader's limit fails when it is used; hash no more of it
            data = fh.read(MAX_BYTES + 1)
        if _RESOLVER.search(data):
            return None
        h.update(str(f).encode() + b"\0" + data + b"\0")
    if any(_RESOLVER.search(o.encode("utf-8", "surrogateescape")) for o in overrides):
        return None
    from mlready.engine.codehash import code_digest

    code = code_digest([__name__])  # this module and what it imports: a new check must not meet an old memo
    h.update(json.dumps([overrides, base, switches or {}, str(Path.cwd()), version("hydra-core"), code],
                        sort_keys=True).encode())
    return h.hexdigest()


def _store_composition(entry: Path, comp: Composition) -> None:
    import json

    from mlready.engine.writer import atomic_write_text

    data = {"config": comp.config, "missing": comp.missing, "choices": comp.choices, "overrides": comp.overrides,
            "origin": comp.choice_origin, "where": comp.sources._where, "fallback": comp.sources.fallback}
    atomic_write_text(entry, json.dumps(data))


def _load_composition(entry: Path) -> Composition:
    import json

    data = json.loads(entry.read_text(encoding="utf-8"))
    sources = SourceMap()
    sources._where = data["where"]
    sources.fallback = data["fallback"]
    return Composition(data["config"], data["missing"], data["choices"], data["overrides"], sources, data["origin"])


def require_spec(project_dir: Path, overrides: list[str] | None = None) -> None:
    """A usage error unless ``project_dir`` holds a spec; an override that is a project folder (``mlready build
    examples/quickstart``) is named as the ``-C`` it was meant to be."""
    if not project_dir.is_dir():
        raise UsageError(f"project directory {project_dir} does not exist")
    if not (project_dir / SPEC_FILE).is_file():
        meant = next((o for o in overrides or () if "=" not in o and (Path(o) / SPEC_FILE).is_file()), None)
        hint = f"did you mean `-C {meant}`?" if meant else "use -C to point at a project, or `mlready new`"
        raise UsageError(f"no {SPEC_FILE} in {project_dir} ({hint})")


def _compose(project_dir: Path, overrides: list[str], base: dict[str, Any], switches: Switches | None = None
             ) -> Composition:
    project_dir = project_dir.resolve()
    spec_path = project_dir / SPEC_FILE
    require_spec(project_dir, overrides)

    problems: list[SpecProblem] = []
    _read_user_file(spec_path)  # an unreadable spec stops here, before overrides are looked at

    groups = available_groups(project_dir, switches)
    group_ovs, key_ovs = _parse_overrides(overrides, groups, problems)
    group_ovs = _check_group_options(project_dir, group_ovs, groups, problems)

    # The group choices, in the order Hydra will merge them.
    defaults = dict(DEFAULT_GROUPS)
    origin = {g: "default" for g in defaults}
    appended: list[tuple[str, list[str], str]] = []
    for gov in group_ovs:
        if gov.group in DEFAULT_GROUPS:  # `env=prod` and a forgiving `+env=prod`
            defaults[gov.group] = gov.options[0]
        else:  # `+target=k8s` and a forgiving `target=k8s`
            appended.append((gov.group, gov.options, gov.text))
        origin[gov.group] = f"override '{gov.text}'"
    seen: dict[str, str] = {}
    for group, _, text in appended:
        if group in seen:
            problems.append(SpecProblem(f"override '{text}'", group, f"already chosen by override '{seen[group]}'; "
                                        f"give several options as one list: +{group}=[a,b]"))
        seen[group] = text

    # Every file that takes part, lowest precedence first, read and checked by the one loader before Hydra
    # reads them: Hydra then parses only files that passed the size, encoding, depth and alias limits.
    files: list[tuple[Path, str | None]] = [(p, g) for g, o in defaults.items() if (p := option_file(project_dir, g, o))]
    files.append((spec_path, None))
    files += [(p, g) for g, opts, _ in appended for o in opts if (p := option_file(project_dir, g, o))]
    ordered: list[tuple[Source, YamlDoc]] = []
    file_problems: list[SpecProblem] = []
    for path, group_of in files:
        try:
            doc, prefix = _read_user_file(path, group_of)
        except SpecError as exc:
            file_problems += exc.problems
            continue
        ordered.append((Source(path, prefix), doc))
    file_problems += shape_conflicts(base, [(src, doc.node, doc.display) for src, doc in ordered])
    if file_problems:
        raise SpecError(problems + file_problems)

    hydra_overrides = [f"hydra.searchpath=[{','.join(hydra_searchpath(project_dir))}]"]
    hydra_overrides += [f"{g}={o}" for g, o in defaults.items()]
    for group, opts, _ in appended:
        hydra_overrides.append(f"+{group}=[{','.join(opts)}]" if len(opts) > 1 else f"+{group}={opts[0]}")

    sources = SourceMap()
    sources.fallback = SPEC_FILE if project_dir == Path.cwd() else str(spec_path)
    for src, doc in ordered:
        sources.add_file(src, doc.node)
    synthesized = {(g, o): node for g, opts, _ in appended for o in opts
                   if (node := synthesized_option(project_dir, g, o, switches)) is not None}
    cfg = _hydra_compose(project_dir, hydra_overrides, base, {d.path.resolve(): d.display for _, d in ordered},
                         synthesized)
    _install_interpolation_budget()
    token = _budget.set([INTERPOLATION_BUDGET])
    try:
        _apply_key_overrides(cfg, key_ovs, sources, problems)
        config, missing = _to_plain(cfg, sources, problems)
    finally:
        _budget.reset(token)
    choices: dict[str, str | list[str]] = dict(defaults)
    for group, opts, _ in appended:
        choices[group] = opts
    for group, choice in choices.items():  # say which file each choice was read from
        opts = choice if isinstance(choice, list) else [choice]
        where = ", ".join(filter(None, (describe_option(project_dir, group, o, switches) for o in opts)))
        origin[group] = f"{origin.get(group, 'default')} -> {where}"
    return Composition(config, missing, choices, list(overrides), sources, origin, problems)


#: top-level keys that belong to Hydra: a user's file may not set them
_HYDRA_KEYS = {
    "defaults": "config groups are chosen on the command line (env=prod, +target=k8s), not with a Hydra "
                "defaults list",
    "hydra": "Hydra's own settings are not part of the spec",
}


def _read_user_file(path: Path, group: str | None = None) -> tuple[YamlDoc, str]:
    """Load a spec or group file and the key prefix its content lands at (its ``# @package``). A user's file
    may not carry a Hydra defaults list (it would make Hydra read files nothing checked, and choose groups the
    build's record of choices would not show) nor a ``hydra:`` section (Hydra takes it, silently)."""
    doc = load_yaml(path, display_path(path))
    prefix = "" if group is None else package_of(doc.text, group)
    if doc.node is not None and _is_user_file(path):
        for key, _ in doc.node.value:
            name = str(key.value)  # Hydra reads a file's `defaults` whatever its package; `hydra` at the root
            if name == "defaults" or (name == "hydra" and not prefix):
                raise SpecError(SpecProblem(f"{doc.display}:{key.start_mark.line + 1}", name, _HYDRA_KEYS[name]))
    return doc, prefix


def _is_user_file(path: Path) -> bool:
    try:
        path.resolve().relative_to(packaged_conf_dir().resolve())
    except ValueError:
        return True
    return False


def _hydra_compose(project_dir: Path, hydra_overrides: list[str], base: dict[str, Any], displays: dict[Path, str],
                   synthesized: dict[tuple[str, str], dict[str, Any]] | None = None) -> Any:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    store = ConfigStore.instance()
    store.store(name="mlready_base", node=base)
    store.store(
        name="mlready_root",
        node={"defaults": ["mlready_base", *({g: o} for g, o in DEFAULT_GROUPS.items()), "deploy", "_self_"]},
    )
    for (group, option), node in (synthesized or {}).items():  # a generator's switch with no option file
        store.store(group=group, name=option, node=node, package="_global_")
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(project_dir), version_base="1.3", job_name="mlready"):
            cfg = hydra_compose(config_name="mlready_root", overrides=hydra_overrides)
    except (HydraException, OmegaConfBaseException, ValueError) as exc:
        # The files were checked (syntax, limits, shapes) before Hydra read them; what is left is named by
        # Hydra as "In 'target/k8s': ...": locate it in that file.
        text = str(exc.__cause__ or exc).strip()
        where = displays.get((project_dir / SPEC_FILE).resolve(), SPEC_FILE)
        m = re.match(r"In '([^']+)': (.*)", text, re.S)
        if m:
            for path, display in displays.items():
                if path.with_suffix("").as_posix().endswith("/" + m.group(1)):
                    where = display
            text = m.group(2)
        first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().endswith(":")),
                     text.split("\n")[0])
        raise SpecError([SpecProblem(where, "", f"cannot compose the spec: {first}")]) from exc
    finally:  # a switch is stored for this composition only: the store is process-wide, and a later project
        # may provide that option as a file (Hydra would then validate the file against the stored node)
        for group, option in synthesized or {}:
            store.repo.get(group, {}).pop(f"{option}.yaml", None)
    OmegaConf.set_struct(cfg, True)
    return cfg


def _apply_key_overrides(cfg: Any, key_ovs: list[Any], sources: SourceMap, problems: list[SpecProblem]) -> None:
    from omegaconf.errors import OmegaConfBaseException

    for ov in key_ovs:
        where = f"override '{ov.input_line}'"
        try:
            problem = _apply_key_override(cfg, ov)
        except (OmegaConfBaseException, ValueError, TypeError) as exc:  # bad keys, bad values, interpolations
            problem = _first_line(exc)
        if problem:
            problems.append(SpecProblem(where, ov.key_or_group, problem))
        else:
            sources.add_override(ov.key_or_group, ov.input_line)


def _apply_key_override(cfg: Any, ov: Any) -> str | None:
    """Apply one ``key=value`` / ``+key=value`` / ``~key`` override; the problem's message, or None."""
    from omegaconf import OmegaConf, open_dict

    key = ov.key_or_group
    exists = _has_key(cfg, key)
    if ov.is_delete():
        if not exists:
            return "cannot delete: no such key"
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent, throw_on_resolution_failure=False) if parent else cfg
        if node is None or not hasattr(node, "keys"):
            return "cannot delete: its parent is not a mapping"
        with open_dict(node):
            del node[leaf]
        return None
    if not exists and not (ov.is_add() or ov.is_force_add()):
        return _unknown_key_message(cfg, key)
    if exists and ov.is_add() and not ov.is_force_add():
        return f"already set; override it with '{key}=...' (no '+')"
    with open_dict(cfg):
        OmegaConf.update(cfg, key, ov.value(), merge=False, force_add=True)
    return None


def _has_key(cfg: Any, key: str) -> bool:
    """Whether ``key`` is set, without resolving its value (a broken interpolation there is still a key)."""
    from omegaconf import DictConfig, ListConfig, OmegaConf

    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key, default=None, throw_on_missing=False,
                              throw_on_resolution_failure=False) if parent_key else cfg
    if isinstance(parent, DictConfig) and not parent._is_none() and not parent._is_missing():
        return leaf in parent.keys()
    if isinstance(parent, ListConfig) and not parent._is_none() and not parent._is_missing():
        return leaf.isdigit() and int(leaf) < len(parent)
    return False


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().split("\n")[0] or type(exc).__name__).strip()


def _unknown_key_message(cfg: Any, key: str) -> str:
    from omegaconf import DictConfig, OmegaConf

    parent_key, _, leaf = key.rpartition(".")
    parent = OmegaConf.select(cfg, parent_key, default=None, throw_on_resolution_failure=False) if parent_key else cfg
    if not isinstance(parent, DictConfig):
        return "unknown key"
    siblings = [str(k) for k in parent.keys()]
    hint = difflib.get_close_matches(leaf, siblings, n=1)
    if hint:
        return f"unknown key (did you mean '{parent_key + '.' if parent_key else ''}{hint[0]}'?)"
    return f"unknown key; to add a new entry use '+{key}=...'"


#: Interpolations are re-evaluated every time they are read (OmegaConf keeps no results), so nine keys that
#: each repeat the previous one nine times cost 9**n evaluations: the "billion laughs" of interpolation. A
#: composition may follow at most this many references (``${a.b}``, a resolver call) — a real spec needs a
#: few dozen; each costs OmegaConf a parse, about 0.1 ms — and no interpolated value may be longer than this.
INTERPOLATION_BUDGET = 2_000
MAX_INTERPOLATED = 16 * 1024
_budget: ContextVar[list[int] | None] = ContextVar("mlready_interpolation_budget", default=None)
_BUDGET_SPENT = f"interpolations follow more than {INTERPOLATION_BUDGET} references"


def _install_interpolation_budget() -> None:
    """Count OmegaConf's reference lookups against the composition's budget (nothing outside a composition)."""
    from omegaconf.base import Container
    from omegaconf.errors import InterpolationResolutionError

    def counted(original: Any) -> Any:
        def step(self: Any, *args: Any, **kwargs: Any) -> Any:
            budget = _budget.get()
            if budget is not None:
                budget[0] -= 1
                if budget[0] < 0:
                    raise InterpolationResolutionError(_BUDGET_SPENT)
            return original(self, *args, **kwargs)
        return step

    def bounded(original: Any) -> Any:
        def resolve(self: Any, *args: Any, **kwargs: Any) -> Any:
            value = original(self, *args, **kwargs)
            if _budget.get() is not None and isinstance(value, str) and len(value) > MAX_INTERPOLATED:
                raise InterpolationResolutionError(f"the interpolated value is longer than {MAX_INTERPOLATED} "
                                                   "characters")
            return value
        return resolve

    if getattr(Container, "mlready_budget", False):
        return
    Container._resolve_node_interpolation = counted(Container._resolve_node_interpolation)  # type: ignore[method-assign]
    Container._evaluate_custom_resolver = counted(Container._evaluate_custom_resolver)  # type: ignore[method-assign]
    Container.resolve_parse_tree = bounded(Container.resolve_parse_tree)  # type: ignore[method-assign]
    Container.mlready_budget = True  # type: ignore[attr-defined]


def _to_plain(cfg: Any, sources: SourceMap, problems: list[SpecProblem]) -> tuple[dict[str, Any], list[str]]:
    """The resolved config as plain data, and the keys still ``???``. Every value is resolved on its own, so
    that each interpolation that fails (unknown key, a loop, a resolver error, the budget) becomes a problem
    located at its own key, and the rest of the spec is still validated."""
    missing: list[str] = []
    plain = _resolve(cfg, "", sources, problems, missing, set())
    return plain, sorted(missing)


def _resolve(node: Any, path: str, sources: SourceMap, problems: list[SpecProblem], missing: list[str],
             active: set[int]) -> Any:
    from omegaconf import DictConfig, ListConfig
    from omegaconf.errors import OmegaConfBaseException

    if id(node) in active or path.count(".") > MAX_DEPTH:  # an interpolation that leads into itself
        problems.append(SpecProblem(sources.where(path), path, "an interpolation refers to a key that contains it"))
        return None
    active.add(id(node))
    is_dict = isinstance(node, DictConfig)
    out: Any = {} if is_dict else []
    for k in list(node.keys()) if is_dict else range(len(node)):
        full = f"{path}.{k}" if path else str(k)
        raw = node._get_node(k)
        if raw is not None and raw._is_missing() and not raw._is_interpolation():
            missing.append(full)
            continue
        try:
            value = node[k]
        except (OmegaConfBaseException, ValueError, TypeError) as exc:
            message = _first_line(exc)
            if message == _BUDGET_SPENT and any(p.message.endswith(_BUDGET_SPENT) for p in problems):
                continue  # said once, at the first key that ran out
            shown = f"'{_clip(str(raw._value()))}': " if raw is not None and raw._is_interpolation() else ""
            problems.append(SpecProblem(sources.where(full), full, f"cannot resolve {shown}{message}"))
            continue
        if isinstance(value, DictConfig | ListConfig):
            value = None if value._is_none() else _resolve(value, full, sources, problems, missing, active)
        if is_dict:
            out[str(k)] = value
        else:
            out.append(value)
    active.discard(id(node))
    return out
