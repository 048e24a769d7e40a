package goai

import (
	"crypto/tls"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// Defaults of a [Pool].
const (
	// DefaultPoolSize is the pool's default number of connections. One
	// HTTP/2 connection multiplexes many concurrent calls; on a CPU-bound
	// client or server (a 2-core loopback, say) more connections only add
	// work. Raise it with [WithPoolSize] when one connection's throughput
	// is the limit: large tensors over a high-bandwidth or high-latency
	// link (one TCP flow's window), a server or proxy that caps concurrent
	// streams per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS;
	// nginx's default is 128), or an L4 load balancer that spreads
	// connections, not calls, over replicas.
	DefaultPoolSize = 1
	// DefaultMaxMsgSize is the default limit, in each direction, of one
	// message: 64 MiB, above grpc-go's 4 MiB receive default, which a
	// batch of images or embeddings easily passes. Calls over it fail with
	// RESOURCE_EXHAUSTED and are not retried.
	DefaultMaxMsgSize = 64 << 20
)

// DefaultKeepalive is the pool's default client keepalive: a ping after 5
// minutes without activity on a connection with calls in flight, and 20s
// for its answer (which grpc-go also sets as TCP_USER_TIMEOUT, so writes to
// a dead peer fail in 20s). 5 minutes is the minimum ping interval that
// gRPC servers (grpc-go, and grpc core, which Triton uses) enforce by
// default; pinging more often makes them close the connection with
// GOAWAY "too_many_pings". Lower it only for a server configured to
// allow it.
var DefaultKeepalive = keepalive.ClientParameters{Time: 5 * time.Minute, Timeout: 20 * time.Second}

// PickPolicy chooses the connection of a [Pool] each call goes through.
type PickPolicy int

const (
	// PickRoundRobin takes the connections in turn. It is the default.
	PickRoundRobin PickPolicy = iota
	// PickLeastOutstanding takes the connection with the fewest calls and
	// streams in flight, the first of equals.
	PickLeastOutstanding
)

// WithPoolSize makes a [Pool] of n connections; n < 1 means
// [DefaultPoolSize]. See DefaultPoolSize for when to raise it.
//
// Over REST (an http:// or https:// target), HTTP/1.1 carries one call at
// a time on a connection, so n is instead the number of idle connections
// kept for reuse, which should be the number of calls expected in flight:
// with fewer, each burst closes connections after use and opens new ones,
// a TCP (and TLS) handshake per call. It does not cap the connections
// open. The default there is 100.
func WithPoolSize(n int) PoolOption {
	return poolOption(func(c *poolConfig) { c.poolSize = n })
}

// WithPickPolicy sets how a [Pool] picks a connection for each call. Over
// REST it has no effect: net/http takes any idle connection.
func WithPickPolicy(p PickPolicy) PoolOption {
	return poolOption(func(c *poolConfig) { c.pick = p })
}

// WithKeepalive sets a [Pool]'s keepalive instead of [DefaultKeepalive];
// a zero value turns client pings off (grpc-go's default). Over REST it
// has no effect: HTTP has no pings, and idle connections close after 50s,
// below the idle timeouts of common proxies.
func WithKeepalive(p keepalive.ClientParameters) PoolOption {
	return poolOption(func(c *poolConfig) { c.keepalive = &p })
}

// WithTransportCredentials makes a [Pool] secure its connections with
// creds, for instance credentials.NewTLS or a credentials/xds value. A
// client of an http:// or https:// target refuses it: net/http makes its
// own TLS connections, from [WithTLSConfig].
func WithTransportCredentials(creds credentials.TransportCredentials) PoolOption {
	return poolOption(func(c *poolConfig) { c.creds = creds })
}

// WithTLSConfig makes a [Pool] connect over TLS with cfg; for mutual TLS,
// set cfg.Certificates (or GetClientCertificate). cfg is cloned. Over REST
// it configures the TLS of an https:// target, which without it uses the
// system's roots; an http:// target refuses it.
func WithTLSConfig(cfg *tls.Config) PoolOption {
	return poolOption(func(c *poolConfig) { c.tls = cfg.Clone() })
}

// WithInsecure makes a [Pool] connect in plaintext. Without it, or
// transport credentials, [Dial] fails with [ErrNoTransportSecurity]. A
// client of an http:// target needs it just the same, and one of an
// https:// target refuses it.
func WithInsecure() PoolOption {
	return poolOption(func(c *poolConfig) { c.insecure = true })
}

// WithPerRPCCredentials makes a [Pool] attach creds to every call, such as
// a bearer token (google.golang.org/grpc/credentials/oauth). Credentials
// that require transport security fail their calls on an insecure pool.
// Over REST each call sends the metadata creds returns as HTTP headers
// (authorization: Bearer ...), the URI given it being the request's URL;
// credentials that require transport security fail the constructor for
// an http:// target.
func WithPerRPCCredentials(creds credentials.PerRPCCredentials) PoolOption {
	return poolOption(func(c *poolConfig) { c.perRPC = append(c.perRPC, creds) })
}

// WithDialOptions passes opts to grpc.NewClient for every connection of a
// [Pool], after the pool's own: resolvers (grpc.WithResolvers), a service
// config (grpc.WithDefaultServiceConfig, for instance round_robin over the
// addresses a dns:/// target resolves to), interceptors, stats handlers.
// Do not enable grpc-go's retries through them: the [Client] owns retries.
// Over REST they have no effect; [WithHTTPClient] brings a transport of the
// caller's instead.
// The options are shared by every connection of the pool, so a
// grpc.WithResolvers(manual.NewBuilderWithScheme(...)) resolver, which
// grpc-go allows on one ClientConn only, needs [WithPoolSize](1).
func WithDialOptions(opts ...grpc.DialOption) PoolOption {
	return poolOption(func(c *poolConfig) { c.dialOpts = append(c.dialOpts, opts...) })
}
