#!/usr/bin/env bash
# Installs and builds the binaries the end-to-end tests need, on a fresh
# machine or a warm one: Debian packages (etcd-server, skopeo, docker-registry,
# openssl), helm (go install), and kube-apiserver built from the k8s.io/kubernetes
# Go module pinned in test/e2e/apiserver/go.mod.
#
# Built binaries are cached outside the repository in
#   ${TOLLGATE_TOOLS_DIR:-$HOME/.cache/tollgate-tools}/bin
# and rebuilt only when their pinned version changes. Idempotent: a second run
# only checks versions. The last line printed is `export PATH=<bin>:$PATH`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_DIR=${TOLLGATE_TOOLS_DIR:-$HOME/.cache/tollgate-tools}
BIN=$TOOLS_DIR/bin
APISERVER_MOD=$ROOT/test/e2e/apiserver
HELM_VERSION=v3.19.5
# Minor version of the k8s.io/client-go that helm release is built with (Kubernetes 1.34).
HELM_K8S_MINOR=34
# Kubernetes version = the k8s.io/kubernetes requirement of the pinned module.
K8S_VERSION=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$APISERVER_MOD/go.mod")

mkdir -p "$BIN"
log() { printf '[tools] %s\n' "$*" >&2; }
now() { date +%s; }

# The Go toolchain installed on the machine is used as is; no toolchain download.
# k8s.io/kubernetes v1.34 needs Go >= 1.24 (Debian's golang package is older).
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH=$PATH:/usr/local/go/bin; fi
if ! command -v go >/dev/null; then
	log "Go >= 1.24 is required to build helm and kube-apiserver, and none is on PATH"
	exit 1
fi
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:-} -buildvcs=false"

# --- Debian packages -------------------------------------------------------
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_missing=()
for pkg in etcd-server skopeo docker-registry openssl; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		apt_missing+=("$pkg")
	fi
done
if [ ${#apt_missing[@]} -gt 0 ]; then
	log "apt-get install ${apt_missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine may have no package lists yet.
	if ! $SUDO apt-get install -y --no-install-recommends "${apt_missing[@]}" >&2; then
		$SUDO apt-get update >&2
		$SUDO apt-get install -y --no-install-recommends "${apt_missing[@]}" >&2
	fi
else
	log "Debian packages present: etcd-server skopeo docker-registry openssl"
fi
# Debian ships etcd in /usr/bin; link it into the cache so tests find every
# binary in one place.
ln -sf "$(command -v etcd)" "$BIN/etcd"
ln -sf "$(command -v docker-registry)" "$BIN/docker-registry"
ln -sf "$(command -v skopeo)" "$BIN/skopeo"

# --- helm --------------------------------------------------------------------
# The ldflags are those of helm's Makefile: without the chartutil ones, a
# `go install`ed helm assumes Kubernetes v1.20 for `helm template`/`lint`
# (Capabilities.KubeVersion) and rejects charts whose kubeVersion is newer.
HELM_LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in pkg/lint/rules pkg/chartutil; do
	HELM_LDFLAGS+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$HELM_K8S_MINOR"
done
helm_stamp=$(echo "$HELM_VERSION $HELM_LDFLAGS" | sha256sum | cut -c1-16)
if [ -x "$BIN/helm" ] && [ "$(cat "$BIN/.helm.stamp" 2>/dev/null)" = "$helm_stamp" ] &&
	"$BIN/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"; then
	log "helm $HELM_VERSION cached"
else
	log "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	t0=$(now)
	GOBIN="$BIN" go install -trimpath -ldflags="$HELM_LDFLAGS" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	echo "$helm_stamp" >"$BIN/.helm.stamp"
	log "helm built in $(($(now) - t0))s"
fi

# --- kube-apiserver ----------------------------------------------------------
# The stamp covers the pinned module files and the build flags, so any change
# to the pins rebuilds.
K8S_LDFLAGS="-s -w"
K8S_LDFLAGS+=" -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
K8S_LDFLAGS+=" -X k8s.io/component-base/version.gitTreeState=clean"
K8S_LDFLAGS+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
k8s_stamp=$(cat "$APISERVER_MOD/go.mod" "$APISERVER_MOD/go.sum" <(echo "$K8S_LDFLAGS") | sha256sum | cut -c1-16)
if [ -x "$BIN/kube-apiserver" ] && [ "$(cat "$BIN/.kube-apiserver.stamp" 2>/dev/null)" = "$k8s_stamp" ] &&
	"$BIN/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION"; then
	log "kube-apiserver $K8S_VERSION cached"
else
	log "go build k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION (takes minutes when cold)"
	t0=$(now)
	(cd "$APISERVER_MOD" && go build -trimpath -ldflags="$K8S_LDFLAGS" \
		-o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
	mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
	echo "$k8s_stamp" >"$BIN/.kube-apiserver.stamp"
	log "kube-apiserver built in $(($(now) - t0))s"
fi

# --- summary -----------------------------------------------------------------
log "versions:"
log "  kube-apiserver: $("$BIN/kube-apiserver" --version)"
log "  etcd:           $("$BIN/etcd" --version | head -n1)"
log "  helm:           $("$BIN/helm" version --template '{{.Version}}')"
log "  skopeo:         $("$BIN/skopeo" --version)"
log "  openssl:        $(openssl version)"
log "binaries in $BIN (tests read TOLLGATE_TOOLS_DIR=$TOOLS_DIR)"
echo "export PATH=$BIN:\$PATH"
