#!/usr/bin/env bash
# Writes the harness containers.conf and starts `podman system service` on a unix socket (idempotent: does
# nothing when the socket already answers). Prints the shell exports to use it.
#
# runc, not crun: crun fails on setrlimit in this sandbox; default_ulimits = [] keeps podman from setting any.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"
mkdir -p "$MLREADY_CONTAINERS_HOME" "$(dirname "$CONTAINERS_CONF")"
if [[ ! -f "$CONTAINERS_CONF" ]]; then
  cat >"$CONTAINERS_CONF.tmp" <<'CONF'
# written by mlready tools/containers/service.sh
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
  mv "$CONTAINERS_CONF.tmp" "$CONTAINERS_CONF"
fi

# registries.conf for the service: Debian's short-name search, plus the loopback test registry over plain HTTP.
REGISTRIES_CONF="$MLREADY_CONTAINERS_HOME/registries.conf"
cat >"$REGISTRIES_CONF.tmp" <<CONF
# written by mlready tools/containers/service.sh
unqualified-search-registries = ["docker.io"]

[[registry]]
location = "$MLREADY_TEST_REGISTRY"
insecure = true
CONF
mv "$REGISTRIES_CONF.tmp" "$REGISTRIES_CONF"

# Does the socket answer the Docker API's /_ping? (python3 only: curl may be absent on a fresh machine)
ping() {
  python3 - "$MLREADY_PODMAN_SOCKET" <<'PY' >/dev/null 2>&1
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(2); s.connect(sys.argv[1])
s.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
sys.exit(0 if s.recv(64).split(b" ")[1:2] == [b"200"] else 1)
PY
}

# A service whose working directory was deleted (started from a clone since removed) still answers /_ping but
# cannot start a container ("write child: broken pipe"): stop it, a new one starts below.
pidfile="$MLREADY_CONTAINERS_HOME/service.pid"
if [[ -f "$pidfile" ]]; then
  pid="$(cat "$pidfile")"
  if [[ "$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)" == *"podman system service"* &&
        "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" == *" (deleted)" ]]; then
    echo "podman system service (pid $pid) runs in a deleted directory: restarting it" >&2
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
fi

if ! ping; then
  rm -f "$MLREADY_PODMAN_SOCKET"
  # setsid + nohup: the service outlives this script and the shell that ran it; started in / so that removing
  # the directory it was started from never breaks it.
  (cd / && CONTAINERS_REGISTRIES_CONF="$REGISTRIES_CONF" exec setsid nohup podman system service --time=0 \
    "unix://$MLREADY_PODMAN_SOCKET" >"$MLREADY_CONTAINERS_HOME/service.log" 2>&1 </dev/null) &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do ping && break; sleep 0.1; done
  if ! ping; then
    echo "podman system service did not answer on $MLREADY_PODMAN_SOCKET; its log:" >&2
    tail -n 30 "$MLREADY_CONTAINERS_HOME/service.log" >&2 || true
    exit 1
  fi
fi
echo "export CONTAINERS_CONF=$CONTAINERS_CONF"
echo "export DOCKER_HOST=unix://$MLREADY_PODMAN_SOCKET"
echo "export MLREADY_TEST_BASE_IMAGE=$MLREADY_TEST_BASE_IMAGE"
echo "export MLREADY_TEST_REGISTRY=$MLREADY_TEST_REGISTRY"
