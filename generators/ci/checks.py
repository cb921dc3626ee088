"""mlready's own checks of generated pipelines, for what the CI systems' JSON schemas miss: every job has
something to run, every referenced stage or job exists, and no secret value appears literally.

Each ``*_problems`` function takes the parsed file (the data a CI system reads) and returns messages; the
generator runs them on every build and the tests run them on the written files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

#: keys whose value must be a reference to the CI system's secret store, never a literal
SECRET_KEY = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIALS?|_DATA$)", re.I)
#: how each system spells a reference
REFERENCE = re.compile(r"^(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$\{\{ *secrets\.[A-Za-z0-9_]+ *\}\})$")
#: literal credentials by shape
LEAK = [
    (re.compile(r"AKIA[0-9A-Z]{16}"), "an AWS access key id"),
    (re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}"), "a GitHub token"),
    (re.compile(r"glpat-[A-Za-z0-9_-]{20}"), "a GitLab token"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@$]+:[^/\s@$]+@"), "a password in a URL"),
    (re.compile(r"docker login\b[^\n]*\s(-p|--password)[ =](?!-stdin)"), "a password on a docker login command line"),
]
GITLAB_KEYWORDS = frozenset(
    {"stages", "variables", "default", "workflow", "include", "image", "services", "cache", "before_script",
     "after_script", "types", "pages:deploy"}
)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(path, key, value) of every mapping entry, depth first."""
    if isinstance(node, dict):
        for k, v in node.items():
            p = f"{path}.{k}" if path else str(k)
            yield p, k, v
            yield from walk(v, p)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def secret_problems(doc: Any, text: str) -> list[str]:
    out = []
    for path, key, value in walk(doc):
        if isinstance(value, str) and SECRET_KEY.search(str(key)) and not REFERENCE.match(value):
            out.append(f"{path}: a secret must be a reference to the CI system's secret store, got a literal")
    for pattern, what in LEAK:
        m = pattern.search(text)
        if m:
            out.append(f"{what} appears literally: {m.group(0)[:24]}...")
    return out


def gitlab_problems(doc: dict[str, Any]) -> list[str]:
    out = []
    stages = doc.get("stages", [])
    jobs = {k: v for k, v in doc.items() if k not in GITLAB_KEYWORDS and not k.startswith(".")}
    for name, job in jobs.items():
        if not job.get("script") and "trigger" not in job:
            out.append(f"job {name!r} has nothing to run")
        if job.get("stage", "test") not in stages:
            out.append(f"job {name!r}: stage {job.get('stage')!r} is not in stages")
        for need in job.get("needs", []):
            ref = need["job"] if isinstance(need, dict) else need
            if ref not in jobs:
                out.append(f"job {name!r} needs {ref!r}, which does not exist")
    for stage in stages:
        if not any(j.get("stage") == stage for j in jobs.values()):
            out.append(f"stage {stage!r} has no job")
    return out


def circleci_problems(doc: dict[str, Any]) -> list[str]:
    out = []
    jobs = doc.get("jobs", {})
    executors = doc.get("executors", {})
    for name, job in jobs.items():
        if not any(isinstance(s, dict) and "run" in s for s in job.get("steps", [])):
            out.append(f"job {name!r} has nothing to run")
        if "executor" in job and job["executor"] not in executors:
            out.append(f"job {name!r}: executor {job['executor']!r} does not exist")
    for wf_name, wf in doc.get("workflows", {}).items():
        entries = [e if isinstance(e, dict) else {e: {}} for e in wf.get("jobs", [])]
        names = [next(iter(e)) for e in entries]
        for entry in entries:
            name, conf = next(iter(entry.items()))
            if conf.get("type") != "approval" and name not in jobs:
                out.append(f"workflow {wf_name!r}: job {name!r} does not exist")
            for req in conf.get("requires", []):
                if req not in names:
                    out.append(f"workflow {wf_name!r}: {name!r} requires {req!r}, which is not in the workflow")
    return out


def github_problems(doc: dict[str, Any]) -> list[str]:
    out = []
    jobs = doc.get("jobs", {})
    for name, job in jobs.items():
        steps = job.get("steps", [])
        if not any("run" in s for s in steps):
            out.append(f"job {name!r} has nothing to run")
        for need in job.get("needs", []):
            if need not in jobs:
                out.append(f"job {name!r} needs {need!r}, which does not exist")
    return out


def jenkins_problems(stages: list[tuple[str, str]], text: str) -> list[str]:
    """``stages``: (name, script or gate) pairs from the model; ``text``: the rendered Jenkinsfile."""
    out = []
    for name, run in stages:
        if not run.strip():
            out.append(f"stage {name!r} has nothing to run")
    for n, count in Counter(n for n, _ in stages).items():
        if count > 1:
            out.append(f"stage {n!r} is defined more than once")
    out += secret_problems({}, text)
    return out
