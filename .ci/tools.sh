#!/usr/bin/env bash
# Installs and builds every tool the tests need, on a fresh machine or a warm one: Debian packages
# (etcd-server, skopeo, docker-registry, openssl, python3-venv; chromium for the evidence report's
# browser test), helm (go install), kube-apiserver built from the k8s.io/kubernetes Go module pinned
# in test/e2e/apiserver/go.mod, from the same module the kubectl reader oracle
# (test/e2e/apiserver/oracle) the reader tests compare with, and the pre-commit framework (pip, in a
# virtual environment) that tests the hook in .pre-commit-hooks.yaml, and cosign (go install) that
# signs the webhook image test/image/ builds. `npm test` runs it first (the
# `pretest` script), so the README's test command passes on a fresh clone.
#
# Built binaries are cached outside the repository in
#   ${TOLLGATE_TOOLS_DIR:-$HOME/.cache/tollgate-tools}/bin
# and rebuilt only when their pinned version changes. Idempotent: a warm run only checks versions
# (about a second). The first line printed says what will be set up and how long it takes.
#
#   bash .ci/tools.sh            set up what is missing
#   bash .ci/tools.sh --dry-run  print what would be set up and the commands, change nothing
#
# The last line printed is `export PATH=<bin>:$PATH`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_DIR=${TOLLGATE_TOOLS_DIR:-$HOME/.cache/tollgate-tools}
BIN=$TOOLS_DIR/bin
APISERVER_MOD=$ROOT/test/e2e/apiserver
APT_PACKAGES=(etcd-server skopeo docker-registry openssl chromium python3-venv)
HELM_VERSION=v3.19.5
PRE_COMMIT_VERSION=4.7.0
# cosign v2 signs with a key and no transparency log (--tlog-upload=false) into the legacy
# `sha256-<hex>.sig` tag; the signed-images policy reads it. Its own module: merging it into the
# apiserver module would move shared dependencies under kube-apiserver (the Go build cache still
# shares the packages both use at the same version). Cold (empty Go caches): about 9 min of CPU,
# 1.8 GB of modules.
COSIGN_VERSION=v2.6.5
# Minor version of the k8s.io/client-go that helm release is built with (Kubernetes 1.34).
HELM_K8S_MINOR=34
# Kubernetes version = the k8s.io/kubernetes requirement of the pinned module.
K8S_VERSION=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" { print $3 }' "$APISERVER_MOD/go.mod")

DRY_RUN=0
case "${1:-}" in
--dry-run) DRY_RUN=1 ;;
"") ;;
*)
	echo "usage: bash .ci/tools.sh [--dry-run]" >&2
	exit 2
	;;
esac

log() { printf '[tools] %s\n' "$*" >&2; }
now() { date +%s; }
# Runs a command that changes the machine, or only prints it in a dry run.
act() {
	if [ "$DRY_RUN" = 1 ]; then
		log "would run: $*"
	else
		"$@"
	fi
}
started=$(now)

# --- what is missing ---------------------------------------------------------
apt_missing=()
for pkg in "${APT_PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
		apt_missing+=("$pkg")
	fi
done

# The ldflags are those of helm's Makefile: without the chartutil ones, a
# `go install`ed helm assumes Kubernetes v1.20 for `helm template`/`lint`
# (Capabilities.KubeVersion) and rejects charts whose kubeVersion is newer.
HELM_LDFLAGS="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in pkg/lint/rules pkg/chartutil; do
	HELM_LDFLAGS+=" -X helm.sh/helm/v3/$pkg.k8sVersionMajor=1 -X helm.sh/helm/v3/$pkg.k8sVersionMinor=$HELM_K8S_MINOR"
done
helm_stamp=$(echo "$HELM_VERSION $HELM_LDFLAGS" | sha256sum | cut -c1-16)
helm_cached() {
	[ -x "$BIN/helm" ] && [ "$(cat "$BIN/.helm.stamp" 2>/dev/null)" = "$helm_stamp" ] &&
		"$BIN/helm" version --template '{{.Version}}' 2>/dev/null | grep -qx "$HELM_VERSION"
}

