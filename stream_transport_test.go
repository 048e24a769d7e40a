package goai

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// streamEchoClient dials srv with the stream transport of n streams on a
// pool of two connections.
func streamEchoClient(t *testing.T, srv *inferencetest.Server, n int, p CallPolicy) *Client {
	t.Helper()
	c, err := dialClient(srv.Target(), echoDesc(p), []Option{
		WithPoolSize(2), WithDialOptions(srv.DialOptions()...), WithStreamTransport(n), WithRetryBudget(nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// echo makes one inference call of c's method asking model "echo" to echo
// raw, and returns the echo.
func echo(ctx context.Context, c *Client, raw []byte, opts ...CallOption) ([]byte, error) {
	req := &wire.Request{
		Inputs:  []tensor.Tensor{{Name: "INPUT0", DType: tensor.FP32, Shape: []int64{4}, Raw: raw}},
		Outputs: []string{"OUTPUT0"},
	}
	resp, err := c.infer(ctx, &c.desc.Methods[0], req, opts)
	if err != nil {
		return nil, err
	}
	if len(resp.Outputs) != 1 {
		return nil, status.Errorf(codes.Internal, "%d outputs", len(resp.Outputs))
	}
	return resp.Outputs[0].Raw, nil
}

func TestStreamTransportServes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMem(t)
		c := streamEchoClient(t, srv, 2, CallPolicy{})
		defer c.Close()
		for i := range 20 {
			want := echoPayload(i)
			got, err := echo(t.Context(), c, want)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("call %d: %v, echo %v of %v", i, err, floats(got), floats(want))
			}
		}
		synctest.Wait() // the server records a request after answering it
		st := srv.Stats()
		if st.Calls["ModelInfer"] != 0 || st.Calls["ModelStreamInfer"] < 1 || st.Calls["ModelStreamInfer"] > 2 || st.Models["echo"].Calls != 20 {
			t.Errorf("server saw %v, %+v; want 20 requests on at most 2 streams and no ModelInfer", st.Calls, st.Models["echo"])
		}
	})
}

func TestStreamTransportInBandError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMem(t)
		c := streamEchoClient(t, srv, 1, CallPolicy{Retry: fast(3)})
		defer c.Close()
		srv.Script(inferencetest.Fail(codes.Internal))
		var info CallInfo
		_, err := echo(t.Context(), c, echoPayload(1), Report(&info))
		var re *ResponseError
		if !errors.As(err, &re) || status.Code(err) != codes.Unknown || info.Attempts != 1 {
			t.Fatalf("error %v (%T) after %d attempts, want a *ResponseError of code UNKNOWN, unretried", err, err, info.Attempts)
		}
		// The stream lives on for the next request.
		if got, err := echo(t.Context(), c, echoPayload(2)); err != nil || !bytes.Equal(got, echoPayload(2)) {
			t.Fatalf("after the failure: %v", err)
		}
		if n := srv.Stats().Calls["ModelStreamInfer"]; n != 1 {
			t.Errorf("%d streams opened, want 1: an in-band failure keeps the stream", n)
		}
	})
}

func TestStreamTransportRetriesLostRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMem(t)
		c := streamEchoClient(t, srv, 1, CallPolicy{Retry: fast(3)})
		defer c.Close()
		srv.Script(inferencetest.ResetAfter(0, codes.Internal))
		var info CallInfo
		got, err := echo(t.Context(), c, echoPayload(3), Report(&info))
		if err != nil || !bytes.Equal(got, echoPayload(3)) || info.Attempts != 2 {
			t.Fatalf("%v after %d attempts; want the echo on the second, in a new stream", err, info.Attempts)
		}
		if n := srv.Stats().Calls["ModelStreamInfer"]; n != 2 {
			t.Errorf("%d streams opened, want 2: the broken one is replaced", n)
		}
	})
}

func TestStreamTransportDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := startMem(t)
		c := streamEchoClient(t, srv, 1, CallPolicy{AttemptTimeout: time.Second, Retry: fast(2)})
		defer c.Close()
		// The first request hangs: its attempt times out, and the stream,
		// which answers in order, is retired for a new one.
		srv.Script(inferencetest.Hang())
		var info CallInfo
		got, err := echo(t.Context(), c, echoPayload(4), Report(&info))
		if err != nil || !bytes.Equal(got, echoPayload(4)) || info.Attempts != 2 {
			t.Fatalf("%v after %d attempts; want the echo on the second", err, info.Attempts)
		}
		// A caller's own deadline ends its request alone.
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		srv.Script(inferencetest.Hang())
		if _, err := echo(ctx, c, echoPayload(5)); status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("past the caller's deadline: %v, want DEADLINE_EXCEEDED", err)
		}
		if got, err := echo(t.Context(), c, echoPayload(6)); err != nil || !bytes.Equal(got, echoPayload(6)) {
			t.Fatalf("after the deadline: %v", err)
		}
	})
}

