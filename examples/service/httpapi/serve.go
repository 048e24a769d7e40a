package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Defaults of [ServeOptions].
const (
	// DefaultShutdownTimeout is how long requests in flight get to finish
	// once the server stops accepting. It must cover the longest call
	// (the rpc's timeout with its retries), and, with the preStop sleep,
	// fit in the pod's terminationGracePeriodSeconds.
	DefaultShutdownTimeout = 20 * time.Second
	// DefaultReadHeaderTimeout bounds reading a request's headers, so
	// that slow clients cannot hold connections open.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultIdleTimeout closes keep-alive connections idle this long. It
	// is longer than the idle timeouts of the proxies usually in front
	// (60s for ingress-nginx's upstream keep-alive and for AWS load
	// balancers), so that the proxy, not this server, closes an idle
	// connection: a server-side close can cross a request the proxy is
	// just sending, which then fails with 502.
	DefaultIdleTimeout = 90 * time.Second
)

// ServeOptions configure [Serve]; the zero value is usable.
type ServeOptions struct {
	// DrainDelay is how long Serve keeps accepting requests after its
	// context ends, with /readyz failing and keep-alives off, before it
	// stops accepting. It gives load balancers time to notice. On
	// Kubernetes leave it zero and use a preStop sleep instead, which
	// delays SIGTERM itself until endpoints are updated; elsewhere (Docker
	// Compose, systemd behind a load balancer) set it to the balancer's
	// health-check interval times its failure threshold.
	DrainDelay time.Duration
	// ShutdownTimeout bounds the wait for requests in flight once the
	// server stops accepting; zero means [DefaultShutdownTimeout].
	// Requests still running then are cut off.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout and IdleTimeout are the http.Server's; zero
	// means [DefaultReadHeaderTimeout] and [DefaultIdleTimeout].
	ReadHeaderTimeout, IdleTimeout time.Duration
	// OnShutdown, if set, is called (on its own goroutine) when the
	// server stops accepting connections.
	OnShutdown func()
	// Closers run in order once every request has finished (or been cut
	// off): the micro-batcher before the model client it calls through,
	// then the client.
	Closers []Closer
}

// Closer is a resource [Serve] closes after the HTTP server has drained.
type Closer struct {
	// Name identifies the resource in Serve's error.
	Name string
	// Close releases it.
	Close func() error
}

// Serve serves h on ln until ctx ends, then shuts down in the order that
// loses no request it accepted:
//
//  1. /readyz starts failing ([Handler.StartDrain]) and responses ask
//     clients to close their connections (keep-alives off), while requests
//     are still accepted for DrainDelay;
//  2. the listener closes and idle connections with it; requests in
//     flight run to completion, for up to ShutdownTimeout;
//  3. the Closers run, in order.
//
// Requests in flight are not cancelled by ctx: their contexts derive from
// the server's, not from ctx, so a SIGTERM does not fail the calls it is
// meant to let finish.
//
// Serve returns nil after a clean shutdown. It returns an error if ln
// failed (the Closers still run), if requests were still running at
// ShutdownTimeout, or if a Closer failed; the errors are joined.
func Serve(ctx context.Context, ln net.Listener, h *Handler, opts ServeOptions) error {
	shutdownTimeout := orDefault(opts.ShutdownTimeout, DefaultShutdownTimeout)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: orDefault(opts.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		IdleTimeout:       orDefault(opts.IdleTimeout, DefaultIdleTimeout),
	}
	if opts.OnShutdown != nil {
		srv.RegisterOnShutdown(opts.OnShutdown)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var errs []error
	select {
	case err := <-served:
		// The listener failed before any shutdown was asked for.
		errs = append(errs, fmt.Errorf("serving HTTP: %w", err))
		srv.Close()
	case <-ctx.Done():
		h.StartDrain()
		srv.SetKeepAlivesEnabled(false)
		if opts.DrainDelay > 0 {
			t := time.NewTimer(opts.DrainDelay)
			<-t.C
		}
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		err := srv.Shutdown(sctx)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("requests still running after %v, cut off: %w", shutdownTimeout, err))
			srv.Close()
		}
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serving HTTP: %w", err))
		}
	}
	for _, c := range opts.Closers {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
