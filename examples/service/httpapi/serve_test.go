package httpapi

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// memListener is an in-memory listener whose connections are net.Pipes,
// so that a server and its clients run inside a synctest bubble.
type memListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memAddr{} }

var errRefused = errors.New("connection refused: listener closed")

func (l *memListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, errRefused
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type memAddr struct{}

func (memAddr) Network() string { return "mem" }
func (memAddr) String() string  { return "mem" }

// client returns an HTTP client of l that opens a connection per request,
// so that no connection outlives the test's bubble.
func (l *memListener) client() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: l.dial, DisableKeepAlives: true}}
}

// blockingClassifier holds every Classify until release is closed, and
// counts the calls that arrived and returned.
type blockingClassifier struct {
	arrived  chan struct{}
	release  chan struct{}
	returned atomic.Int32
}

func newBlockingClassifier() *blockingClassifier {
	return &blockingClassifier{arrived: make(chan struct{}, 64), release: make(chan struct{})}
}

func (b *blockingClassifier) Classify(ctx context.Context, _ []float32) (Result, error) {
	defer b.returned.Add(1)
	b.arrived <- struct{}{}
	select {
	case <-b.release:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	// A shutdown must not cancel the calls it lets finish.
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	return answer(3, "1")(ctx, nil)
}

func (b *blockingClassifier) Ready(context.Context) error { return nil }

func classifyOnce(c *http.Client, url string) (int, string, error) {
	resp, err := c.Post(url+"/classify", "application/json", strings.NewReader(pixelsJSON(Pixels, "0.25")))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// closeLog records the order of Closers and what had finished by then.
type closeLog struct {
	mu    sync.Mutex
	order []string
}

func (l *closeLog) closer(name string, check func() error) Closer {
	return Closer{Name: name, Close: func() error {
		l.mu.Lock()
		l.order = append(l.order, name)
		l.mu.Unlock()
		if check != nil {
			return check()
		}
		return nil
	}}
}

// Over real loopback TCP: requests accepted before the shutdown finish
// with 200 even though they are released only after the listener closed;
// new connections are refused; the Closers run after the last request, in
// order.
func TestServeLosesNoAcceptedRequest(t *testing.T) {
	const n = 8
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	b := newBlockingClassifier()
	h := New(b, Options{Logger: quietLogger(nil)})
	shutdownStarted := make(chan struct{})
	var closed closeLog
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, ln, h, ServeOptions{
			ShutdownTimeout: time.Minute,
			OnShutdown:      func() { close(shutdownStarted) },
			Closers: []Closer{
				closed.closer("micro-batcher", func() error {
					if got := b.returned.Load(); got != n {
						return errors.New("closed while calls were in flight")
					}
					return nil
				}),
				closed.closer("model client", nil),
			},
		})
	}()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			s, body, err := classifyOnce(client, url)
			results <- result{s, body, err}
		}()
	}
	for range n {
		<-b.arrived
	}

	cancel()
	<-shutdownStarted
	if !h.Draining() {
		t.Error("the handler is not draining after shutdown started")
	}
	if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Error("a new connection was accepted after the shutdown started")
	}
	close(b.release)

	for range n {
		r := <-results
		if r.err != nil || r.status != http.StatusOK || !strings.Contains(r.body, `"digit":3`) {
			t.Errorf("an accepted request got %d %q, %v; want 200", r.status, r.body, r.err)
		}
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v, want a clean shutdown", err)
	}
	if got := strings.Join(closed.order, ","); got != "micro-batcher,model client" {
		t.Errorf("closers ran as %q", got)
	}
}

