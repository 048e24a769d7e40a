package goai

import (
	"crypto/tls"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// Option configures a generated client that dials its own connections:
// New<Service>ModelClient(target, opts...). Every [PoolOption] and every
// [ClientOption] is an Option; which of the two an option is says where
// else it may go, and the compiler refuses it anywhere else.
type Option interface{ applyOption(*options) }

// PoolOption configures connections: a [Pool] at [Dial], or the
// connections a generated client dials for itself. A client made on a
// connection of the caller's (New<Service>ModelClientFromConn) takes no
// PoolOption, since it dials nothing.
type PoolOption interface {
	Option
	applyPool(*poolConfig)
}

// ClientOption configures what a generated client does with its
// connection, whoever made it: call policies, hooks, the clock and
// per-call message limits. Every constructor of a generated client takes
// it.
type ClientOption interface {
	Option
	applyClient(*clientConfig)
}

// PoolClientOption is an option of both kinds: it configures a [Pool] and
// a client alike, such as a message size limit, which a client on a
// connection of the caller's applies to each of its calls itself.
type PoolClientOption interface {
	PoolOption
	ClientOption
}

// options is everything an Option can set.
type options struct {
	pool   poolConfig
	client clientConfig
	// streams is the number of streams of the stream transport, 0 for
	// the unary one (see WithStreamTransport).
	streams int
}

// poolConfig holds what PoolOptions set.
type poolConfig struct {
	poolSize  int
	pick      PickPolicy
	keepalive *keepalive.ClientParameters
	creds     credentials.TransportCredentials
	tls       *tls.Config
	insecure  bool
	perRPC    []credentials.PerRPCCredentials
	dialOpts  []grpc.DialOption
	msg       msgLimits
	budget    *RetryBudget
	budgetSet bool
	// Over REST (an http:// or https:// target).
	httpClient   *http.Client
	restEncoding RESTEncoding
}

// clientConfig holds what ClientOptions set.
type clientConfig struct {
	clock       Clock
	hooks       Hooks
	fallback    *ModelRef
	fallbackSet bool
	limits      *LimitPolicy
	breaker     *BreakerPolicy
	rand        rand.Source
	msg         msgLimits
	budget      *RetryBudget
	budgetSet   bool
	logger      *slog.Logger
	logEvery    time.Duration
}

// msgLimits are the message size limits set by WithMaxRecvMsgSize and
// WithMaxSendMsgSize; 0 means DefaultMaxMsgSize.
type msgLimits struct{ recv, send int }

// effective returns the limits with their defaults applied.
func (m msgLimits) effective() (recv, send int) {
	recv, send = m.recv, m.send
	if recv <= 0 {
		recv = DefaultMaxMsgSize
	}
	if send <= 0 {
		send = DefaultMaxMsgSize
	}
	return recv, send
}

func newOptions(opts []Option) *options {
	o := &options{}
	for _, opt := range opts {
		if opt != nil {
			opt.applyOption(o)
		}
	}
	return o
}

func newPoolConfig(opts []PoolOption) *poolConfig {
	c := &poolConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyPool(c)
		}
	}
	return c
}

func newClientConfig(opts []ClientOption) *clientConfig {
	c := &clientConfig{}
	for _, o := range opts {
		if o != nil {
			o.applyClient(c)
		}
	}
	return c
}

// poolOption is a PoolOption made of a function.
type poolOption func(*poolConfig)

func (f poolOption) applyPool(c *poolConfig)       { f(c) }
func (f poolOption) applyOption(o *options)        { f(&o.pool) }
func (f clientOption) applyClient(c *clientConfig) { f(c) }
func (f clientOption) applyOption(o *options)      { f(&o.client) }

// clientOption is a ClientOption made of a function.
type clientOption func(*clientConfig)

// bothOption is a PoolClientOption: it sets a pool's setting and the
// client's.
type bothOption struct {
	pool   func(*poolConfig)
	client func(*clientConfig)
}

func (b bothOption) applyPool(c *poolConfig)     { b.pool(c) }
func (b bothOption) applyClient(c *clientConfig) { b.client(c) }
func (b bothOption) applyOption(o *options)      { b.pool(&o.pool); b.client(&o.client) }

var (
	_ PoolOption       = poolOption(nil)
	_ ClientOption     = clientOption(nil)
	_ PoolClientOption = bothOption{}
)
