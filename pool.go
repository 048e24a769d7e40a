package goai

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/goai-dev/goai/internal/wirecodec"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// Pool is N gRPC client connections to one target behind one
// grpc.ClientConnInterface. Each connection is its own grpc.ClientConn, so
// its own TCP connection(s) and HTTP/2 transport; the target is resolved,
// and each connection balanced over the resolved addresses, by gRPC itself
// (dns:///, xds:///, passthrough:///, or a resolver given through
// [WithDialOptions]). grpc-go's own retries are off: the [Client] is the
// one retry owner.
//
// A Pool is safe for concurrent use. Generated clients take one, and
// the clients built on it share its [RetryBudget].
type Pool struct {
	target string
	conns  []*grpc.ClientConn
	pick   PickPolicy
	next   atomic.Uint64
	load   []paddedCounter // calls in flight per connection, for PickLeastOutstanding
	budget *RetryBudget
	// maxSend is the send limit, checked by Invoke before grpc checks it.
	maxSend int

	closeOnce sync.Once
	closeErr  error
}

// paddedCounter is a counter alone on its cache line.
type paddedCounter struct {
	n atomic.Int64
	_ [56]byte
}

// Dial returns a [Pool] of connections to target. Like grpc.NewClient it
// does not connect: connections are made on first use and remade after
// failures. It fails if target does not parse, or with
// [ErrNoTransportSecurity] if no transport security was chosen. Its
// connections use goai's own gRPC codec, which reads the raw tensors of
// responses in place instead of copying them.
func Dial(target string, opts ...PoolOption) (*Pool, error) {
	return dial(target, newPoolConfig(opts))
}

// dial is Dial with its options applied.
func dial(target string, cfg *poolConfig) (*Pool, error) {
	if _, ok, _ := restURL(target); ok {
		return nil, fmt.Errorf("goai: Dial(%q): a Pool holds gRPC connections, and an http:// or https:// target is a REST server: pass it to New<Service>ModelClient", target)
	}
	if cfg.httpClient != nil {
		return nil, fmt.Errorf("goai: Dial(%q): WithHTTPClient is for an http:// or https:// target", target)
	}
	dopts, err := cfg.dialOptions()
	if err != nil {
		return nil, fmt.Errorf("goai: Dial(%q): %w", target, err)
	}
	n := cfg.poolSize
	if n < 1 {
		n = DefaultPoolSize
	}
	_, send := cfg.msg.effective()
	p := &Pool{target: target, pick: cfg.pick, conns: make([]*grpc.ClientConn, 0, n), maxSend: send}
	if cfg.pick == PickLeastOutstanding {
		p.load = make([]paddedCounter, n)
	}
	if cfg.budgetSet {
		p.budget = cfg.budget
	} else {
		p.budget = NewRetryBudget(RetryBudgetPolicy{}, nil)
	}
	for range n {
		cc, err := grpc.NewClient(target, dopts...)
		if err != nil {
			p.Close()
			if cfg.creds == nil && cfg.tls == nil && !cfg.insecure && strings.Contains(err.Error(), "no transport security set") {
				err = fmt.Errorf("%w: pass WithTLSConfig, WithTransportCredentials or WithInsecure", ErrNoTransportSecurity)
			}
			return nil, fmt.Errorf("goai: Dial(%q): %w", target, err)
		}
		p.conns = append(p.conns, cc)
	}
	return p, nil
}

// dialOptions returns the grpc.DialOptions of c's pool part.
func (c *poolConfig) dialOptions() ([]grpc.DialOption, error) {
	creds := c.creds
	if c.tls != nil {
		if creds != nil {
			return nil, errors.New("both WithTLSConfig and WithTransportCredentials given; pass one")
		}
		creds = credentials.NewTLS(c.tls)
	}
	if c.insecure {
		if creds != nil {
			return nil, errors.New("WithInsecure given with TLS or transport credentials; pass one")
		}
		creds = insecure.NewCredentials()
	}
	recv, send := c.msg.effective()
	ka := DefaultKeepalive
	if c.keepalive != nil {
		ka = *c.keepalive
	}
	opts := []grpc.DialOption{
		grpc.WithDisableRetry(),
		// Raw tensors in responses are read in place rather than copied
		// out of the received buffer; see package wirecodec.
		wirecodec.DialOption(),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(recv), grpc.MaxCallSendMsgSize(send)),
	}
	if ka.Time > 0 {
		opts = append(opts, grpc.WithKeepaliveParams(ka))
	}
	if creds != nil {
		opts = append(opts, grpc.WithTransportCredentials(creds))
	}
	for _, pc := range c.perRPC {
		opts = append(opts, grpc.WithPerRPCCredentials(pc))
	}
	return append(opts, c.dialOpts...), nil
}

// pickConn returns the index of the connection for the next call.
func (p *Pool) pickConn() int {
	n := len(p.conns)
	if n == 1 {
		return 0
	}
	if p.pick != PickLeastOutstanding {
		return int((p.next.Add(1) - 1) % uint64(n))
	}
	// Start the scan at a rotating index so that ties spread out.
	start := int((p.next.Add(1) - 1) % uint64(n))
	best, bestLoad := start, p.load[start].n.Load()
	for k := 1; k < n && bestLoad > 0; k++ {
		i := (start + k) % n
		if l := p.load[i].n.Load(); l < bestLoad {
			best, bestLoad = i, l
		}
	}
	return best
}

