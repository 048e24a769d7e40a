// Package bridge hands the call path of package goai to package goaiimpl,
// which the generated code calls, without putting it in goai's API: goai
// keeps these functions unexported and sets the variables below to them
// in its init, and goaiimpl asserts each to the type its comment gives
// once, when it is initialised (after goai, which it imports). It is the
// pattern of grpc-go's internal package; it costs a call through a
// function value and nothing per call else.
//
// The types named in the comments are those of package goai unless
// qualified otherwise.
package bridge

var (
	// NewClient: func(target string, desc *ModelDesc, opts []Option) (*Client, error)
	NewClient any
	// NewClientFromConn: func(cc grpc.ClientConnInterface, desc *ModelDesc, opts []ClientOption) *Client
	NewClientFromConn any
	// Infer: func(c *Client, ctx context.Context, m *MethodDesc, req *wire.Request, opts []CallOption) (*wire.Response, error)
	Infer any
	// InferStream: func(c *Client, ctx context.Context, m *MethodDesc, req *wire.Request, opts []CallOption, each func(*wire.Response) (more bool, err error)) error
	//
	// It makes one call of a streaming rpc m, handing each response to
	// each, until the last, each's false or each's error.
	InferStream any
	// InvokeDirect: func(c *Client, ctx context.Context, m *MethodDesc, rpc func(context.Context, []grpc.CallOption) error, opts []CallOption) error
	InvokeDirect any
	// Conn: func(c *Client) grpc.ClientConnInterface
	Conn any
	// Desc: func(c *Client) *ModelDesc
	Desc any
	// Now: func(c *Client) time.Time
	Now any
	// CallOptions: func(opts []CallOption) (parallel int, report *CallInfo)
	CallOptions any
	// Batcher: func(c *Client, m *MethodDesc, opts []MicroBatchOption) (policy BatchingPolicy, timeout time.Duration, untimed, timed []CallOption, rest []MicroBatchOption)
	//
	// It returns what a micro-batcher of m needs of the call path: the
	// batching policy as opts set it, each call's timeout, the call options
	// of a batch whose deadline is a caller's own (untimed) and of one whose
	// deadline is a call's timeout (timed), and the options for the
	// MicroBatcher itself.
	Batcher any
	// ContextError: func(err error) error
	ContextError any
	// BreakerCounts: func(c *Client, m ModelRef) (successes, failures, exclusions uint32)
	//
	// It reads what model m's breaker has counted, for goaiimpl's tests.
	BreakerCounts any
)
