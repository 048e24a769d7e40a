// Package deploy holds the Kubernetes manifests of the digits service and
// of the Triton server it calls (kubectl apply -k), and, in its tests, the
// checks that keep them, the Dockerfile and compose.yaml right without a
// cluster or a Docker engine: every manifest decoded strictly into the
// Kubernetes API types, and the properties that matter checked across
// them (probes on ports that exist, non-root containers, a headless model
// Service, selectors that select, a grace period that covers the drain, a
// routing file the service accepts, settings the service accepts).
//
// The package has no code; it is a Go package so that `go test ./...` in
// examples/service runs those checks.
package deploy