// During DrainDelay the server still serves, /readyz fails and responses
// close their connections; only then does it stop accepting.
func TestServeDrainDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newMemListener()
		h := New(&fakeClassifier{classify: answer(5, "2")}, Options{Logger: quietLogger(nil)})
		var shutdownAt atomic.Pointer[time.Time]
		ctx, cancel := context.WithCancel(t.Context())
		served := make(chan error, 1)
		go func() {
			served <- Serve(ctx, ln, h, ServeOptions{
				DrainDelay: 10 * time.Second,
				OnShutdown: func() { now := time.Now(); shutdownAt.Store(&now) },
			})
		}()
		c := ln.client()
		if s, _, err := classifyOnce(c, "http://mem"); err != nil || s != http.StatusOK {
			t.Fatalf("before the drain: %d, %v", s, err)
		}

		start := time.Now()
		cancel()
		time.Sleep(9 * time.Second)
		synctest.Wait()
		if s, body, err := classifyOnce(c, "http://mem"); err != nil || s != http.StatusOK || !strings.Contains(body, `"digit":5`) {
			t.Fatalf("during the drain delay: %d %q, %v; want 200", s, body, err)
		}
		// A client that keeps connections alive is asked to close its own.
		keepAlive := &http.Client{Transport: &http.Transport{DialContext: ln.dial}}
		defer keepAlive.CloseIdleConnections()
		resp, err := keepAlive.Get("http://mem/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || !resp.Close {
			t.Fatalf("/readyz during the drain delay: %d, Connection: close %v; want 503 and close", resp.StatusCode, resp.Close)
		}
		if shutdownAt.Load() != nil {
			t.Fatal("the server stopped accepting before DrainDelay passed")
		}

		if err := <-served; err != nil {
			t.Fatalf("Serve = %v", err)
		}
		synctest.Wait() // OnShutdown runs on a goroutine of its own
		if at := shutdownAt.Load(); at == nil || at.Sub(start) != 10*time.Second {
			t.Fatalf("stopped accepting at %v after the drain began, want DrainDelay (10s)", at)
		}
		if _, _, err := classifyOnce(c, "http://mem"); !errors.Is(err, errRefused) {
			t.Fatalf("after the shutdown: %v, want the connection refused", err)
		}
	})
}

// Requests still running at ShutdownTimeout are cut off: Serve reports it,
// and the Closers still run.
func TestServeShutdownTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newMemListener()
		b := newBlockingClassifier() // never released
		h := New(b, Options{Logger: quietLogger(nil)})
		var closed closeLog
		ctx, cancel := context.WithCancel(t.Context())
		served := make(chan error, 1)
		go func() {
			served <- Serve(ctx, ln, h, ServeOptions{
				ShutdownTimeout: 5 * time.Second,
				Closers:         []Closer{closed.closer("model client", nil)},
			})
		}()
		c := ln.client()
		got := make(chan error, 1)
		go func() {
			_, _, err := classifyOnce(c, "http://mem")
			got <- err
		}()
		<-b.arrived
		start := time.Now()
		cancel()
		err := <-served
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "cut off") {
			t.Fatalf("Serve = %v, want requests cut off at the deadline", err)
		}
		if d := time.Since(start); d != 5*time.Second {
			t.Errorf("cut off after %v, want ShutdownTimeout (5s)", d)
		}
		if err := <-got; err == nil {
			t.Error("the cut-off request got an answer")
		}
		if len(closed.order) != 1 {
			t.Errorf("closers ran %v, want the model client closed", closed.order)
		}
	})
}

// failingListener fails its first Accept.
type failingListener struct{ memListener }

var errAccept = errors.New("accept: too many open files")

func (*failingListener) Accept() (net.Conn, error) { return nil, errAccept }

// A listener that fails ends Serve with its error; the Closers still run,
// in order, and their errors are joined to it.
func TestServeListenerFailsAndCloserErrors(t *testing.T) {
	ln := &failingListener{*newMemListener()}
	h := New(&fakeClassifier{}, Options{Logger: quietLogger(nil)})
	var closed closeLog
	errBatcher := errors.New("batcher: still flushing")
	err := Serve(t.Context(), ln, h, ServeOptions{Closers: []Closer{
		closed.closer("micro-batcher", func() error { return errBatcher }),
		closed.closer("model client", nil),
	}})
	if !errors.Is(err, errAccept) || !errors.Is(err, errBatcher) || !strings.Contains(err.Error(), "closing micro-batcher") {
		t.Fatalf("Serve = %v, want the accept error and the closer's", err)
	}
	if got := strings.Join(closed.order, ","); got != "micro-batcher,model client" {
		t.Errorf("closers ran as %q; a failing closer must not stop the next", got)
	}
}
