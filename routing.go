package goai

import (
	"fmt"
	"math/rand/v2"
	"sync"
)

// Route sends a share of a model's calls to one of its versions.
type Route struct {
	// Version is the model version the route calls; empty lets the server
	// choose.
	Version string
	// Weight is the route's share of calls, relative to the other routes'
	// weights; 0 sends it no calls.
	Weight int
}

// routeTable is an immutable set of routes with cumulative weights.
type routeTable struct {
	routes []Route
	cum    []int // cum[i] = sum of weights of routes[0..i]
}

func newRouteTable(routes []Route) (*routeTable, error) {
	if len(routes) == 0 {
		return nil, nil
	}
	t := &routeTable{routes: append([]Route(nil), routes...), cum: make([]int, len(routes))}
	total := 0
	for i, r := range routes {
		if r.Weight < 0 {
			return nil, fmt.Errorf("goai: route %d (version %q) has negative weight %d", i, r.Version, r.Weight)
		}
		total += r.Weight
		if total < 0 {
			return nil, fmt.Errorf("goai: route weights overflow")
		}
		t.cum[i] = total
	}
	if total == 0 {
		return nil, fmt.Errorf("goai: every route has weight 0; give one a positive weight, or pass no routes")
	}
	return t, nil
}

// pick returns the version for a draw u uniform in [0, total).
func (t *routeTable) pick(u int) string {
	for i, c := range t.cum {
		if u < c {
			return t.routes[i].Version
		}
	}
	return t.routes[len(t.routes)-1].Version
}

func (t *routeTable) total() int { return t.cum[len(t.cum)-1] }

// randSource draws the random numbers of jitter and routing: from
// math/rand/v2's global generator, or from a seeded source under a mutex.
type randSource struct {
	mu sync.Mutex
	r  *rand.Rand // nil: global generator
}

func (s *randSource) float64() float64 {
	if s == nil || s.r == nil {
		return rand.Float64()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Float64()
}

func (s *randSource) intN(n int) int {
	if s == nil || s.r == nil {
		return rand.IntN(n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.IntN(n)
}
