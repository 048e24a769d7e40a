package inferencetest

import (
	"context"
	"time"

	"google.golang.org/grpc"
)

// Option configures a [Server] at [New].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	maxStreams    uint32
	typed         bool
	tensorContent bool
	recordLimit   int
	name          string
	version       string
	extensions    []string
	sleep         func(context.Context, time.Duration) error
	grpcOptions   []grpc.ServerOption
	bufconnBytes  int
}

func defaultConfig() config {
	return config{
		recordLimit:  DefaultRecordLimit,
		name:         "inferencetest",
		version:      "1",
		sleep:        sleepContext,
		bufconnBytes: 1 << 20,
	}
}

// DefaultRecordLimit is how many requests a [Server] keeps for
// [Server.Requests] unless [WithRecordLimit] says otherwise: enough for any
// test that asserts on individual requests, small enough that a benchmark
// sending millions cannot grow memory without bound.
const DefaultRecordLimit = 1024

// WithMaxConcurrentStreams caps the concurrent calls a client connection
// may have open (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, set by
// [grpc.MaxConcurrentStreams]); further calls wait on the client side for a
// free stream. Zero, the default, leaves grpc-go's default (no practical
// limit). Like any HTTP/2 setting it is fixed once the server starts.
func WithMaxConcurrentStreams(n uint32) Option {
	return optionFunc(func(c *config) { c.maxStreams = n })
}

// WithTypedOutputs makes every model answer with typed contents, as if each
// had [Model.TypedOutputs] set: the behaviour of KServe's Python servers.
func WithTypedOutputs() Option {
	return optionFunc(func(c *config) { c.typed = true })
}

// WithRecordLimit keeps the n most recent ModelInfer requests for
// [Server.Requests], instead of [DefaultRecordLimit]. Zero records none;
// counters ([Server.Stats]) are kept regardless.
func WithRecordLimit(n int) Option {
	return optionFunc(func(c *config) { c.recordLimit = max(n, 0) })
}

// WithServerMetadata sets what ServerMetadata reports. The default is name
// "inferencetest", version "1" and no extensions.
func WithServerMetadata(name, version string, extensions ...string) Option {
	return optionFunc(func(c *config) {
		c.name, c.version, c.extensions = name, version, extensions
	})
}

// WithSleep replaces how the server waits out injected latency and cost.
// sleep must return nil after d, or ctx's error as soon as ctx is done. The
// default uses a timer; tests that assert on durations pass a function that
// records d and returns at once, so they never wait.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return optionFunc(func(c *config) { c.sleep = sleep })
}

// WithGRPCServerOptions adds options to every underlying [grpc.Server], such
// as interceptors or keepalive enforcement. The server's own options (message
// size limits, the stream cap) come first, so these can override them.
func WithGRPCServerOptions(opts ...grpc.ServerOption) Option {
	return optionFunc(func(c *config) { c.grpcOptions = append(c.grpcOptions, opts...) })
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
