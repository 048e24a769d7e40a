package inferencetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/tfs"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// ErrStopped is returned by [Server.Up] and the Start methods once
// [Server.Stop] has been called.
var ErrStopped = errors.New("inferencetest: server stopped")

// Server is an in-process model server: the Open Inference Protocol's
// gRPC API and TF Serving's, for the same models. Create it with
// [New], register models, then start it with [Server.StartBufconn] or
// [Server.StartTCP]; stop it with [Server.Stop]. All methods are safe for
// concurrent use.
type Server struct {
	cfg    config
	faults faultState
	rec    recorder
	tfs    *tfs.Server // TF Serving's APIs of the same models

	mu             sync.Mutex // guards the fields below it
	models         map[string]*model
	notReady       map[string]bool // model names marked not ready
	serverNotReady bool

	life     sync.Mutex // serializes start, Up, Down and Stop
	network  string     // "tcp" or "bufconn" once started
	addr     string
	httpAddr string      // the REST listener's address
	gen      *generation // nil while down
	stopped  bool

	// The live listeners, for the dialers; nil while down.
	buf     atomic.Pointer[bufconn.Listener]
	httpBuf atomic.Pointer[pipeListener]
}

// generation is one run of a grpc.Server and an http.Server, from Start
// or Up to Down or Stop.
type generation struct {
	srv    *grpc.Server
	http   *http.Server
	calls  *callGate       // the REST calls being served
	ctx    context.Context // canceled when the generation stops
	cancel context.CancelFunc
	done   chan struct{} // closed when both Serves have returned
}

// New returns a server that is not yet listening.
func New(opts ...Option) *Server {
	s := &Server{cfg: defaultConfig(), models: map[string]*model{}}
	for _, o := range opts {
		o.apply(&s.cfg)
	}
	s.tfs = s.newTFServing()
	s.rec.limit = s.cfg.recordLimit
	s.faults.set(Faults{})
	return s
}

// Register adds m to the server, or replaces the model of the same name as
// a model reload would; the model is ready at once. It reports an error if
// m's declaration is incomplete or inconsistent. m is copied: changing it
// afterwards has no effect.
func (s *Server) Register(m Model) error {
	mm, err := newModel(m)
	if err != nil {
		return err
	}
	mm.tf = s.tfModel(mm)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.models[m.Name] = mm
	delete(s.notReady, m.Name)
	return nil
}

// Unregister removes the model named name, as an unload would, and reports
// whether there was one. Calls already running it finish.
func (s *Server) Unregister(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.models[name]
	delete(s.models, name)
	delete(s.notReady, name)
	return ok
}

// SetServerReady sets what ServerReady answers; a new server is ready.
// Other RPCs are served either way, as Triton does while loading models.
func (s *Server) SetServerReady(ready bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serverNotReady = !ready
}

// SetModelReady marks a registered model ready or not. A model that is not
// ready answers false to ModelReady and UNAVAILABLE to ModelInfer and
// ModelMetadata, as a Triton model still loading does.
func (s *Server) SetModelReady(name string, ready bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.models[name]; !ok {
		return fmt.Errorf("inferencetest: no model %q", name)
	}
	if s.notReady == nil {
		s.notReady = map[string]bool{}
	}
	if ready {
		delete(s.notReady, name)
	} else {
		s.notReady[name] = true
	}
	return nil
}

// StartBufconn starts serving on in-memory listeners, one for gRPC and
// one for REST; connect with [Server.Dial] or [Server.DialOptions] over
// gRPC, with [Server.HTTPClient] to [Server.HTTPURL] over REST. Nothing
// touches the network, and [Server.Down] and [Server.Up] work as over TCP.
func (s *Server) StartBufconn() error {
	s.life.Lock()
	defer s.life.Unlock()
	if err := s.checkStartLocked(); err != nil {
		return err
	}
	lis, hlis := bufconn.Listen(s.cfg.bufconnBytes), newPipeListener()
	s.network, s.addr, s.httpAddr = "bufconn", "bufconn", "bufconn"
	s.serveLocked(lis, hlis)
	return nil
}

// StartTCP starts serving on two free ports of 127.0.0.1, gRPC on one
// ([Server.Addr]) and REST on the other ([Server.HTTPURL]), as Triton
// serves gRPC on 8001 and HTTP on 8000. [Server.Restart] comes back on the
// same ports.
func (s *Server) StartTCP() error {
	s.life.Lock()
	defer s.life.Unlock()
	if err := s.checkStartLocked(); err != nil {
		return err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("inferencetest: %w", err)
	}
	hlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		lis.Close()
		return fmt.Errorf("inferencetest: %w", err)
	}
	s.network, s.addr, s.httpAddr = "tcp", lis.Addr().String(), hlis.Addr().String()
	s.serveLocked(lis, hlis)
	return nil
}

