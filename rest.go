package goai

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/internal/tfs"
	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc/credentials"
)

// A generated client speaks the Open Inference Protocol over REST (KServe
// v2's HTTP/JSON form, with Triton's binary tensor extension) when its
// target is an http:// or https:// URL, and over gRPC otherwise. The
// scheme decides alone, without an option to override it: no gRPC target
// has one of those schemes (grpc-go registers no such resolver, and reads
// "http://host:8000" as a DNS name that cannot resolve), and a REST
// server has no address without one.

// RESTEncoding is how a client of an http:// or https:// target carries
// tensors: as JSON "data" arrays, or as binary chunks after the JSON
// header (Triton's binary tensor extension, advertised as
// binary_tensor_data in a server's metadata). Over gRPC it has no effect.
type RESTEncoding int

const (
	// RESTAuto sends an input of fewer than 128 bytes (32 FP32 values)
	// as JSON data and a larger one as a binary chunk, and asks for every
	// output as a binary chunk. It is the default: a JSON number costs a
	// conversion on each side and takes about 2.5 times the bytes of an
	// FP32 value, while JSON keeps small requests readable to proxies
	// and logs.
	RESTAuto RESTEncoding = iota
	// RESTBinary sends every input as a binary chunk and asks for every
	// output as one.
	RESTBinary
	// RESTJSON sends every input as JSON data and asks for every output
	// as JSON data, for servers without the binary extension. JSON cannot
	// carry FP16 or BF16 tensors (a request holding one fails with
	// INVALID_ARGUMENT before it is sent; Triton refuses to answer them
	// as JSON), nor NaN or infinite values, nor BYTES that are not UTF-8.
	RESTJSON
)

func (e RESTEncoding) encodeOptions() oiphttp.EncodeOptions {
	switch e {
	case RESTBinary:
		return oiphttp.EncodeOptions{BinaryThreshold: 1}
	case RESTJSON:
		return oiphttp.EncodeOptions{BinaryThreshold: -1, JSONOutputs: true}
	}
	return oiphttp.EncodeOptions{}
}

// WithRESTEncoding sets how a client of an http:// or https:// target
// carries tensors, instead of [RESTAuto].
func WithRESTEncoding(e RESTEncoding) PoolOption {
	return poolOption(func(c *poolConfig) { c.restEncoding = e })
}

// WithHTTPClient makes a client of an http:// or https:// target send its
// calls through hc instead of an *http.Client of its own: for a transport
// of the caller's, such as one that traces, goes through a proxy or a
// mesh sidecar, or shares its connections with other clients. hc's
// Transport then holds the TLS configuration, and [WithTLSConfig] and
// [WithPoolSize] are refused with it; [WithInsecure] is still required
// for an http:// target. Close leaves hc and its connections alone. hc
// should not follow redirects (CheckRedirect returning
// http.ErrUseLastResponse), as goai's own client does not: a redirected
// call would lose its body, and its credentials would follow it to
// another host. [Dial] and a gRPC target refuse WithHTTPClient.
func WithHTTPClient(hc *http.Client) PoolOption {
	return poolOption(func(c *poolConfig) { c.httpClient = hc })
}

// restURL reports whether target is an http:// or https:// URL, and
// parses it.
func restURL(target string) (u *url.URL, ok bool, err error) {
	scheme, _, found := strings.Cut(target, "://")
	if !found || !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") {
		return nil, false, nil
	}
	u, err = url.Parse(target)
	if err != nil {
		return nil, true, err
	}
	if u.Host == "" {
		return nil, true, fmt.Errorf("URL %q has no host", target)
	}
	return u, true, nil
}

