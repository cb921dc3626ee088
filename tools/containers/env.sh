# Shared settings of the podman test harness; sourced by the other scripts (not executable on its own).
# Override MLREADY_CONTAINERS_HOME to keep the socket, config and logs elsewhere.
MLREADY_CONTAINERS_HOME="${MLREADY_CONTAINERS_HOME:-/var/lib/mlready/containers}"
MLREADY_TEST_BASE_IMAGE="${MLREADY_TEST_BASE_IMAGE:-localhost/mlready-test-base:bookworm}"
CONTAINERS_CONF="${CONTAINERS_CONF:-$MLREADY_CONTAINERS_HOME/containers.conf}"
MLREADY_PODMAN_SOCKET="$MLREADY_CONTAINERS_HOME/podman.sock"
# A plain-HTTP test registry the push tests start on loopback (tests/docker/test_push.py).
MLREADY_TEST_REGISTRY="${MLREADY_TEST_REGISTRY:-localhost:5555}"
export MLREADY_CONTAINERS_HOME MLREADY_TEST_BASE_IMAGE CONTAINERS_CONF MLREADY_TEST_REGISTRY
# Packages the harness needs (also installed by tools/install-system-deps.sh).
MLREADY_CONTAINER_PACKAGES=(podman runc conmon netavark aardvark-dns iptables catatonit uidmap debootstrap
  docker-registry apache2-utils)