func (s *Server) checkStartLocked() error {
	switch {
	case s.stopped:
		return ErrStopped
	case s.network != "":
		return errors.New("inferencetest: server already started")
	}
	return nil
}

func (s *Server) serveLocked(lis, hlis net.Listener) {
	g := &generation{done: make(chan struct{}), calls: newCallGate()}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	opts := []grpc.ServerOption{
		// Triton and KServe accept messages up to 2 GiB; grpc-go's 4 MiB
		// default would reject realistic image batches.
		grpc.MaxRecvMsgSize(math.MaxInt32),
		grpc.MaxSendMsgSize(math.MaxInt32),
		// Down and Stop wait for handlers, so no test can leak one.
		grpc.WaitForHandlers(true),
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(context.WithValue(ctx, stopKey{}, g.ctx), req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, &stoppableStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), stopKey{}, g.ctx)})
		}),
	}
	if s.cfg.maxStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(s.cfg.maxStreams))
	}
	opts = append(opts, s.cfg.grpcOptions...)
	g.srv = grpc.NewServer(opts...)
	oippb.Register(g.srv, &handler{s: s})
	s.registerTFServing(g.srv)
	g.http = s.newHTTPServer(g)
	if b, ok := lis.(*bufconn.Listener); ok {
		s.buf.Store(b)
		s.httpBuf.Store(hlis.(*pipeListener))
	}
	var serving sync.WaitGroup
	// Serve returns after Stop (or Close), or if the listener fails,
	// which ends this generation just the same.
	serving.Go(func() { _ = g.srv.Serve(lis) })
	serving.Go(func() { _ = g.http.Serve(hlis) })
	go func() {
		serving.Wait()
		close(g.done)
	}()
	s.gen = g
}

// Addr returns the address the server listens on: "127.0.0.1:port" over
// TCP, "bufconn" in memory, "" before it starts.
func (s *Server) Addr() string {
	s.life.Lock()
	defer s.life.Unlock()
	return s.addr
}

// Target returns the gRPC target to pass to [grpc.NewClient] with
// [Server.DialOptions]: the address over TCP, a passthrough target in
// memory.
func (s *Server) Target() string {
	s.life.Lock()
	defer s.life.Unlock()
	if s.network == "bufconn" {
		return "passthrough:///bufconn"
	}
	return s.addr
}

// DialOptions returns the options a client needs for this server: insecure
// credentials; send and receive limits raised to what Triton accepts (2
// GiB, against grpc-go's 4 MiB default receive limit); reconnection backoff
// starting at 10ms, capped at 250ms, so that a client recovers from
// [Server.Restart] within a test's patience (grpc-go's default starts at 1s
// and grows to 2 minutes); and, in memory, the dialer. Options passed after
// them override them.
func (s *Server) DialOptions() []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(math.MaxInt32),
			grpc.MaxCallSendMsgSize(math.MaxInt32),
		),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  10 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   250 * time.Millisecond,
			},
			MinConnectTimeout: 5 * time.Second,
		}),
	}
	s.life.Lock()
	inMemory := s.network == "bufconn"
	s.life.Unlock()
	if inMemory {
		opts = append(opts, grpc.WithContextDialer(s.DialContext))
	}
	return opts
}

// DialContext connects to the server, whatever address it is given, as
// [grpc.WithContextDialer] wants: in memory after [Server.StartBufconn],
// over TCP to [Server.Addr] after [Server.StartTCP]. [Server.DialOptions]
// holds it for one server; a client that reaches several servers through
// one target, such as replicas behind a resolver, dials each address's
// server with its DialContext. It fails while the server is down.
func (s *Server) DialContext(ctx context.Context, _ string) (net.Conn, error) {
	return s.dial(ctx, false, "DialContext")
}

