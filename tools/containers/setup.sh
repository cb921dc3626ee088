#!/usr/bin/env bash
# The container test harness in one command (idempotent; root on Debian bookworm):
#   1. podman, runc, debootstrap from Debian;  2. containers.conf + `podman system service` on a unix socket;
#   3. the local test base image (cached).
# Prints the exports to use it:  eval "$(tools/containers/setup.sh)"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/packages.sh" >&2
exports="$("$here/service.sh")"
eval "$exports"
"$here/base-image.sh" >&2
echo "$exports"
