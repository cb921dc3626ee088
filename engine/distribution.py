"""Where the running mlready was installed from, as a pip requirement another machine can install.

mlready is not on PyPI: a generated project (``mlready new``) and a generated CI pipeline must install it from
where it really resolves. In order:

1. ``MLREADY_SPEC`` in the environment: any pip requirement (``mlready @ git+https://git.example.com/ml/mlready@v0.1.0``,
   ``mlready==0.1.0`` from a team index, ``mlready @ file:///opt/wheels/mlready-0.1.0-py3-none-any.whl``);
2. the install record (PEP 610 ``direct_url.json``) of the installed distribution: a VCS checkout gives
   ``mlready @ git+<url>@<commit>``, a wheel or archive its URL, a local folder (editable or not) ``mlready @
   file://<folder>`` — which only a machine with that folder can install (:func:`is_local`);
3. else ``mlready==<version>`` (installed from an index).
"""

from __future__ import annotations

import json
import os
from importlib.metadata import distributions

ENV = "MLREADY_SPEC"


def mlready_requirement() -> str:
    """The pip requirement that installs this mlready (see the module doc)."""
    configured = os.environ.get(ENV, "").strip()
    if configured:
        return configured
    # an egg-info folder in the current directory (a source checkout) may shadow the install record
    found = sorted(distributions(name="mlready"), key=lambda d: d.read_text("direct_url.json") is None)
    if not found:  # a source tree that is not installed
        return "mlready"
    dist = found[0]
    record = dist.read_text("direct_url.json")
    if record:
        try:
            info = json.loads(record)
        except ValueError:
            info = {}
        url = info.get("url", "")
        vcs = info.get("vcs_info")
        if url and isinstance(vcs, dict) and vcs.get("vcs"):
            ref = vcs.get("commit_id") or vcs.get("requested_revision")
            return f"mlready @ {vcs['vcs']}+{url}" + (f"@{ref}" if ref else "")
        if url:
            return f"mlready @ {url}"
    return f"mlready=={dist.version}"


def is_local(requirement: str) -> bool:
    """True when the requirement names a path on this machine (another machine cannot install it as is)."""
    return "file:" in requirement or requirement.startswith(("/", "./", "../", "."))
