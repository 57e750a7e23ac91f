#!/usr/bin/env bash
# Installs the peer tool bench/check-vs-peer.ts compares tollgate with: conftest (Open Policy
# Agent's CLI for configuration files), built with `go install` from the Go module proxy into
# ${TOLLGATE_PEER_TOOLS_DIR:-$HOME/.cache/tollgate-peer}/bin. Cached: rebuilt only when the pinned
# version changes. (kube-linter was the first choice; its module golang.stackrox.io/kube-linter is
# refused by the Go module proxy reachable here, so conftest with an equivalent Rego policy it is.)
# The last line printed is the absolute path of the conftest binary.
set -euo pipefail

CONFTEST_VERSION=v0.71.1
BIN=${TOLLGATE_PEER_TOOLS_DIR:-$HOME/.cache/tollgate-peer}/bin
mkdir -p "$BIN"

if [ -x "$BIN/conftest" ] && [ "$(cat "$BIN/.conftest.version" 2>/dev/null)" = "$CONFTEST_VERSION" ]; then
	echo "[peer-tools] conftest $CONFTEST_VERSION cached" >&2
else
	echo "[peer-tools] go install github.com/open-policy-agent/conftest@$CONFTEST_VERSION (a few minutes when cold)" >&2
	GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -buildvcs=false" GOBIN="$BIN" \
		go install -trimpath -ldflags="-s -w" "github.com/open-policy-agent/conftest@$CONFTEST_VERSION"
	echo "$CONFTEST_VERSION" >"$BIN/.conftest.version"
fi
echo "$BIN/conftest"
