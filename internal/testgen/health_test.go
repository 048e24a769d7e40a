package testgen_test

import (
	"errors"
	"testing"

	"github.com/goai-dev/goai"
	visionv1 "github.com/goai-dev/goai/internal/testgen/vision/v1"
	"github.com/goai-dev/goai/internal/testgen/vision/v1/visionv1goaitest"
)

// TestGeneratedReadyLive checks that a generated client's Ready and Live
// answer from the server's readiness and liveness of the model it calls.
func TestGeneratedReadyLive(t *testing.T) { transports(t, testGeneratedReadyLive) }

func testGeneratedReadyLive(t *testing.T, tr transport) {
	srv := startServer(t, tr)
	if err := visionv1goaitest.RegisterImageClassifierFake(srv.Server, visionv1goaitest.ImageClassifierFakeFunc(nil)); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, visionv1.NewImageClassifierModelClient, visionv1.NewImageClassifierModelClientFromConn)

	if err := c.Ready(t.Context()); err != nil {
		t.Fatalf("Ready of a served model: %v", err)
	}
	if err := c.Live(t.Context()); err != nil {
		t.Fatalf("Live: %v", err)
	}
	if err := srv.SetModelReady("resnet50", false); err != nil {
		t.Fatal(err)
	}
	if err := c.Ready(t.Context()); !errors.Is(err, goai.ErrNotReady) {
		t.Errorf("Ready of a model not ready = %v, want ErrNotReady", err)
	}
	if err := c.Live(t.Context()); err != nil {
		t.Errorf("Live while the model is not ready = %v, want nil", err)
	}
}
