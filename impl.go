package goai

import (
	"context"
	"errors"
	"time"

	"github.com/goai-dev/goai/internal/bridge"
	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// The call path as package goaiimpl, which generated code calls, reaches
// it: see package internal/bridge.
func init() {
	bridge.NewClient = dialClient
	bridge.NewClientFromConn = func(cc grpc.ClientConnInterface, desc *ModelDesc, opts []ClientOption) *Client {
		return newClient(cc, desc, newClientConfig(opts))
	}
	bridge.Infer = (*Client).infer
	bridge.InferStream = (*Client).inferStream
	bridge.InvokeDirect = (*Client).invokeDirect
	bridge.Conn = func(c *Client) grpc.ClientConnInterface { return c.cc }
	bridge.Desc = func(c *Client) *ModelDesc { return c.desc }
	bridge.Now = func(c *Client) time.Time { return c.clock.Now() }
	bridge.CallOptions = callOptionsInfo
	bridge.Batcher = (*Client).batcher
	bridge.ContextError = contextError
	bridge.BreakerCounts = func(c *Client, m ModelRef) (successes, failures, exclusions uint32) {
		if b := c.breakerFor(m); b != nil {
			n := b.cb.Counts()
			return n.TotalSuccesses, n.TotalFailures, n.TotalExclusions
		}
		return 0, 0, 0
	}
}

// infer makes one call of method with req through the client's transport
// and policies, each attempt naming the model it is for. A response the
// transport could not read by its protocol's rules fails with a
// [*TensorError], after the policies are done with the call: the server
// answered, so it is neither retried nor counted against the breaker.
func (c *Client) infer(ctx context.Context, method *MethodDesc, req *wire.Request, opts []CallOption) (*wire.Response, error) {
	call := &inferAttempts{c: c, req: req}
	var size *callSize // nil when no hook reads it
	if c.hooks.CallStart != nil || c.hooks.CallDone != nil {
		call.size = requestSize(req, c.desc.MaxBatchSize > 0)
		size = &call.size
	}
	err := c.invokeWith(ctx, method, call, size, opts)
	resp := call.resp
	if err != nil {
		return nil, tensorError(err)
	}
	return resp, nil
}

// inferAttempts makes the attempts of one call of infer, keeping the
// response of the one that succeeds, and the call's size for its events
// (in the same allocation, sized or not).
type inferAttempts struct {
	c    *Client
	req  *wire.Request
	resp *wire.Response
	size callSize
}

func (x *inferAttempts) attempt(ctx context.Context, a attemptArgs) error {
	// Attempts run one after another, and the transport is done with req
	// when Infer returns: it is safe to rename.
	x.req.Model, x.req.Version = a.model.Name, a.model.Version
	r, err := x.c.transport.Infer(ctx, x.req, a.wire)
	if err != nil {
		return inBand(transportError(err))
	}
	x.resp = r
	x.size.response = responseBytes(r)
	return nil
}

// transportError is err, a Transport's, as the call path reports it: a
// request over the client's send limit that the transport did not send
// also matches [ErrMessageTooLarge], as on a [Pool].
func transportError(err error) error {
	if errors.Is(err, wire.ErrRequestTooLarge) {
		return newCallError(status.Code(err), err.Error(), ErrMessageTooLarge, err)
	}
	return err
}

// invokeDirect makes one call of method, an rpc of a direct service,
// through the client's policies: each attempt is rpc with the attempt's
// call options.
func (c *Client) invokeDirect(ctx context.Context, method *MethodDesc, rpc func(context.Context, []grpc.CallOption) error, opts []CallOption) error {
	return c.invoke(ctx, method, func(ctx context.Context, a attemptArgs) error {
		return rpc(ctx, a.callOptions)
	}, opts...)
}

// requestSize returns the size of req for the call's events: its items
// along the batch dimension (the first of every input's shape when the
// model has one) and its tensor data.
func requestSize(req *wire.Request, batched bool) callSize {
	size := callSize{items: 1}
	for i := range req.Inputs {
		t := &req.Inputs[i]
		size.request += int64(len(t.Raw))
		if i == 0 && batched && len(t.Shape) > 0 {
			size.items = int(t.Shape[0])
		}
	}
	return size
}

// responseBytes is the tensor data of resp, BYTES elements carried
// unframed included.
func responseBytes(resp *wire.Response) int64 {
	var n int64
	for i := range resp.Outputs {
		n += int64(len(resp.Outputs[i].Raw))
	}
	for _, elems := range resp.Elements {
		for _, e := range elems {
			n += int64(len(e))
		}
	}
	return n
}