// dial connects to the gRPC listener, or with rest to the REST one, over
// TCP or in memory as the server was started; what names the caller in
// the error of a server not started yet.
func (s *Server) dial(ctx context.Context, rest bool, what string) (net.Conn, error) {
	s.life.Lock()
	network, addr := s.network, s.addr
	if rest {
		addr = s.httpAddr
	}
	s.life.Unlock()
	switch network {
	case "":
		return nil, errors.New("inferencetest: " + what + " before StartTCP or StartBufconn")
	case "tcp":
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	// A typed nil pointer is not a nil interface: each listener is
	// looked at as what it is.
	if rest {
		if lis := s.httpBuf.Load(); lis != nil {
			return lis.DialContext(ctx)
		}
	} else if lis := s.buf.Load(); lis != nil {
		return lis.DialContext(ctx)
	}
	return nil, errors.New("inferencetest: server is down")
}

// Dial returns a client connection to the server, made with
// [grpc.NewClient] from [Server.Target] and [Server.DialOptions] followed by
// opts. It connects lazily, on the first call; the caller closes it. The
// server must have been started.
func (s *Server) Dial(opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	target := s.Target()
	if target == "" {
		return nil, errors.New("inferencetest: Dial before StartTCP or StartBufconn")
	}
	return grpc.NewClient(target, append(s.DialOptions(), opts...)...)
}

// Down stops serving as a crash would: it closes the listener and every
// connection, failing calls in flight (waits injected by faults end at
// once) and waiting for their handlers to return. Clients see UNAVAILABLE
// until [Server.Up]. Models, faults and records are kept. Down does nothing
// if the server is not serving.
func (s *Server) Down() {
	s.life.Lock()
	defer s.life.Unlock()
	s.downLocked(false)
}

// Drain stops serving as a graceful shutdown does: it closes the listener,
// sends GOAWAY so clients start no more calls on their connections, ends
// waits injected by faults (those calls fail with UNAVAILABLE), lets the
// calls being served finish, and returns when they have. Unlike after
// [Server.Down], clients fail no call they start after Drain returns for
// want of noticing the connection is gone: they fail fast with UNAVAILABLE,
// or with [grpc.WaitForReady] wait for [Server.Up]. Drain does nothing if
// the server is not serving.
func (s *Server) Drain() {
	s.life.Lock()
	defer s.life.Unlock()
	s.downLocked(true)
}

func (s *Server) downLocked(graceful bool) {
	g := s.gen
	if g == nil {
		return
	}
	s.gen = nil
	s.buf.Store(nil)
	s.httpBuf.Store(nil)
	g.cancel()
	g.calls.close()
	if graceful {
		// Both at once, so that neither transport serves new calls
		// while the other drains.
		var wg sync.WaitGroup
		wg.Go(func() { _ = g.http.Shutdown(context.Background()) })
		g.srv.GracefulStop()
		wg.Wait()
	} else {
		_ = g.http.Close()
		g.srv.Stop()
	}
	// http.Server does not wait for its handlers, as grpc.WaitForHandlers
	// makes the gRPC server do.
	g.calls.wait()
	<-g.done
}

// Up serves again after [Server.Down] or [Server.Drain], on the same
// address, so clients reconnect. After Down, as with a crashed server, a
// client that has not yet noticed its connection dropped may fail one more
// call with UNAVAILABLE. It does nothing if the server is serving, and fails if it was
// never started or has been stopped, or if the TCP port was taken in the
// meantime.
func (s *Server) Up() error {
	s.life.Lock()
	defer s.life.Unlock()
	switch {
	case s.stopped:
		return ErrStopped
	case s.network == "":
		return errors.New("inferencetest: Up before StartTCP or StartBufconn")
	case s.gen != nil:
		return nil
	}
	var lis, hlis net.Listener
	if s.network == "bufconn" {
		lis, hlis = bufconn.Listen(s.cfg.bufconnBytes), newPipeListener()
	} else {
		var err error
		if lis, err = net.Listen("tcp", s.addr); err != nil {
			return fmt.Errorf("inferencetest: listen again on %s: %w", s.addr, err)
		}
		if hlis, err = net.Listen("tcp", s.httpAddr); err != nil {
			lis.Close()
			return fmt.Errorf("inferencetest: listen again on %s: %w", s.httpAddr, err)
		}
	}
	s.serveLocked(lis, hlis)
	return nil
}

// Restart is [Server.Down] followed by [Server.Up]: a crash and a quick
// recovery. For a rolling restart, call [Server.Drain] and Up.
func (s *Server) Restart() error {
	s.Down()
	return s.Up()
}

// Stop stops the server for good, gracefully as [Server.Drain] does. Stop
// is idempotent.
func (s *Server) Stop() {
	s.life.Lock()
	defer s.life.Unlock()
	s.stopped = true
	s.downLocked(true)
}

// stoppableStream is a stream whose context tells when the server
// generation serving it stops, as the context of a unary call does.
type stoppableStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stoppableStream) Context() context.Context { return s.ctx }