// dialREST returns a Client of the model desc describes on the REST
// server at u, under o.
func dialREST(target string, u *url.URL, desc *ModelDesc, o *options) (*Client, error) {
	var t wire.Transport
	var err error
	switch desc.Protocol {
	case ProtocolOpenInference:
		t, err = o.pool.restTransport(u)
	case ProtocolTFServing:
		t, err = o.pool.tfsRESTTransport(u, desc, o.client.clock)
	default:
		return nil, fmt.Errorf("goai: %q: %s speaks %v, which has no REST form: use a gRPC target", target, desc.Service, desc.Protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("goai: %q: %w", target, err)
	}
	c := newClient(nil, desc, &o.client)
	c.transport, c.owned, c.transportName = t, t, TransportHTTP
	return c, nil
}

// tfsRESTTransport returns the transport of TF Serving's REST API at u
// for a client of desc, under the same security rules and connection
// options as the Open Inference REST transport's. TF Serving's REST API
// takes no per-request credentials here: they are refused rather than
// left unsent.
func (c *poolConfig) tfsRESTTransport(u *url.URL, desc *ModelDesc, clock Clock) (wire.Transport, error) {
	if err := c.restSecurity(u); err != nil {
		return nil, err
	}
	if len(c.perRPC) > 0 {
		return nil, errors.New("WithPerRPCCredentials is not supported for TF Serving over REST: use its gRPC target")
	}
	if clock == nil {
		clock = SystemClock()
	}
	recv, _ := c.msg.effective()
	hc, own := c.httpClient, false
	if hc == nil {
		hc, own = oiphttp.NewHTTPClient(oiphttp.ClientOptions{Concurrency: c.poolSize, TLS: c.tls}), true
	}
	r, err := tfs.NewREST(u.String(), hc, tfsOptions(desc, recv, clock))
	if err != nil {
		return nil, err
	}
	return &tfsREST{REST: r, hc: hc, own: own}, nil
}

// tfsREST is TF Serving's REST transport on an HTTP client that Close
// closes the idle connections of when the client made it.
type tfsREST struct {
	*tfs.REST
	hc  *http.Client
	own bool
}

func (t *tfsREST) Close() error {
	err := t.REST.Close()
	if t.own {
		t.hc.CloseIdleConnections()
	}
	return err
}

// restTransport returns the REST transport to u that c's options
// describe. The transport security options follow the gRPC path's rules:
// a plaintext target needs WithInsecure, and no two of them contradict.
func (c *poolConfig) restTransport(u *url.URL) (wire.Transport, error) {
	if err := c.restSecurity(u); err != nil {
		return nil, err
	}
	secure := u.Scheme == "https"
	recv, send := c.msg.effective()
	opts := oiphttp.Options{EncodeOptions: c.restEncoding.encodeOptions(), MaxRequestSize: send, MaxResponseSize: recv}
	if len(c.perRPC) > 0 {
		creds := c.perRPC
		for _, pc := range creds {
			if pc.RequireTransportSecurity() && !secure {
				return nil, errors.New("the per-RPC credentials require transport security, and an http:// target is plaintext: use https://")
			}
		}
		opts.Headers = func(ctx context.Context, uri string) (map[string]string, error) {
			return requestMetadata(ctx, creds, uri)
		}
	}
	// Without a client of the caller's, the transport makes its own,
	// whose connections its Close closes.
	opts.Client = oiphttp.ClientOptions{Concurrency: c.poolSize, TLS: c.tls}
	return oiphttp.New(u, c.httpClient, opts)
}

// restSecurity checks the transport security options of a REST target u
// by the gRPC path's rules: a plaintext target needs WithInsecure, and no
// two of them contradict.
func (c *poolConfig) restSecurity(u *url.URL) error {
	secure := u.Scheme == "https"
	switch {
	case c.creds != nil:
		return errors.New("WithTransportCredentials secures gRPC connections; over REST pass WithTLSConfig with an https:// target")
	case c.insecure && (secure || c.tls != nil):
		return errors.New("WithInsecure given with TLS (an https:// target or WithTLSConfig); pass one")
	case !secure && c.tls != nil:
		return errors.New("WithTLSConfig given with an http:// target, which is plaintext: use https://")
	case !secure && !c.insecure:
		return fmt.Errorf("%w: an http:// target is plaintext; pass WithInsecure, or use https://", ErrNoTransportSecurity)
	case c.httpClient != nil && c.tls != nil:
		return errors.New("WithTLSConfig given with WithHTTPClient, whose Transport holds the TLS configuration; pass one")
	case c.httpClient != nil && c.poolSize > 0:
		return errors.New("WithPoolSize given with WithHTTPClient, whose Transport keeps its own connections; pass one")
	}
	return nil
}

// requestMetadata returns the headers of every credential of creds for
// uri, as grpc-go merges the metadata of a connection's per-RPC
// credentials, a later one's key replacing an earlier one's.
func requestMetadata(ctx context.Context, creds []credentials.PerRPCCredentials, uri string) (map[string]string, error) {
	if len(creds) == 1 {
		return creds[0].GetRequestMetadata(ctx, uri)
	}
	md := map[string]string{}
	for _, pc := range creds {
		m, err := pc.GetRequestMetadata(ctx, uri)
		if err != nil {
			return nil, err
		}
		maps.Copy(md, m)
	}
	return md, nil
}
