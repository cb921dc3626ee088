"""Refuse a project slug that cannot name an image, Kubernetes objects and an MLflow experiment."""

import re
import sys

SLUG = {{ cookiecutter.project_slug | tojson }}
RULE = (
    "a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, "
    "at most 63 characters"
)

if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", SLUG):
    print(f"ERROR: project_slug {SLUG!r} is not {RULE}", file=sys.stderr)
    sys.exit(1)
