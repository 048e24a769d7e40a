package oiphttp

import (
	"crypto/tls"
	"net"
	"net/http"
	"time"
)

// ClientOptions tune the [*http.Client] that [NewHTTPClient] builds. The
// zero value is the default of every field.
type ClientOptions struct {
	// Concurrency is the number of calls expected in flight at once to
	// one server; 0 means [DefaultConcurrency]. HTTP/1.1 carries one
	// request per connection at a time, so this many idle connections are
	// kept per host: with fewer, every burst above the pool closes
	// connections after use and opens new ones for the next burst
	// (net/http's default keeps 2), paying a TCP and TLS handshake per
	// call and piling up TIME_WAIT sockets. It does not limit the number
	// of connections (that would queue calls inside net/http, out of
	// sight of goai's own limits and deadlines).
	Concurrency int
	// TLS is the TLS configuration for https:// servers; nil means the
	// system's roots and Go's defaults (TLS 1.2 and above). It is cloned.
	TLS *tls.Config
	// IdleTimeout closes a connection idle this long; 0 means
	// [DefaultIdleTimeout].
	IdleTimeout time.Duration
	// DialTimeout bounds establishing a TCP connection; 0 means
	// [DefaultDialTimeout]. A call's own deadline still applies.
	DialTimeout time.Duration
}

// The defaults of [ClientOptions].
const (
	// DefaultConcurrency is 100 calls in flight, as many idle connections
	// as net/http's DefaultTransport keeps across all hosts.
	DefaultConcurrency = 100
	// DefaultIdleTimeout is 50 s: below the idle timeouts of the proxies
	// and load balancers commonly in front of model servers (AWS ALB 60 s,
	// nginx keepalive_timeout 75 s), so that the client, not the server,
	// closes an idle connection, and a request is not written into a
	// connection the server is closing at that moment.
	DefaultIdleTimeout = 50 * time.Second
	// DefaultDialTimeout is 20 s, grpc-go's minimum connect timeout.
	DefaultDialTimeout = 20 * time.Second
)

// NewHTTPClient returns an *http.Client tuned for calls to one model
// server: keep-alive connections pooled for o.Concurrency calls, HTTP/2
// when a TLS server offers it, and the settings below, each for a
// reason:
//
//   - ForceAttemptHTTP2: a custom dialer or TLS config turns off
//     net/http's HTTP/2, which multiplexes every call over one TLS
//     connection; forcing it keeps HTTP/2 for servers that negotiate it
//     with ALPN, and HTTP/1.1 for the rest. Cleartext HTTP/2 (h2c) is not
//     attempted.
//   - TLS handshake timeout 10 s, as net/http's DefaultTransport.
//   - DisableCompression: net/http would otherwise ask for gzip, and a
//     server that obliges spends CPU compressing tensors (floats barely
//     compress) on every call's critical path; the gRPC path does not
//     compress either.
//   - Proxy from the environment (HTTPS_PROXY, NO_PROXY), as grpc-go
//     and every HTTP client honour it.
//   - No redirects: gRPC never follows them, a POST turned into a GET
//     would fail obscurely, and the credential headers of the Headers
//     option would follow the call to another host. A 3xx is an error
//     (UNKNOWN).
//   - No client timeout and no response header timeout: a call's context
//     deadline bounds it, and a fixed timeout would cut slow models.
//   - 32 KiB read and write buffers instead of 4 KiB: a tensor of
//     hundreds of KiB takes eight times fewer system calls, for 64 KiB
//     per connection.
func NewHTTPClient(o ClientOptions) *http.Client {
	conc := orDefault(o.Concurrency, DefaultConcurrency)
	idle := o.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	dial := o.DialTimeout
	if dial <= 0 {
		dial = DefaultDialTimeout
	}
	var tlsConf *tls.Config
	if o.TLS != nil {
		tlsConf = o.TLS.Clone()
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: dial}).DialContext,
		TLSClientConfig:     tlsConf,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        conc,
		MaxIdleConnsPerHost: conc,
		IdleConnTimeout:     idle,
		DisableCompression:  true,
		WriteBufferSize:     32 << 10,
		ReadBufferSize:      32 << 10,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