func TestStreamTransportUnimplemented(t *testing.T) {
	// A server without ModelStreamInfer (KServe's): every request fails
	// with UNIMPLEMENTED, which is not retried.
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	gs.RegisterService(&oippb.ServiceDesc, oippb.UnimplementedServer{})
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	c, err := dialClient("passthrough:///bufnet", echoDesc(CallPolicy{Retry: fast(3)}), []Option{
		WithStreamTransport(1), WithInsecure(),
		WithDialOptions(grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) })),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var info CallInfo
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := echo(ctx, c, echoPayload(1), Report(&info)); status.Code(err) != codes.Unimplemented || info.Attempts != 1 {
		t.Errorf("%v after %d attempts, want UNIMPLEMENTED after 1", err, info.Attempts)
	}
}

// TestStreamTransportSoak runs 50,000 calls from 256 goroutines through
// the stream transport (4 streams on 2 connections) against a server that
// resets the stream carrying a request now and then, hangs some requests
// (whose streams, answering in order, are retired) and restarts twice
// mid-run, breaking every stream. Each call must return exactly once,
// with the echo of its own request, and nothing may leak.
func TestStreamTransportSoak(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	synctest.Test(t, func(t *testing.T) { soakStream(t, 50_000, 256) })
}

func soakStream(t *testing.T, n, conc int) {
	srv := inferencetest.New(inferencetest.WithRecordLimit(0))
	if err := srv.Register(inferencetest.Identity("echo", tensor.FP32, 4)); err != nil {
		t.Fatal(err)
	}
	if err := srv.StartBufconn(); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	jitter := func(inferencetest.Call) time.Duration { return time.Duration(rand.IntN(500)) * time.Microsecond }
	srv.SetFaults(inferencetest.Faults{FailRate: 0.0005, Seed: 21, LatencyFunc: jitter,
		FailWith: inferencetest.ResetAfter(0, codes.Unavailable)})
	c := streamEchoClient(t, srv, 4, CallPolicy{
		Retry:          RetryPolicy{MaxAttempts: 8, InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		Timeout:        10 * time.Second,
		AttemptTimeout: time.Second,
	})
	defer c.Close()

	var issued, returned atomic.Int64
	stopEvents := make(chan struct{})
	eventsDone := make(chan struct{})
	go func() {
		defer close(eventsDone)
		for _, at := range []int64{int64(n) / 3, 2 * int64(n) / 3} {
			for issued.Load() < at {
				select {
				case <-stopEvents:
					return
				case <-time.After(time.Millisecond):
				}
			}
			if err := srv.Restart(); err != nil {
				t.Error(err)
			}
			srv.Script(inferencetest.Hang(), inferencetest.ResetAfter(0, codes.Internal), inferencetest.Hang())
		}
	}()

	times := make([]atomic.Int32, n)
	var mismatches atomic.Int64
	var codesSeen [32]atomic.Int64
	callsDone := make(chan int)
	go func() {
		callsDone <- hammer(n, conc, func(i int) error {
			issued.Add(1)
			want := echoPayload(i)
			got, err := echo(context.Background(), c, want)
			times[i].Add(1)
			returned.Add(1)
			codesSeen[status.Code(err)%32].Add(1)
			if err == nil && !bytes.Equal(got, want) {
				if mismatches.Add(1) == 1 {
					t.Errorf("call %d asked to echo %v, got %v", i, floats(want), floats(got))
				}
			}
			return err
		})
	}()
	var failed int
	select {
	case failed = <-callsDone:
	case <-time.After(5 * time.Minute):
		t.Fatalf("after 5 minutes of the bubble's time, %d calls issued and only %d returned", issued.Load(), returned.Load())
	}
	close(stopEvents)
	<-eventsDone

	if issued.Load() != int64(n) || returned.Load() != int64(n) {
		t.Errorf("%d calls to make, %d issued, %d returned", n, issued.Load(), returned.Load())
	}
	for i := range times {
		if got := times[i].Load(); got != 1 {
			t.Fatalf("call %d returned %d times", i, got)
		}
	}
	if m := mismatches.Load(); m != 0 {
		t.Errorf("%d calls got another call's answer", m)
	}
	summary := map[codes.Code]int64{}
	for code := range codesSeen {
		if v := codesSeen[code].Load(); v > 0 {
			summary[codes.Code(code)] = v
		}
	}
	st := srv.Stats()
	t.Logf("%d calls, %d concurrent: %d failed, codes %v; server: %d streams, %v", n, conc, failed, summary, st.Calls["ModelStreamInfer"], st.Models["echo"].Codes)
	// Lost requests are retried: a call fails only if 8 attempts in a row
	// are lost or time out, which the rare resets and the two restarts
	// (each breaking every stream once) leave to a few calls at most.
	if failed > n/1000 {
		t.Errorf("%d of %d calls failed (codes %v), want at most %d", failed, n, summary, n/1000)
	}
	for code := range summary {
		switch code {
		case codes.OK, codes.Unavailable, codes.DeadlineExceeded:
		default:
			t.Errorf("unexpected code %v in %v", code, summary)
		}
	}
	// Streams were replaced: more than the 4 the client keeps.
	if s := st.Calls["ModelStreamInfer"]; s <= 4 {
		t.Errorf("%d streams opened over the run, want more than 4: broken streams are replaced", s)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	srv.Stop()
}
