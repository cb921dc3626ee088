"""A string the YAML dumper writes as a folded block (``>-``), so a long unbreakable value such as an image
digest starts on its own line and stays within yamllint's default 80 columns. It loads back unchanged."""

from __future__ import annotations

import yaml
from mlready.engine import serialize


class Folded(str):
    """Dumped as ``key: >-`` followed by the value on the next line."""


def _represent(dumper: yaml.SafeDumper, value: Folded) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style=">")


# registered on the shared dumper class (scoped to this str subclass: other strings are unaffected)
serialize._Dumper.add_representer(Folded, _represent)
