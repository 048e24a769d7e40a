// Package jsonbench measures the JSON libraries a REST codec could use
// against package oiphttp's own writer and scanner, on the body that
// matters: one FP32 tensor's "data" array, encoded in a request and
// decoded from a response. It is a module of its own so that the
// libraries it compares never enter goai's go.mod:
//
//	cd internal/oiphttp/jsonbench && go test -run '^$' -bench . -count 10
package jsonbench
