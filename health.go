package goai

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Errors of [Client.Ready] and [Client.Live]. Each is matched through
// [errors.Is] and the error keeps a gRPC code: UNAVAILABLE when the server
// answered "no", the code of the failed health call otherwise (UNAVAILABLE
// too for a server that cannot be reached).
var (
	// ErrNotReady is matched when the server or a model the client calls
	// is not ready to serve.
	ErrNotReady = errors.New("goai: not ready")
	// ErrNotLive is matched when the server is not live.
	ErrNotLive = errors.New("goai: server not live")
)

// Ready returns nil when the model server is ready and so is every model
// the client's methods call (the service's model in each version the
// routes send calls to, if [Client.SetRoutes] set any), as the model
// protocol's readiness calls report it; otherwise an error matching
// [ErrNotReady] that names what is not ready. The fallback model is not
// checked: a client whose fallback alone serves is still degraded. It is
// what a Kubernetes readiness probe of the calling service wants: answer
// 200 on nil, 503 otherwise. Ready makes no retries and does not touch the
// breakers; bound it with ctx. A client of a direct service, whose own
// gRPC API has no readiness calls, fails with UNIMPLEMENTED.
func (c *Client) Ready(ctx context.Context) error {
	if c.transport == nil {
		return status.Errorf(codes.Unimplemented, "goai: %s calls its own gRPC API, which has no readiness to check", c.desc.Service)
	}
	a := &wire.Attempt{GRPC: c.msgOpts}
	ok, err := c.transport.ServerReady(ctx, a)
	if err != nil {
		return healthError(err, ErrNotReady, "goai: reading the server's readiness")
	}
	if !ok {
		return newCallError(codes.Unavailable, "goai: the model server is not ready", ErrNotReady)
	}
	var down []string
	for _, m := range c.readyModels() {
		ok, err := c.transport.ModelReady(ctx, m.Name, m.Version, a)
		if err != nil {
			return healthError(err, ErrNotReady, "goai: reading the readiness of model "+m.String())
		}
		if !ok {
			down = append(down, m.String())
		}
	}
	if len(down) > 0 {
		return newCallError(codes.Unavailable, "goai: model not ready: "+strings.Join(down, ", "), ErrNotReady)
	}
	return nil
}

// Live returns nil when the model server is live, as the model protocol's
// liveness call reports it; otherwise an error matching [ErrNotLive]. A
// server that is live but not ready (still loading models) passes, as a
// Kubernetes liveness probe wants. A client of a direct service fails with
// UNIMPLEMENTED.
func (c *Client) Live(ctx context.Context) error {
	if c.transport == nil {
		return status.Errorf(codes.Unimplemented, "goai: %s calls its own gRPC API, which has no liveness to check", c.desc.Service)
	}
	ok, err := c.transport.ServerLive(ctx, &wire.Attempt{GRPC: c.msgOpts})
	if err != nil {
		return healthError(err, ErrNotLive, "goai: reading the server's liveness")
	}
	if !ok {
		return newCallError(codes.Unavailable, "goai: the model server is not live", ErrNotLive)
	}
	return nil
}

// readyModels returns the distinct models the client's calls go to, the
// fallback aside, in method order.
func (c *Client) readyModels() []ModelRef {
	var routes []Route
	if t := c.routes.Load(); t != nil {
		routes = t.routes
	}
	var ms []ModelRef
	add := func(m ModelRef) {
		if !slices.Contains(ms, m) {
			ms = append(ms, m)
		}
	}
	for i := range c.desc.Methods {
		m := c.methodModel(&c.desc.Methods[i])
		if m.Name != c.desc.Model.Name || len(routes) == 0 {
			add(m)
			continue
		}
		for _, r := range routes {
			if r.Weight > 0 {
				add(ModelRef{Name: m.Name, Version: r.Version})
			}
		}
	}
	return ms
}

// healthError is the error of a health call that failed: it keeps the
// call's code, the context's for a context error, and matches sentinel
// and err.
func healthError(err, sentinel error, what string) error {
	return newCallError(status.Code(withContextCode(err)), what+": "+err.Error(), sentinel, err)
}
