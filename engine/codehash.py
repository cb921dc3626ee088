"""The digest of the code that shapes a generator's output, for cache keys.

A generator's code is its package (every ``.py`` file of the package its class lives in; a generator that is
a single module directly inside a namespace of many generators, such as ``mlready.generators.runtime``, is
that module alone), the modules its steps name as ``"module:function"`` bodies, and — followed statically
through their ``import`` statements, including imports inside functions — every module of mlready (or of
the plugin's own top-level package) they import: the shared layer, the runtime's config module, the
engine's serializers. Editing any of them changes the digest, so no cache entry outlives the code that made
it, without anyone bumping a version by hand.

The closure is read from source by scanning its import lines (nothing is imported to compute it) and
memoised per process: a running process keeps the code it loaded.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import re
import sys
from collections.abc import Iterable
from functools import cache
from pathlib import Path

#: packages that hold many single-module generators side by side: such a generator's "package" is its module
NAMESPACES = frozenset({"mlready.generators"})


@cache
def _module_file(name: str) -> Path | None:
    """The source file of module ``name`` (a package's ``__init__.py``), or None when it is not Python
    source we can read (a C extension, a namespace package, a name that is not a module). Imports nothing:
    the deepest imported package is the start, the rest is looked up on its path (planning must not import
    what the steps need)."""
    parts = name.split(".")
    i = len(parts)
    while i > 0 and ".".join(parts[:i]) not in sys.modules:
        i -= 1
    try:
        if i == len(parts):
            origin = getattr(sys.modules[name], "__file__", None)
        else:
            found = importlib.util.find_spec(".".join(parts[: i + 1]))  # its parent is imported already
            for depth in range(i + 2, len(parts) + 1):
                if found is None or not found.submodule_search_locations:
                    return None
                found = importlib.machinery.PathFinder.find_spec(
                    ".".join(parts[:depth]), list(found.submodule_search_locations))
            origin = found.origin if found is not None else None
    except (ImportError, ValueError, AttributeError):
        return None
    return Path(origin) if origin and origin.endswith(".py") else None


def _is_package(name: str) -> bool:
    path = _module_file(name)
    return path is not None and path.name == "__init__.py"


_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.M)


@cache
def _imports(name: str) -> frozenset[str]:
    """Every module name ``name`` imports anywhere in its source, inside functions too (absolute form;
    candidates that are not modules, e.g. ``from pkg import function``, are dropped by the caller's lookup).

    A line scan rather than :mod:`ast` (ten times faster, and planning runs on every no-op rebuild): it
    may also pick up an import written in a docstring, which only widens the digest, never narrows it."""
    path = _module_file(name)
    if path is None:
        return frozenset()
    text = path.read_text(encoding="utf-8", errors="replace")
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for m in _FROM.finditer(text):
        module, names = m.group(1), m.group(2).strip("() \t\n")
        level = len(module) - len(module.lstrip("."))
        module = module[level:]
        if level:
            base_parts = package.split(".")
            base = ".".join(base_parts[: len(base_parts) - level + 1])
            module = f"{base}.{module}" if module else base
        out.add(module)
        for alias in names.replace("\\", " ").split(","):
            item = alias.split()[0] if alias.split() else ""
            if item.isidentifier():
                out.add(f"{module}.{item}")  # `from pkg import submodule`
    for m in _IMPORT.finditer(text):
        for alias in m.group(1).split(","):
            item = alias.split()[0] if alias.split() else ""
            if all(part.isidentifier() for part in item.split(".")) and item:
                out.add(item)
    return frozenset(m for m in out if m)


def _package_modules(package: str) -> list[str]:
    """Every module of a package, from its directory (``__pycache__`` and non-Python files skipped)."""
    init = _module_file(package)
    if init is None:
        return []
    root = init.parent
    mods = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).with_suffix("").parts
        if "__pycache__" in rel or not all(part.isidentifier() for part in rel):
            continue
        mods.append(".".join((package, *rel[:-1])) if rel[-1] == "__init__" else ".".join((package, *rel)))
    return mods


def generator_roots(module: str) -> list[str]:
    """The modules a generator defined in ``module`` owns: its package's modules (the package itself when
    the class is defined in its ``__init__``), or the module alone."""
    package = module if _is_package(module) else module.rpartition(".")[0]
    if package and package not in NAMESPACES and _is_package(package):
        return _package_modules(package)
    return [module]


@cache
def _closure(roots: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    tops = {"mlready"} | {r.partition(".")[0] for r in roots}
    seen: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name)
        if path is None:
            continue
        seen[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        # a module's parent packages run first when it is imported: their __init__ is code it runs too
        parents = [name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)]
        todo.extend(m for m in (*_imports(name), *parents) if m.partition(".")[0] in tops and m not in seen)
    return tuple(sorted(seen.items()))


def code_digest(roots: Iterable[str]) -> str:
    """sha256 over the source of ``roots`` and every module of mlready (or of the roots' own top-level
    packages) they import, transitively."""
    h = hashlib.sha256()
    for name, digest in _closure(tuple(sorted(set(roots)))):
        h.update(f"{name}\0{digest}\0".encode())
    return h.hexdigest()


def closure_modules(roots: Iterable[str]) -> list[str]:
    """The module names :func:`code_digest` covers (for tests and ``mlready plan --explain``-style output)."""
    return [name for name, _ in _closure(tuple(sorted(set(roots))))]


def forget() -> None:
    """Drop the memoised sources (after code was edited in this process, e.g. by a test)."""
    for fn in (_module_file, _imports, _closure):
        fn.cache_clear()
