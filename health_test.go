package goai

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestReadyLive(t *testing.T) {
	srv := startOIP(t, inferencetest.Identity("other", tensor.FP32, 4))
	desc := echoDesc(CallPolicy{})
	desc.Methods = append(desc.Methods, MethodDesc{Name: "Other", FullMethod: "/test.v1.Echo/Other", Model: ModelRef{Name: "other"}})
	c := testClient(dialOIP(t, srv), desc)
	ctx := context.Background()
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("Ready = %v", err)
	}
	if err := c.Live(ctx); err != nil {
		t.Fatalf("Live = %v", err)
	}

	if err := srv.SetModelReady("other", false); err != nil {
		t.Fatal(err)
	}
	err := c.Ready(ctx)
	if !errors.Is(err, ErrNotReady) || status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "other") || strings.Contains(err.Error(), "echo") {
		t.Errorf("Ready with model other loading = %v; want ErrNotReady naming other alone, UNAVAILABLE", err)
	}
	if err := c.Live(ctx); err != nil {
		t.Errorf("Live while a model loads = %v", err)
	}
	_ = srv.SetModelReady("other", true)

	srv.SetServerReady(false)
	if err := c.Ready(ctx); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "server") {
		t.Errorf("Ready of a server not ready = %v", err)
	}
	srv.SetServerReady(true)

	srv.Down()
	for _, f := range []func(context.Context) error{c.Ready, c.Live} {
		err := f(ctx)
		if status.Code(err) != codes.Unavailable || !(errors.Is(err, ErrNotReady) || errors.Is(err, ErrNotLive)) {
			t.Errorf("probe of a server that is down = %v, want UNAVAILABLE", err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Live(cctx); status.Code(err) != codes.Canceled || !errors.Is(err, ErrNotLive) {
		t.Errorf("Live with a cancelled context = %v, want CANCELED", err)
	}

	direct := testClient(nil, &ModelDesc{Service: "d.v1.D", Protocol: ProtocolDirect})
	if err := direct.Ready(ctx); status.Code(err) != codes.Unimplemented {
		t.Errorf("Ready of a direct service = %v, want UNIMPLEMENTED", err)
	}
	if err := direct.Live(ctx); status.Code(err) != codes.Unimplemented {
		t.Errorf("Live of a direct service = %v, want UNIMPLEMENTED", err)
	}
}

func TestReadyModelsFollowRoutes(t *testing.T) {
	desc := fallbackDesc(CallPolicy{})
	desc.Model.Version = "1"
	desc.Methods[0].Model.Version = "1"
	c := testClient(nil, desc)
	if got, want := c.readyModels(), []ModelRef{desc.Model}; !slices.Equal(got, want) {
		t.Errorf("readyModels = %v, want %v (the fallback is not checked)", got, want)
	}
	if err := c.SetRoutes([]Route{{Version: "1", Weight: 9}, {Version: "2", Weight: 1}, {Version: "3"}}); err != nil {
		t.Fatal(err)
	}
	name := desc.Model.Name
	if got, want := c.readyModels(), []ModelRef{{name, "1"}, {name, "2"}}; !slices.Equal(got, want) {
		t.Errorf("readyModels with routes = %v, want %v", got, want)
	}
}
