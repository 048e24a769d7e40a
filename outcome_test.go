package goai

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestClassify(t *testing.T) {
	grpcRecv := status.Error(codes.ResourceExhausted, "grpc: received message larger than max (5003 vs. 1000)")
	trailersOnly := metadata.Pairs("content-type", "application/grpc")
	afterHeaders := metadata.MD{}
	for _, tc := range []struct {
		name    string
		err     error
		gone    bool
		timeout bool
		trailer metadata.MD
		want    outcome
	}{
		{"success", nil, false, false, nil, outcomeOK},
		{"caller gone", errUnavailable, true, false, nil, outcomeIgnored},
		{"attempt timeout", status.Error(codes.Canceled, "x"), false, true, nil, outcomeServerFailure},
		{"no status", errors.New("encode"), false, false, nil, outcomeClientError},
		{"client error", errInvalid, false, false, nil, outcomeClientError},
		{"canceled", status.Error(codes.Canceled, "x"), false, false, nil, outcomeIgnored},
		{"unavailable", errUnavailable, false, false, nil, outcomeServerFailure},
		{"code 17", status.Error(17, "x"), false, false, nil, outcomeServerFailure},
		{"code 99", status.Error(99, "x"), false, false, nil, outcomeServerFailure},
		{"goai's size limit", newCallError(codes.ResourceExhausted, "goai: too large", ErrMessageTooLarge), false, false, nil, outcomeIgnored},
		{"grpc's receive limit", grpcRecv, false, false, afterHeaders, outcomeIgnored},
		{"grpc's receive limit, decompressed", status.Error(codes.ResourceExhausted, "grpc: received message after decompression larger than max 1000"), false, false, afterHeaders, outcomeIgnored},
		{"server's size error, trailers-only", grpcRecv, false, false, trailersOnly, outcomeServerFailure},
		{"size error, trailer not captured", grpcRecv, false, false, nil, outcomeServerFailure},
		{"server's send limit", status.Error(codes.ResourceExhausted, "grpc: trying to send message larger than max (5003 vs. 1000)"), false, false, afterHeaders, outcomeServerFailure},
		{"server busy", status.Error(codes.ResourceExhausted, "out of GPU memory"), false, false, afterHeaders, outcomeServerFailure},
	} {
		if got := classify(tc.err, tc.gone, tc.timeout, tc.trailer); got != tc.want {
			t.Errorf("%s: classify = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// sizeServer serves, over loopback TCP, /x.S/Echo, which echoes a
// BytesValue, and /x.S/Big, which answers 5000 bytes, with grpc-go's own
// limits of 1000 bytes each way when limited.
type sizeServer struct {
	target  string
	handled atomic.Int64 // requests that reached a handler
}

func startSizeServer(t *testing.T, limited bool) *sizeServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sizeServer{target: lis.Addr().String()}
	opts := []grpc.ServerOption{grpc.UnknownServiceHandler(func(_ any, ss grpc.ServerStream) error {
		m, _ := grpc.MethodFromServerStream(ss)
		in := new(wrapperspb.BytesValue)
		if err := ss.RecvMsg(in); err != nil {
			return err
		}
		s.handled.Add(1)
		if m == "/x.S/Big" {
			return ss.SendMsg(wrapperspb.Bytes(make([]byte, 5000)))
		}
		return ss.SendMsg(in)
	})}
	if limited {
		opts = append(opts, grpc.MaxRecvMsgSize(1000), grpc.MaxSendMsgSize(1000))
	}
	srv := grpc.NewServer(opts...)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return s
}

// TestMessageSizeOrigin checks that RESOURCE_EXHAUSTED size errors are
// sorted by where they came from, whatever their text: the client's own
// limits (goai's check of a request, grpc's of a response) are neither
// retried nor counted by the breaker; a server's, which reads just like
// grpc's own, is counted and, when its code is retryable, retried.
func TestMessageSizeOrigin(t *testing.T) {
	limited, open := startSizeServer(t, true), startSizeServer(t, false)
	plain := func(s *sizeServer, opts ...grpc.DialOption) grpc.ClientConnInterface {
		cc, err := grpc.NewClient(s.target, append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cc.Close() })
		return cc
	}
	for _, tc := range []struct {
		name   string
		srv    *sizeServer
		conn   grpc.ClientConnInterface
		method string
		size   int  // of the request
		local  bool // the client's own limit: neither counted nor retried
		goai   bool // goai's own check: ErrMessageTooLarge, nothing sent
		text   string
		opts   []CallOption
	}{
		{name: "server's receive limit", srv: limited, conn: plain(limited), method: "/x.S/Echo", size: 2000,
			text: "grpc: received message larger than max"},
		{name: "server's send limit", srv: limited, conn: plain(limited), method: "/x.S/Big", size: 10,
			text: "trying to send message larger than max"},
		{name: "client's receive limit", srv: open, conn: plain(open, grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1000))), method: "/x.S/Big", size: 10,
			local: true, text: "grpc: received message larger than max"},
		{name: "pool's send limit", srv: open, conn: dialTest(t, open.target, WithInsecure(), WithMaxSendMsgSize(1000)), method: "/x.S/Echo", size: 2000,
			local: true, goai: true, text: "goai: trying to send message larger than max (2003 vs. 1000)"},
		{name: "send limit per call", srv: open, conn: dialTest(t, open.target, WithInsecure()), method: "/x.S/Echo", size: 2000,
			local: true, goai: true, text: "goai: trying to send message larger than max (2003 vs. 1000)",
			opts: []CallOption{WithGRPCCallOptions(grpc.MaxCallSendMsgSize(1000))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := retrying(3)
			p.Retry.RetryableCodes = []codes.Code{codes.ResourceExhausted}
			p.Breaker = BreakerPolicy{ConsecutiveFailures: 3, OpenTimeout: 1 << 62}
			desc := testDesc(p)
			c, _ := newTestCaller(t, desc)
			handled := tc.srv.handled.Load()
			var info CallInfo
			err := c.invoke(context.Background(), &desc.Methods[0], func(ctx context.Context, a attemptArgs) error {
				return tc.conn.Invoke(ctx, tc.method, wrapperspb.Bytes(make([]byte, tc.size)), new(wrapperspb.BytesValue), a.callOptions...)
			}, append(tc.opts, Report(&info))...)
			if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), tc.text) {
				t.Fatalf("Invoke = %v, want RESOURCE_EXHAUSTED %q", err, tc.text)
			}
			if errors.Is(err, ErrMessageTooLarge) != tc.goai {
				t.Errorf("Invoke = %v: matches ErrMessageTooLarge %v, want %v", err, !tc.goai, tc.goai)
			}
			counts := c.breakerFor(ModelRef{Name: "m"}).cb.Counts()
			state := c.BreakerState(ModelRef{Name: "m"})
			if tc.local {
				if info.Attempts != 1 || counts.TotalFailures != 0 || state != BreakerClosed {
					t.Errorf("%d attempts, breaker %v %+v; want 1 attempt, nothing counted", info.Attempts, state, counts)
				}
			} else if info.Attempts != 3 || counts.TotalFailures != 1 {
				t.Errorf("%d attempts, breaker %v %+v; want 3 attempts and the call counted as a failure", info.Attempts, state, counts)
			}
			if got := tc.srv.handled.Load() - handled; tc.goai && got != 0 {
				t.Errorf("the server handled %d requests over the client's send limit", got)
			}
		})
	}
}
