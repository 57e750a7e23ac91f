#!/usr/bin/env bash
# Installs the peer tools the benches compare tollgate with, built with `go install` from the Go
# module proxy into ${TOLLGATE_PEER_TOOLS_DIR:-$HOME/.cache/tollgate-peer}/bin and cached: each is
# rebuilt only when its pinned version changes.
#   conftest  Open Policy Agent's CLI for configuration files (bench/check-vs-peer.ts, cold-start.ts)
#   gator     Gatekeeper's CLI (`gator test`; bench/check-vs-peer.ts, cold-start.ts)
# (kube-linter was the first choice; its module golang.stackrox.io/kube-linter is refused by the Go
# module proxy reachable here.)
# Usage: bench/peer-tools.sh [conftest|gator]...  (default: conftest). Prints the absolute path of
# each requested binary, one a line, in the order asked; progress goes to standard error.
set -euo pipefail

CONFTEST_VERSION=v0.71.1
GATEKEEPER_VERSION=v3.23.1
BIN=${TOLLGATE_PEER_TOOLS_DIR:-$HOME/.cache/tollgate-peer}/bin
mkdir -p "$BIN"

# install NAME VERSION PACKAGE
install() {
	local name=$1 version=$2 package=$3
	if [ -x "$BIN/$name" ] && [ "$(cat "$BIN/.$name.version" 2>/dev/null)" = "$version" ]; then
		echo "[peer-tools] $name $version cached" >&2
	else
		echo "[peer-tools] go install $package@$version (a few minutes when cold)" >&2
		GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -buildvcs=false" GOBIN="$BIN" \
			go install -trimpath -ldflags="-s -w" "$package@$version"
		echo "$version" >"$BIN/.$name.version"
	fi
	echo "$BIN/$name"
}

[ $# -gt 0 ] || set -- conftest
for tool in "$@"; do
	case $tool in
	conftest) install conftest "$CONFTEST_VERSION" github.com/open-policy-agent/conftest ;;
	gator) install gator "$GATEKEEPER_VERSION" github.com/open-policy-agent/gatekeeper/v3/cmd/gator ;;
	*)
		echo "[peer-tools] unknown tool $tool (conftest, gator)" >&2
		exit 2
		;;
	esac
done