// Invoke makes a unary call on one of the pool's connections. A request
// larger than the send limit fails with [ErrMessageTooLarge] without
// being sent.
func (p *Pool) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if err := checkSend(args, opts, p.maxSend); err != nil {
		return err
	}
	i := p.pickConn()
	if p.load == nil {
		return p.conns[i].Invoke(ctx, method, args, reply, opts...)
	}
	p.load[i].n.Add(1)
	defer p.load[i].n.Add(-1)
	return p.conns[i].Invoke(ctx, method, args, reply, opts...)
}

// checkSend fails a request args over the send limit, the pool's or a
// grpc.MaxCallSendMsgSize among opts, the last one winning as in grpc.
// It measures the request as grpc's codec encodes it, so that grpc's own
// check, whose error cannot be told from a server's, never fires first.
// With a compressor among opts it leaves the check to grpc, which
// compares the compressed size.
func checkSend(args any, opts []grpc.CallOption, limit int) error {
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.MaxSendMsgSizeCallOption:
			limit = o.MaxSendMsgSize
		case grpc.CompressorCallOption:
			if o.CompressorType != "" && o.CompressorType != "identity" {
				return nil
			}
		}
	}
	m, ok := args.(proto.Message)
	if !ok {
		return nil
	}
	if n := proto.Size(m); n > limit {
		return newCallError(codes.ResourceExhausted,
			fmt.Sprintf("goai: trying to send message larger than max (%d vs. %d)", n, limit), ErrMessageTooLarge)
	}
	return nil
}

// NewStream opens a stream on one of the pool's connections. Under
// [PickLeastOutstanding] the stream counts as in flight until it ends: its
// RecvMsg returns an error (io.EOF included), its one response arrives, or
// ctx is done. The requests of a client-streaming call are checked
// against the send limit as Invoke checks its request: grpc's own check
// would end the stream.
func (p *Pool) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	i := p.pickConn()
	if p.load == nil {
		s, err := p.conns[i].NewStream(ctx, desc, method, opts...)
		return sendChecked(s, err, desc, opts, p.maxSend)
	}
	p.load[i].n.Add(1)
	s, err := p.conns[i].NewStream(ctx, desc, method, opts...)
	if err != nil {
		p.load[i].n.Add(-1)
		return nil, err
	}
	cs := &countedStream{ClientStream: s, serverStreams: desc.ServerStreams}
	var once sync.Once
	cs.done = func() { once.Do(func() { p.load[i].n.Add(-1) }) }
	cs.stop = context.AfterFunc(ctx, cs.done)
	return sendChecked(cs, nil, desc, opts, p.maxSend)
}

// sendChecked returns s, the stream NewStream opened (or its error err),
// checking the requests it sends against limit if it streams them.
func sendChecked(s grpc.ClientStream, err error, desc *grpc.StreamDesc, opts []grpc.CallOption, limit int) (grpc.ClientStream, error) {
	if err != nil || !desc.ClientStreams {
		return s, err
	}
	return &checkedStream{ClientStream: s, opts: opts, limit: limit}, nil
}

// checkedStream checks each request against the send limit before grpc
// does.
type checkedStream struct {
	grpc.ClientStream
	opts  []grpc.CallOption
	limit int
}

func (s *checkedStream) SendMsg(m any) error {
	if err := checkSend(m, s.opts, s.limit); err != nil {
		return err
	}
	return s.ClientStream.SendMsg(m)
}

// countedStream lowers its connection's count when it ends.
type countedStream struct {
	grpc.ClientStream
	serverStreams bool
	done          func()
	stop          func() bool
}

func (s *countedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || !s.serverStreams {
		s.stop()
		s.done()
	}
	return err
}

// Len returns the number of connections.
func (p *Pool) Len() int { return len(p.conns) }

// Conn returns the i-th connection, 0 <= i < Len(), for what needs a
// *grpc.ClientConn itself, such as watching its state.
func (p *Pool) Conn(i int) *grpc.ClientConn { return p.conns[i] }

// Target returns the target the pool was dialed with.
func (p *Pool) Target() string { return p.target }

// RetryBudget returns the retry budget the Callers built on the pool share;
// nil if [WithRetryBudget](nil) turned it off.
func (p *Pool) RetryBudget() *RetryBudget { return p.budget }

// Close closes every connection, ending their calls, and returns their
// errors joined. Later calls return the same.
func (p *Pool) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		for _, cc := range p.conns {
			errs = append(errs, cc.Close())
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}

// sizeChecked is a connection of the caller's that checks each request
// against the client's send limit before grpc does, as a Pool does, so
// that a request over it is the client's own error (ErrMessageTooLarge),
// never a server's.
type sizeChecked struct {
	grpc.ClientConnInterface
	maxSend int
}

// Invoke checks args, then makes the call.
func (c *sizeChecked) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if err := checkSend(args, opts, c.maxSend); err != nil {
		return err
	}
	return c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
}

// NewStream opens the stream, checking the requests it sends.
func (c *sizeChecked) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	s, err := c.ClientConnInterface.NewStream(ctx, desc, method, opts...)
	return sendChecked(s, err, desc, opts, c.maxSend)
}
