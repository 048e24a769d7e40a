package goai

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// inferCalls returns how many ModelInfer calls for model "echo" each server
// has received.
func inferCalls(srvs []*inferencetest.Server) []int {
	out := make([]int, len(srvs))
	for i, s := range srvs {
		out[i] = s.Stats().Models["echo"].Calls
	}
	return out
}

// sub returns a - b element by element, and the sum of the differences.
func sub(a, b []int) (d []int, total int) {
	d = make([]int, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
		total += d[i]
	}
	return d, total
}

// TestE2EReplicasRoundRobin puts three servers behind one target, resolved
// by a manual resolver and balanced by gRPC's round_robin, and runs a
// bounded stream of calls through a Pool and a retrying Client while one
// replica crashes and comes back: calls keep succeeding, traffic goes to
// every live replica and only to them, and the replica takes its share
// again soon after it is back. It runs in a synctest bubble over in-memory
// servers, so that the server's latency, the client's reconnection
// backoff and the time the replica takes to rejoin are all on the bubble's
// clock, which a loaded machine does not slow.
func TestE2EReplicasRoundRobin(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	synctest.Test(t, testReplicasRoundRobin)
}

func testReplicasRoundRobin(t *testing.T) {
	const (
		n, conc = 3000, 16
		downAt  = 1000 // calls started when replica 2 crashes
		upAt    = 1600 // and when it comes back
		// Each call takes 10ms on the server, a stand-in for the model's
		// compute that paces the stream at conc/10ms = 1600 calls/s, so
		// that the outage and the time after it last long enough for the
		// client to notice and to reconnect.
		latency = 10 * time.Millisecond
		// The client's reconnection backoff is capped at 250ms (+20%
		// jitter): the replica reconnects at most 300ms after it is back,
		// and the calls starting every 0.6ms pick it within a few more.
		// By 350ms, at most 560 of the 1400 calls left have started.
		rejoinBound = 350 * time.Millisecond
	)

	srvs := make([]*inferencetest.Server, 3)
	byAddr := map[string]*inferencetest.Server{}
	endpoints := make([]resolver.Endpoint, len(srvs))
	for i := range srvs {
		s := inferencetest.New(inferencetest.WithRecordLimit(0))
		if err := s.Register(inferencetest.Identity("echo", tensor.FP32, 4)); err != nil {
			t.Fatal(err)
		}
		if err := s.StartBufconn(); err != nil {
			t.Fatal(err)
		}
		defer s.Stop()
		s.SetFaults(inferencetest.Faults{Latency: latency})
		srvs[i] = s
		addr := fmt.Sprint("replica-", i)
		byAddr[addr] = s
		endpoints[i] = resolver.Endpoint{Addresses: []resolver.Address{{Addr: addr}}}
	}

	r := manual.NewBuilderWithScheme("goai-replicas")
	r.InitialState(resolver.State{Endpoints: endpoints})
	pool, err := Dial(r.Scheme()+":///models",
		WithInsecure(),
		WithDialOptions(
			grpc.WithResolvers(r),
			grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
				return byAddr[addr].DialContext(ctx, addr)
			}),
			grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`),
			// As inferencetest's DialOptions: reconnect within a test's
			// patience, not after grpc-go's default 1s to 2min.
			grpc.WithConnectParams(grpc.ConnectParams{
				Backoff: backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 250 * time.Millisecond},
			}),
		))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	desc := echoDesc(CallPolicy{
		Retry: RetryPolicy{MaxAttempts: 3, InitialBackoff: 2 * time.Millisecond, MaxBackoff: 20 * time.Millisecond},
		// The breaker guards the model, not one replica: the crash of one
		// fails all its calls in flight at once (about conc/3 of them),
		// which would trip the default rule of 5 consecutive failures and
		// fail every call for the open period although two replicas
		// serve. A failure ratio over a window sees the crash for what it
		// is, a small fraction of the calls.
		Breaker: BreakerPolicy{FailureRatio: 0.5, MinRequests: 20, Interval: time.Second},
	})
	var breakerChanges atomic.Int64
	c := testClient(pool, desc, WithHooks(Hooks{
		BreakerStateChange: func(BreakerEvent) { breakerChanges.Add(1) },
	}))
	client := oippb.NewClient(pool)

	var started, finished, retried atomic.Int64
	var atDown, afterDown, atUp, atRejoin []int
	rejoin := time.Duration(-1)
	control := make(chan struct{})
	go func() {
		defer close(control)
		wait := func(k int64) {
			for started.Load() < k {
				time.Sleep(time.Millisecond)
			}
		}
		wait(downAt)
		atDown = inferCalls(srvs)
		srvs[2].Down() // abrupt: the calls it is serving fail
		afterDown = inferCalls(srvs)
		wait(upAt)
		atUp = inferCalls(srvs)
		if err := srvs[2].Up(); err != nil {
			t.Error(err)
			return
		}
		up := time.Now()
		for time.Since(up) < rejoinBound && finished.Load() < n {
			if now := inferCalls(srvs); now[2] > atUp[2] {
				rejoin, atRejoin = time.Since(up), now
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()

	start := time.Now()
	failed := hammer(n, conc, func(i int) error {
		started.Add(1)
		defer finished.Add(1)
		want := echoPayload(i)
		var got []byte
		var info CallInfo
		err := c.invoke(context.Background(), &desc.Methods[0], echoAttempt(client, want, &got), Report(&info))
		retried.Add(int64(max(info.Attempts-1, 0)))
		if err == nil && !bytes.Equal(got, want) {
			t.Errorf("call %d: echo %v of %v", i, floats(got), floats(want))
		}
		return err
	})
	elapsed := time.Since(start)
	<-control
	final := inferCalls(srvs)

	t.Logf("%d calls, %d concurrent, in %v of the bubble's time: %d failed, %d retries; replica 2 took traffic %v after coming back", n, conc, elapsed, failed, retried.Load(), rejoin)
	if rate := float64(n-failed) / n; rate < 0.999 {
		t.Errorf("success rate %.4f (%d of %d failed), want >= 0.999", rate, failed, n)
	}
	if retried.Load() == 0 {
		t.Errorf("no attempt was retried: the crash failed no call in flight")
	}
	if n := breakerChanges.Load(); n != 0 {
		t.Errorf("the breaker changed state %d times", n)
	}
	if atUp == nil {
		t.Fatal("the replica was not brought back")
	}

	// Before the crash, round_robin spreads the calls evenly.
	if before, total := sub(atDown, make([]int, 3)); total < downAt-conc || min(before[0], before[1], before[2]) < total/4 {
		t.Errorf("before the crash, the replicas received %v, want about a third each of at least %d", before, downAt-conc)
	} else {
		t.Logf("before the crash: %v", before)
	}
	// While it is down, the two live replicas take every call, evenly.
	outage, total := sub(atUp, afterDown)
	if outage[2] != 0 || total < (upAt-downAt)/2 || min(outage[0], outage[1]) < total*2/5 {
		t.Errorf("while replica 2 was down, the replicas received %v, want about half each of at least %d on 0 and 1, none on 2", outage, (upAt-downAt)/2)
	} else {
		t.Logf("during the outage: %v", outage)
	}
	// Once back, it takes traffic again, soon, and its share.
	if rejoin < 0 {
		t.Fatalf("replica 2 took no traffic within %v of coming back (or before the %d calls ended); calls since: %v", rejoinBound, n, func() []int { d, _ := sub(final, atUp); return d }())
	}
	after, total := sub(final, atRejoin)
	if total < 200 || after[2] < total/4 {
		t.Errorf("after replica 2 came back, the replicas received %v, want about a third each of at least 200", after)
	} else {
		t.Logf("after replica 2 came back: %v", after)
	}
}
