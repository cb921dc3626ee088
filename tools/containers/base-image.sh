#!/usr/bin/env bash
# Builds the local test base image: a minimal Debian bookworm (debootstrap --variant=minbase) with python3 and
# python3-venv, imported into podman's store as $MLREADY_TEST_BASE_IMAGE. No registry is needed, which is the
# point: this machine cannot pull images. Cached: does nothing when the image already exists.
#
# debootstrap uses the Debian mirror apt uses here (first deb.debian.org-style URI in /etc/apt/sources*),
# falling back to http://deb.debian.org/debian; override with MLREADY_DEBIAN_MIRROR.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"

if podman image exists "$MLREADY_TEST_BASE_IMAGE"; then
  echo "base image $MLREADY_TEST_BASE_IMAGE: cached"
  exit 0
fi

mirror_from_apt() {
  # deb822 (URIs: ...) or one-line (deb URI suite ...) sources; the first one whose suite is bookworm.
  local f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    awk '
      /^[[:space:]]*#/ { next }
      /^deb[[:space:]]/ && $3 == "bookworm" { print $2; exit }
      /^URIs:/ { uri = $2 }
      /^Suites:/ && uri != "" { for (i = 2; i <= NF; i++) if ($i == "bookworm") { print uri; exit } }
      /^$/ { uri = "" }
    ' "$f" | head -n 1
  done | head -n 1
}
mirror="${MLREADY_DEBIAN_MIRROR:-$(mirror_from_apt)}"
mirror="${mirror:-http://deb.debian.org/debian}"

work="$(mktemp -d "${TMPDIR:-/tmp}/mlready-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "debootstrap bookworm from $mirror (a minute or two) ..."
debootstrap --variant=minbase --include=python3,python3-venv bookworm "$work/rootfs" "$mirror" \
  >"$work/debootstrap.log" 2>&1 || { tail -n 40 "$work/debootstrap.log" >&2; exit 1; }
# Slim it: apt lists and caches, docs and man pages are not needed to run Python.
rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/var/cache/apt/"*.bin \
  "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/usr/share/doc/"* "$work/rootfs/usr/share/man/"*
tar --numeric-owner -C "$work/rootfs" -c . |
  podman import --quiet --change 'CMD ["/usr/bin/python3"]' --change 'ENV LANG=C.UTF-8' - "$MLREADY_TEST_BASE_IMAGE" >/dev/null
echo "base image $MLREADY_TEST_BASE_IMAGE: built"