# The stamp covers the pinned module files and the build flags, so any change
# to the pins rebuilds.
K8S_LDFLAGS="-s -w"
K8S_LDFLAGS+=" -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
K8S_LDFLAGS+=" -X k8s.io/component-base/version.gitTreeState=clean"
K8S_LDFLAGS+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
k8s_stamp=$(cat "$APISERVER_MOD/go.mod" "$APISERVER_MOD/go.sum" <(echo "$K8S_LDFLAGS") | sha256sum | cut -c1-16)
k8s_cached() {
	[ -x "$BIN/kube-apiserver" ] && [ "$(cat "$BIN/.kube-apiserver.stamp" 2>/dev/null)" = "$k8s_stamp" ] &&
		"$BIN/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes $K8S_VERSION"
}
# The kubectl reader oracle: its stamp covers the pinned module files and its source.
oracle_stamp=$(cat "$APISERVER_MOD/go.mod" "$APISERVER_MOD/go.sum" "$APISERVER_MOD/oracle/main.go" | sha256sum | cut -c1-16)
oracle_cached() {
	[ -x "$BIN/kubectl-reader-oracle" ] && [ "$(cat "$BIN/.kubectl-reader-oracle.stamp" 2>/dev/null)" = "$oracle_stamp" ]
}

COSIGN_LDFLAGS="-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN_VERSION"
cosign_stamp=$(echo "$COSIGN_VERSION $COSIGN_LDFLAGS" | sha256sum | cut -c1-16)
cosign_cached() {
	[ -x "$BIN/cosign" ] && [ "$(cat "$BIN/.cosign.stamp" 2>/dev/null)" = "$cosign_stamp" ] &&
		"$BIN/cosign" version 2>/dev/null | awk '$1 == "GitVersion:" { print $2 }' | grep -qx "$COSIGN_VERSION"
}

precommit_cached() {
	[ -x "$BIN/pre-commit" ] && "$BIN/pre-commit" --version 2>/dev/null | grep -qx "pre-commit $PRE_COMMIT_VERSION"
}

