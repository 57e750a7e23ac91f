module tollgate.local/kube-yaml

go 1.24.0

// Pinned to the versions test/e2e/apiserver/go.mod resolves for Kubernetes v1.34.4, the
// reader kubectl of that release uses (a test checks the two agree).
require sigs.k8s.io/yaml v1.6.0

require go.yaml.in/yaml/v2 v2.4.2 // indirect
