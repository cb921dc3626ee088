"""MkDocs hook (mkdocs.yml ``hooks:``) generating the documentation site's reference pages at build time.

- ``reference/spec.md``: every key of deploy.yaml from the JSON Schema mlready itself validates with (the one
  ``mlready schema`` prints): type, default, description, and the switch that turns its section on;
- ``index.md`` and ``internals/*.md``: the repository's READMEs, their links between each other kept and their
  links to source files turned into plain text (the site has no source files);
- ``<!-- mlready:keys SECTION -->`` in a hand-written page (a target's) becomes the table of that section's keys.

Nothing is written into the repository: the pages exist only in the build (``File.generated``).
Only the generators shipped with mlready are documented (an installed test plugin's section is left out).
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KEYS_MARKER = re.compile(r"<!-- mlready:keys ([\w.]+) -->")
LINK = re.compile(r"(?<!!)\[([^\]]+)\]\(([^)\s]+)\)")

#: README -> page; the order is the nav's (mkdocs.yml lists the same pages)
READMES = {
    "README.md": "index.md",
    "engine/README.md": "internals/engine.md",
    "engine/actions/README.md": "internals/engine-actions.md",
    "engine/lifecycle/README.md": "internals/engine-lifecycle.md",
    "conf/README.md": "internals/config-groups.md",
    "templates/README.md": "internals/templates.md",
    "runtime/README.md": "internals/runtime.md",
    "generators/README.md": "internals/generators.md",
    "generators/_shared/README.md": "internals/generators-shared.md",
    **{f"generators/{name}/README.md": f"internals/generators-{name}.md"
       for name in ("model", "readiness", "optimize", "docker", "k8s", "helm", "kserve", "cloud", "compose", "edge",
                    "ci", "monitoring", "batch")},
}

#: sections read on every build (no switch), and the sections switched on by a group option file
ALWAYS = ("project", "model", "data", "env", "serving", "pipeline", "ci", "monitoring", "target")
SPECIAL = {
    "readiness": "`data.eval` and `readiness.gates`",
    "optimize": "`optimize=auto` (or one pass: `optimize=int8`, …)",
    "tracking": "on by default (`tracking.enabled: false` turns it off)",
}


def _ours(generator: Any) -> bool:
    return type(generator).__module__.startswith("mlready.")


def switches() -> dict[str, str]:
    """Section path -> the switch that turns it on, for the generators shipped with mlready."""
    from mlready.engine.registry import generators

    out = {section: "always read" for section in ALWAYS}
    out.update(SPECIAL)
    for g in generators():
        if _ours(g) and g.group:
            out[g.section] = f"`+{g.group}={g.name}`"
    return out


def schema() -> dict[str, Any]:
    from mlready.engine.registry import generators
    from mlready.engine.spec import spec_model

    return spec_model(list(generators())).model_json_schema()


def _foreign_sections() -> set[str]:
    from mlready.engine.registry import generators

    return {g.section for g in generators() if not _ours(g)}


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = {**defs[node["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _type(node: dict[str, Any], defs: dict[str, Any]) -> str:
    node = _resolve(node, defs)
    if "enum" in node:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in node["enum"])
    if "const" in node:
        return f"`{json.dumps(node['const'])}`"
    if "anyOf" in node:
        return " or ".join(dict.fromkeys(_type(n, defs) for n in node["anyOf"]))
    kind = node.get("type", "object" if "properties" in node else "any")
    if kind == "array":
        return f"list of {_type(node.get('items', {}), defs)}"
    if kind == "object" and "properties" not in node and isinstance(node.get("additionalProperties"), dict):
        return f"map of {_type(node['additionalProperties'], defs)}"
    return str(kind)


def _object(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema a key holds (directly, optionally, or as list items), or None for a plain value."""
    node = _resolve(node, defs)
    if "properties" in node:
        return node
    for option in node.get("anyOf", []):
        found = _object(option, defs)
        if found is not None:
            return found
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        return _object(node["items"], defs)
    return None


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def keys(spec_schema: dict[str, Any] | None = None) -> list[dict[str, str]]:
    """Every key under a section, depth first: key, type, default, description, switch."""
    spec_schema = spec_schema or schema()
    defs, switch, foreign = spec_schema.get("$defs", {}), switches(), _foreign_sections()
    rows: list[dict[str, str]] = []

    def walk(obj: dict[str, Any], prefix: str, on: str) -> None:
        required = set(obj.get("required", []))
        for name in sorted(obj.get("properties", {})):
            node = obj["properties"][name]
            path = f"{prefix}{name}"
            if path in foreign:
                continue
            here = switch.get(path, on)
            resolved = _resolve(node, defs)
            default = ("required" if name in required else "—") if "default" not in node and "default" not in resolved \
                else f"`{json.dumps(node.get('default', resolved.get('default')))}`"
            description = node.get("description") or resolved.get("description") or ""
            rows.append({"key": path, "type": _type(node, defs), "default": default,
                         "description": _cell(description), "switch": here})
            inner = _object(node, defs)
            if inner is not None:
                is_list = _resolve(node, defs).get("type") == "array" or any(
                    _resolve(o, defs).get("type") == "array" for o in _resolve(node, defs).get("anyOf", []))
                walk(inner, f"{path}[]." if is_list else f"{path}.", here)

    walk(spec_schema, "", "always read")
    return rows


