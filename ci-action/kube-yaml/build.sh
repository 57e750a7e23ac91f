#!/usr/bin/env bash
# Rebuilds kube-yaml.wasm.gz: kubectl's YAML reader (sigs.k8s.io/yaml, pinned in go.mod to the
# version Kubernetes' pinned module in test/e2e/apiserver resolves) compiled to WebAssembly from
# the Go module proxy. Needs Go >= 1.24. Writes SOURCES.sha256, which a test compares with the
# sources so the committed module cannot drift from them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
if ! command -v go >/dev/null && [ -x /usr/local/go/bin/go ]; then export PATH=$PATH:/usr/local/go/bin; fi
export GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -buildvcs=false"
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags="-s -w" -o kube-yaml.wasm .
gzip -9 -n -c kube-yaml.wasm >kube-yaml.wasm.gz
rm kube-yaml.wasm
cat go.mod go.sum main.go | sha256sum | cut -c1-64 >SOURCES.sha256
echo "built $(pwd)/kube-yaml.wasm.gz with $(go version)"
