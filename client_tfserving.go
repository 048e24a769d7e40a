package goai

import (
	"fmt"
	"strings"

	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/internal/tfs"
)

// TF Serving's transports, as a client of a [ProtocolTFServing] service
// makes them: its gRPC API on the client's connection, or its REST API
// for an http:// or https:// target.
//
// What TF Serving names besides a model and its version is the client's,
// not the request's: a client serves one service, whose annotation names
// one signature, and whose version label, if any, names a version of the
// service's model alone. So both go in the transport's options, made once
// per client, and the protocol-neutral requests (internal/wire) carry
// neither. A call's own version, a route's or the fallback's goes in the
// request as any version does: TF Serving reads digits as a version number
// and anything else as a label (tfs.VersionAuto); only a request of the
// service's model that names no version gets the label.

// tfsOptions returns the options of the TF Serving transports of a client
// of desc, whose responses may take recv bytes, telling the time by clock.
func tfsOptions(desc *ModelDesc, recv int, clock Clock) tfs.Options {
	o := tfs.Options{
		SignatureName: desc.SignatureName,
		Version:       tfs.VersionAuto,
		// A tensor sent whole is never larger than its message; the limit
		// refuses the ones a short typed field stretches.
		MaxDecodedBytes:  recv,
		MaxResponseBytes: recv,
		Now:              clock.Now,
	}
	if desc.VersionLabel != "" {
		o.Labels = map[string]string{desc.Model.Name: desc.VersionLabel}
	}
	return o
}

// httpTarget reports whether target names a REST endpoint, http:// or
// https://, rather than a gRPC target.
func httpTarget(target string) bool {
	return hasPrefixFold(target, "http://") || hasPrefixFold(target, "https://")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// dialREST returns a client of desc calling the REST API at target, an
// http:// or https:// URL, under o: TLS from [WithTLSConfig] (the system's
// roots by default) for https://, message limits from
// [WithMaxRecvMsgSize]. Options of gRPC connections alone do nothing
// over HTTP, but credentials would be dropped silently, so
// [WithTransportCredentials] and [WithPerRPCCredentials] are errors.
func dialREST(target string, desc *ModelDesc, o *options) (*Client, error) {
	if desc.Protocol != ProtocolTFServing {
		return nil, fmt.Errorf("goai: %s: target %q is an HTTP URL, but %s is called through %v, which goai speaks over gRPC only; give a gRPC target such as dns:///host:8001", desc.Service, target, desc.Service, desc.Protocol)
	}
	if o.pool.creds != nil || len(o.pool.perRPC) > 0 {
		return nil, fmt.Errorf("goai: %s: gRPC credentials do not apply to the HTTP target %q; use WithTLSConfig for https://", desc.Service, target)
	}
	c := newClient(nil, desc, &o.client)
	recv, _ := o.client.msg.effective()
	hc := oiphttp.NewHTTPClient(oiphttp.ClientOptions{TLS: o.pool.tls})
	tr, err := tfs.NewREST(target, hc, tfsOptions(desc, recv, c.clock))
	if err != nil {
		return nil, fmt.Errorf("goai: %s: %w", desc.Service, err)
	}
	c.transport = tr
	c.owned = closerFunc(func() error {
		hc.CloseIdleConnections()
		return nil
	})
	return c, nil
}

// closerFunc is an io.Closer made of a function.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }
