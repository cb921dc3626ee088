#!/usr/bin/env bash
# Installs the system tools mlready's test suite and benchmarks use. Idempotent; run as root on Debian
# bookworm (CI runs it from .ci/run). Each section installs one capability's tools.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if ((${#missing[@]})); then
    if [[ ! -f /tmp/.mlready-apt-updated ]]; then apt-get update -qq && touch /tmp/.mlready-apt-updated; fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# --- core ------------------------------------------------------------------------------------------
apt_install git ca-certificates

# --- containers (docker target: podman + runc harness, local base image; see tools/containers/) --------
apt_install podman runc conmon netavark aardvark-dns iptables catatonit uidmap debootstrap

# --- on-premises target (generators/compose: smoke-run of the compose bundle) ----------------------------
apt_install podman-compose

# --- ci + monitoring (groovy parses the Jenkinsfile; promtool and a real Prometheus for rules/dashboards) ---
apt_install groovy default-jre-headless prometheus
