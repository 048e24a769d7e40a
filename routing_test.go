package goai

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

func TestRoutingWeights(t *testing.T) {
	desc := testDesc(CallPolicy{})
	c, _ := newTestCaller(t, desc)
	if err := c.SetRoutes([]Route{{Version: "1", Weight: 90}, {Version: "2", Weight: 10}}); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	fn := func(_ context.Context, a attemptArgs) error { counts[a.model.Version]++; return nil }
	const n = 10_000
	for range n {
		_ = c.invoke(context.Background(), &desc.Methods[0], fn)
	}
	// Binomial(10000, 0.1): sd 30; the seeded draw is reproducible anyway.
	if counts["2"] < 900 || counts["2"] > 1100 || counts["1"]+counts["2"] != n {
		t.Errorf("version counts = %v, want about 9000 / 1000", counts)
	}

	// WithModelVersion bypasses the routes.
	var got ModelRef
	_ = c.invoke(context.Background(), &desc.Methods[0], func(_ context.Context, a attemptArgs) error { got = a.model; return nil }, WithModelVersion("7"))
	if got != (ModelRef{Name: "m", Version: "7"}) {
		t.Errorf("WithModelVersion(7) called %v", got)
	}

	// No routes: the method's model.
	if err := c.SetRoutes(nil); err != nil {
		t.Fatal(err)
	}
	_ = c.invoke(context.Background(), &desc.Methods[0], func(_ context.Context, a attemptArgs) error { got = a.model; return nil })
	if got != (ModelRef{Name: "m"}) || c.Routes() != nil {
		t.Errorf("without routes called %v (routes %v)", got, c.Routes())
	}
}

func TestRoutingOnlyServiceModel(t *testing.T) {
	desc := &ModelDesc{Model: ModelRef{Name: "m"}, Methods: []MethodDesc{
		{FullMethod: "/s/A"},
		{FullMethod: "/s/B", Model: ModelRef{Name: "other", Version: "3"}},
	}}
	c, _ := newTestCaller(t, desc)
	_ = c.SetRoutes([]Route{{Version: "2", Weight: 1}})
	var got []ModelRef
	fn := func(_ context.Context, a attemptArgs) error { got = append(got, a.model); return nil }
	_ = c.invoke(context.Background(), &desc.Methods[0], fn)
	_ = c.invoke(context.Background(), &desc.Methods[1], fn)
	if got[0] != (ModelRef{Name: "m", Version: "2"}) || got[1] != (ModelRef{Name: "other", Version: "3"}) {
		t.Errorf("called %v; want m@2 routed and other@3 untouched", got)
	}
}

func TestSetRoutesRejects(t *testing.T) {
	c, _ := newTestCaller(t, testDesc(CallPolicy{}))
	good := []Route{{Version: "1", Weight: 1}}
	if err := c.SetRoutes(good); err != nil {
		t.Fatal(err)
	}
	for _, rs := range [][]Route{
		{{Version: "1", Weight: -1}, {Version: "2", Weight: 5}},
		{{Version: "1"}, {Version: "2"}},
		{{Version: "1", Weight: math.MaxInt}, {Version: "2", Weight: 1}},
		{{Version: "1", Weight: math.MaxInt / 2}, {Version: "2", Weight: math.MaxInt / 2}, {Version: "3", Weight: 2}},
	} {
		if err := c.SetRoutes(rs); err == nil {
			t.Errorf("SetRoutes(%v) succeeded", rs)
		}
	}
	if got := c.Routes(); len(got) != 1 || got[0] != good[0] {
		t.Errorf("routes after rejected changes = %v, want %v", got, good)
	}
	got := c.Routes()
	got[0].Weight = 99
	if c.Routes()[0].Weight != 1 {
		t.Errorf("Routes returned the Client's own slice")
	}
}

func TestRoutingPerVersionBreakers(t *testing.T) {
	desc := breakerDesc(BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: time.Hour})
	c, _ := newTestCaller(t, desc)
	_ = c.SetRoutes([]Route{{Version: "1", Weight: 1}, {Version: "2", Weight: 1}})
	fn := func(_ context.Context, a attemptArgs) error {
		if a.model.Version == "2" {
			return errUnavailable
		}
		return nil
	}
	for range 50 {
		_ = c.invoke(context.Background(), &desc.Methods[0], fn)
	}
	if st := c.BreakerState(ModelRef{Name: "m", Version: "2"}); st != BreakerOpen {
		t.Errorf("failing version 2's breaker is %v, want open", st)
	}
	if st := c.BreakerState(ModelRef{Name: "m", Version: "1"}); st != BreakerClosed {
		t.Errorf("healthy version 1's breaker is %v, want closed", st)
	}
}

func TestSetRoutesConcurrently(t *testing.T) {
	desc := testDesc(CallPolicy{})
	c := testClient(nil, desc, WithRandSource(rand.NewPCG(3, 4)))
	// The routes change until every caller is done, so that changes and
	// calls overlap however the goroutines are scheduled.
	var callers, setter sync.WaitGroup
	stop := make(chan struct{})
	setter.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = c.SetRoutes([]Route{{Version: "1", Weight: i % 7}, {Version: "2", Weight: 1}})
		}
	})
	for range 4 {
		callers.Go(func() {
			for range 500 {
				_ = c.invoke(context.Background(), &desc.Methods[0], func(_ context.Context, a attemptArgs) error {
					if a.model.Version != "1" && a.model.Version != "2" && a.model.Version != "" {
						t.Errorf("routed to %q", a.model.Version)
					}
					return nil
				})
			}
		})
	}
	callers.Wait()
	close(stop)
	setter.Wait()
}