def keys_table(rows: list[dict[str, str]], section: str | None = None, with_switch: bool = True) -> str:
    if section is not None:
        rows = [r for r in rows if r["key"] == section or r["key"].startswith(section + ".")]
    head = "| key | type | default | description |" + (" turned on by |" if with_switch else "")
    rule = "| --- | --- | --- | --- |" + (" --- |" if with_switch else "")
    lines = [head, rule]
    for r in rows:
        line = f"| `{r['key']}` | {_cell(r['type'])} | {_cell(r['default'])} | {r['description']} |"
        lines.append(line + (f" {r['switch']} |" if with_switch else ""))
    return "\n".join(lines)


def spec_page(rows: list[dict[str, str]]) -> str:
    sections = [r["key"] for r in rows if "." not in r["key"]]
    parts = [
        "# Spec reference",
        "",
        "Every key of `deploy.yaml`, generated from the JSON Schema mlready validates the spec with "
        "(`mlready schema` prints it; point your editor's YAML language server at it). A key's section is read "
        "when the switch in the last column is given (an override such as `+target=k8s`, or a group option "
        "such as `optimize=auto`); `mlready config` shows the composed spec and where each value came from.",
        "",
    ]
    for section in sections:
        switch = next(r["switch"] for r in rows if r["key"] == section)
        parts += [f"## `{section}`", "", f"Turned on by: {switch}.", "", keys_table(rows, section), ""]
    return "\n".join(parts)


def rewrite_links(text: str, source: str) -> str:
    """Links to another documented README point at its page; other relative links become plain text."""
    here = posixpath.dirname(source)
    page_dir = posixpath.dirname(READMES[source])

    def fix(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            return match.group(0)
        path, _, anchor = target.partition("#")
        repo_path = posixpath.normpath(posixpath.join(here, path))
        if repo_path.endswith("/") or not repo_path.endswith(".md"):
            repo_path = posixpath.join(repo_path, "README.md") if not repo_path.endswith(".md") else repo_path
        page = READMES.get(repo_path)
        if page is None:
            return label
        rel = posixpath.relpath(page, page_dir or ".")
        return f"[{label}]({rel}{'#' + anchor if anchor else ''})"

    out, fenced = [], False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append(line if fenced else LINK.sub(fix, line))
    return "".join(out)


# --- the MkDocs hook events -----------------------------------------------------------------------------------

_ROWS: list[dict[str, str]] = []


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File
    from mlready.engine.registry import generators

    generators.cache_clear()
    _ROWS[:] = keys()
    files.append(File.generated(config, "reference/spec.md", content=spec_page(_ROWS)))
    for source, page in READMES.items():
        path = ROOT / source
        if path.is_file():
            files.append(File.generated(config, page, content=rewrite_links(path.read_text(), source)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    def table(match: re.Match[str]) -> str:
        section = match.group(1)
        if not any(r["key"] == section for r in _ROWS):
            raise ValueError(f"{page.file.src_uri}: no spec section {section!r} to list the keys of")
        return keys_table(_ROWS, section, with_switch=False)

    return KEYS_MARKER.sub(table, markdown)