# --- the plan, in one line ---------------------------------------------------
# Minutes measured on 2 cores with empty Go caches (module downloads included).
plan=()
minutes=0
if [ ${#apt_missing[@]} -gt 0 ]; then
	plan+=("Debian packages ${apt_missing[*]} (~1 min)")
	minutes=$((minutes + 1))
fi
need_helm=0
if ! helm_cached; then
	need_helm=1
	plan+=("helm $HELM_VERSION built with Go (~2 min)")
	minutes=$((minutes + 2))
fi
need_k8s=0
if ! k8s_cached; then
	need_k8s=1
	plan+=("kube-apiserver $K8S_VERSION built with Go (~8 min)")
	minutes=$((minutes + 8))
fi
need_oracle=0
if ! oracle_cached; then
	need_oracle=1
	plan+=("the kubectl reader oracle built with Go (~1 min after kube-apiserver, ~5 min alone)")
	minutes=$((minutes + 1))
fi
need_cosign=0
if ! cosign_cached; then
	need_cosign=1
	plan+=("cosign $COSIGN_VERSION built with Go (~5 min)")
	minutes=$((minutes + 5))
fi
need_precommit=0
if ! precommit_cached; then
	need_precommit=1
	plan+=("pre-commit $PRE_COMMIT_VERSION installed with pip (~1 min)")
	minutes=$((minutes + 1))
fi
if [ ${#plan[@]} -eq 0 ]; then
	log "test tools ready in $BIN"
else
	summary=$(printf '%s; ' "${plan[@]}")
	log "setting up the test tools once, into $BIN: ${summary%; }. This first run takes about $minutes min; later runs reuse the cache."
fi

# The Go toolchain installed on the machine is used as is; no toolchain download.
# k8s.io/kubernetes v1.34 needs Go >= 1.24 (Debian's golang package is older).
if [ $((need_helm + need_k8s + need_oracle + need_cosign)) -gt 0 ]; then
	if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH=$PATH:/usr/local/go/bin; fi
	if ! command -v go >/dev/null; then
		log "Go >= 1.24 is required to build helm and kube-apiserver, and none is on PATH"
		exit 1
	fi
	export GOTOOLCHAIN=local
	export GOFLAGS="${GOFLAGS:-} -buildvcs=false"
fi
act mkdir -p "$BIN"

# --- Debian packages -------------------------------------------------------
if [ ${#apt_missing[@]} -gt 0 ]; then
	SUDO=()
	if [ "$(id -u)" != 0 ]; then SUDO=(sudo); fi
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine may have no package lists, or stale ones.
	act "${SUDO[@]}" apt-get update >&2
	act "${SUDO[@]}" apt-get install -y --no-install-recommends "${apt_missing[@]}" >&2
fi
# Debian ships these in /usr/bin; link them into the cache so tests find every binary in one place.
for tool in etcd docker-registry skopeo; do
	if [ "$DRY_RUN" = 1 ] && ! command -v "$tool" >/dev/null; then
		log "would run: ln -sf /usr/bin/$tool $BIN/$tool"
	else
		act ln -sf "$(command -v "$tool")" "$BIN/$tool"
	fi
done

# --- helm --------------------------------------------------------------------
if [ "$need_helm" = 1 ]; then
	log "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	t0=$(now)
	act env GOBIN="$BIN" go install -trimpath -ldflags="$HELM_LDFLAGS" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	if [ "$DRY_RUN" = 0 ]; then
		echo "$helm_stamp" >"$BIN/.helm.stamp"
		log "helm built in $(($(now) - t0))s"
	fi
fi

# --- kube-apiserver ----------------------------------------------------------
if [ "$need_k8s" = 1 ]; then
	log "go build k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION"
	t0=$(now)
	(cd "$APISERVER_MOD" && act go build -trimpath -ldflags="$K8S_LDFLAGS" \
		-o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
	act mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
	if [ "$DRY_RUN" = 0 ]; then
		echo "$k8s_stamp" >"$BIN/.kube-apiserver.stamp"
		log "kube-apiserver built in $(($(now) - t0))s"
	fi
fi

# --- kubectl reader oracle --------------------------------------------------
# kubectl's manifest reader (k8s.io/cli-runtime, same pinned module: it reuses the compiled packages).
if [ "$need_oracle" = 1 ]; then
	log "go build test/e2e/apiserver/oracle (kubectl's manifest reader)"
	t0=$(now)
	(cd "$APISERVER_MOD" && act go build -trimpath -o "$BIN/kubectl-reader-oracle.tmp" ./oracle)
	act mv "$BIN/kubectl-reader-oracle.tmp" "$BIN/kubectl-reader-oracle"
	if [ "$DRY_RUN" = 0 ]; then
		echo "$oracle_stamp" >"$BIN/.kubectl-reader-oracle.stamp"
		log "kubectl reader oracle built in $(($(now) - t0))s"
	fi
fi

# --- cosign ------------------------------------------------------------------
if [ "$need_cosign" = 1 ]; then
	log "go install github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"
	t0=$(now)
	act env GOBIN="$BIN" go install -trimpath -ldflags="$COSIGN_LDFLAGS" "github.com/sigstore/cosign/v2/cmd/cosign@$COSIGN_VERSION"
	if [ "$DRY_RUN" = 0 ]; then
		echo "$cosign_stamp" >"$BIN/.cosign.stamp"
		log "cosign built in $(($(now) - t0))s"
	fi
fi

# --- pre-commit ---------------------------------------------------------------
# In its own virtual environment under the cache; the tests run it as $BIN/pre-commit.
if [ "$need_precommit" = 1 ]; then
	log "pip install pre-commit==$PRE_COMMIT_VERSION"
	t0=$(now)
	act rm -rf "$TOOLS_DIR/pre-commit-venv"
	act python3 -m venv "$TOOLS_DIR/pre-commit-venv"
	act "$TOOLS_DIR/pre-commit-venv/bin/pip" install --quiet --disable-pip-version-check "pre-commit==$PRE_COMMIT_VERSION"
	act ln -sf "$TOOLS_DIR/pre-commit-venv/bin/pre-commit" "$BIN/pre-commit"
	if [ "$DRY_RUN" = 0 ]; then log "pre-commit installed in $(($(now) - t0))s"; fi
fi

# --- summary -----------------------------------------------------------------
if [ "$DRY_RUN" = 1 ]; then
	log "dry run: nothing changed"
	exit 0
fi
if [ ${#plan[@]} -gt 0 ]; then
	log "versions:"
	log "  kube-apiserver: $("$BIN/kube-apiserver" --version)"
	log "  etcd:           $("$BIN/etcd" --version | head -n1)"
	log "  helm:           $("$BIN/helm" version --template '{{.Version}}')"
	log "  skopeo:         $("$BIN/skopeo" --version)"
	log "  openssl:        $(openssl version)"
	log "  chromium:       $(chromium --version 2>/dev/null | head -n1)"
	log "  pre-commit:     $("$BIN/pre-commit" --version)"
	log "  cosign:         $("$BIN/cosign" version 2>/dev/null | awk '$1 == "GitVersion:" { print $2 }')"
	log "set-up took $(($(now) - started))s; binaries in $BIN (tests read TOLLGATE_TOOLS_DIR=$TOOLS_DIR)"
fi
echo "export PATH=$BIN:\$PATH"
