"""Spec sections derived from the runtime's own config dataclasses (:mod:`mlready.runtime.config`).

The runtime's dataclasses are the one source of truth for the knobs' names, types, defaults and bounds: a
derived section copies the names, types and defaults, and its bounds are the runtime's own checks, which
``RuntimeGenerator.validate`` runs on the composed section (errors name ``serving.<section>.<key>``). A knob
added to the runtime is settable from deploy.yaml without a second definition.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from mlready.engine.plugin import Section
from pydantic import create_model


def runtime_section(config_class: type, name: str) -> type[Section]:
    """A frozen, extra-forbidding :class:`Section` with ``config_class``'s fields, types and defaults."""
    hints = typing.get_type_hints(config_class)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(config_class):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            raise TypeError(f"{config_class.__name__}.{f.name} has no default: a spec section needs one")
        fields[f.name] = (hints[f.name], default)
    doc = (config_class.__doc__ or "").strip() + "\n\nDerived from mlready.runtime.config." + config_class.__name__
    return create_model(name, __base__=Section, __doc__=doc, **fields)  # type: ignore[call-overload, no-any-return]
