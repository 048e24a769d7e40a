package inferencetest

import (
	"context"
	"errors"
	"net"
	"sync"
)

// pipeListener is the in-memory listener of the REST endpoints: each
// connection dialled is a [net.Pipe].
//
// It is not a bufconn listener, as the gRPC endpoint's is, because
// bufconn sets a deadline in the past from a timer of its own: when the
// deadline is cleared right after, the timer can still land, and leaves
// the connection timed out for good. net/http's server does just that
// after every request, to end its background read, and a connection so
// struck cancels the context of each request after, at once (HTTP 499
// on the client's next calls). net.Pipe's deadlines take effect when set.
type pipeListener struct {
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

// errListenerClosed is the error of a dial to a closed listener.
var errListenerClosed = errors.New("inferencetest: in-memory listener closed")

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept returns the server's end of the next connection dialled.
func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close ends Accept and refuses further dials; the connections made stay
// open, as a TCP listener's do.
func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

// Addr returns the address of a pipe.
func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// DialContext returns the client's end of a new connection, once Accept
// has taken the server's.
func (l *pipeListener) DialContext(ctx context.Context) (net.Conn, error) {
	server, client := net.Pipe()
	var err error
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		err = errListenerClosed
	case <-ctx.Done():
		err = ctx.Err()
	}
	server.Close()
	client.Close()
	return nil, err
}

// pipeAddr is the address of both ends of a pipe, as net.Pipe's own.
type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
