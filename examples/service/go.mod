module github.com/goai-dev/goai/examples/service

go 1.26.0

replace github.com/goai-dev/goai => ../..

require sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730
