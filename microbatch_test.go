package goai

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	goruntime "runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The tests of the MicroBatcher run in synctest bubbles: MaxDelay and
// callers' deadlines run on the bubble's fake clock, time.Sleep moves it
// exactly, and synctest.Wait returns once every goroutine of the test is
// blocked, so that what a batcher does next never depends on how fast the
// machine is.

// stoppedClock is a Clock whose time never moves, for tests outside a
// bubble: a MicroBatcher timing MaxDelay with it sends full batches only
// (and, at Close, the rest).
type stoppedClock struct{ now time.Time }

func (c stoppedClock) Now() time.Time { return c.now }

func (stoppedClock) Sleep(ctx context.Context, d time.Duration) error {
	if d > 0 {
		<-ctx.Done()
	}
	return ctx.Err()
}

// batchRecorder is a batch function that records its batches and answers
// 10 × each item, after waiting for gate if one is set.
type batchRecorder struct {
	mu      sync.Mutex
	batches [][]int
	ctxs    []context.Context
	gate    chan struct{} // nil: no wait
	err     error         // returned instead of outputs if set
}

func (r *batchRecorder) run(ctx context.Context, items []int) ([]int, error) {
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(items))
	r.ctxs = append(r.ctxs, ctx)
	gate, err := r.gate, r.err
	r.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if err != nil {
		return nil, err
	}
	out := make([]int, len(items))
	for i, v := range items {
		out[i] = 10 * v
	}
	return out, nil
}

// seen counts the items the function was given.
func (r *batchRecorder) seen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, b := range r.batches {
		n += len(b)
	}
	return n
}

// sorted returns the batches, each sorted, in a stable order.
func (r *batchRecorder) sorted() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]int, len(r.batches))
	for i, b := range r.batches {
		out[i] = slices.Sorted(slices.Values(b))
	}
	slices.SortFunc(out, slices.Compare)
	return out
}

func (r *batchRecorder) ctx(i int) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctxs[i]
}

type result struct {
	out int
	err error
}

// goDo calls b.Do on a goroutine of its own.
func goDo(ctx context.Context, b *MicroBatcher[int, int], in int) <-chan result {
	ch := make(chan result, 1)
	go func() {
		out, err := b.Do(ctx, in)
		ch <- result{out, err}
	}()
	return ch
}

// queued counts the calls in batches that have not started. Unlike
// len(b.queue), it leaves out calls admitted but not yet in a batch.
func (b *MicroBatcher[In, Out]) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	seen := map[*microBatch[In, Out]]bool{}
	n := 0
	for _, g := range b.due {
		seen[g] = true
		n += len(g.calls)
	}
	for _, g := range b.open {
		if !seen[g] {
			n += len(g.calls)
		}
	}
	return n
}

// wantQueued fails t unless, once the bubble is idle, n calls wait in
// batches and the function has been given seen items.
func wantQueued(t *testing.T, b *MicroBatcher[int, int], r *batchRecorder, n, seen int) {
	t.Helper()
	synctest.Wait()
	if q, s := b.queued(), r.seen(); q != n || s != seen {
		t.Fatalf("%d calls queued and %d items run, want %d and %d", q, s, n, seen)
	}
}

// answer returns what ch delivers once the bubble is idle, failing t if it
// delivers nothing: nothing else can happen before time moves.
func answer(t *testing.T, ch <-chan result) result {
	t.Helper()
	synctest.Wait()
	select {
	case r := <-ch:
		return r
	default:
		t.Fatal("no answer")
		return result{}
	}
}

func wantOut(t *testing.T, ch <-chan result, want int) {
	t.Helper()
	if r := answer(t, ch); r.err != nil || r.out != want {
		t.Errorf("Do = %d, %v; want %d, nil", r.out, r.err, want)
	}
}

func wantErr(t *testing.T, ch <-chan result, target error, code codes.Code) {
	t.Helper()
	if r := answer(t, ch); !errors.Is(r.err, target) || status.Code(r.err) != code {
		t.Errorf("Do error = %v (code %v); want one matching %q with code %v", r.err, status.Code(r.err), target, code)
	}
}

func noAnswer(t *testing.T, ch <-chan result) {
	t.Helper()
	synctest.Wait()
	select {
	case r := <-ch:
		t.Fatalf("Do answered %d, %v; want no answer yet", r.out, r.err)
	default:
	}
}

// checkLeaks fails t if goroutines started during it outlive it and its
// cleanups. (A bubble checks this itself.)
func checkLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// newTestBatcher returns a batcher of int, closed at the end of the test.
func newTestBatcher(t *testing.T, p BatchingPolicy, r *batchRecorder, opts ...MicroBatchOption) *MicroBatcher[int, int] {
	t.Helper()
	b := NewMicroBatcher(p, 0, r.run, opts...)
	t.Cleanup(func() { b.Close() })
	return b
}

// checkIdle fails the test if b holds anything after Close.
func checkIdle(t *testing.T, b *MicroBatcher[int, int]) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) != 0 || b.running != 0 || len(b.open) != 0 || len(b.due) != 0 {
		t.Errorf("after Close: queue %d, running %d, open %d, due %d; want all 0",
			len(b.queue), b.running, len(b.open), len(b.due))
	}
}

func TestMicroBatchDefaults(t *testing.T) {
	run := func(context.Context, []int) ([]int, error) { return nil, nil }
	for _, tc := range []struct {
		name     string
		p        BatchingPolicy
		modelMax int
		size     int
		queue    int
	}{
		{"model size", BatchingPolicy{}, 8, 8, 32},
		{"policy size", BatchingPolicy{MaxSize: 4}, 8, 4, 16},
		{"clamped to model", BatchingPolicy{MaxSize: 16}, 8, 8, 32},
		{"no sizes", BatchingPolicy{}, 0, DefaultMicroBatchSize, 4 * DefaultMicroBatchSize},
		{"queue", BatchingPolicy{MaxSize: 4, MaxQueue: 3}, 0, 4, 3},
		{"negative", BatchingPolicy{MaxSize: -4, MaxQueue: -3, MaxBytes: -1}, -2, DefaultMicroBatchSize, 4 * DefaultMicroBatchSize},
		{"largest size", BatchingPolicy{MaxSize: math.MaxInt}, 0, math.MaxInt, math.MaxInt},
		{"size whose queue wraps to 0", BatchingPolicy{MaxSize: 1 << 62}, 0, 1 << 62, math.MaxInt},
		{"largest queue fitting", BatchingPolicy{MaxSize: math.MaxInt / 4}, 0, math.MaxInt / 4, math.MaxInt / 4 * 4},
		{"largest queue", BatchingPolicy{MaxSize: 2, MaxQueue: math.MaxInt}, 0, 2, math.MaxInt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := NewMicroBatcher(tc.p, tc.modelMax, run)
			defer b.Close()
			if b.maxSize != tc.size || cap(b.queue) != tc.queue {
				t.Errorf("size %d, queue %d; want %d, %d", b.maxSize, cap(b.queue), tc.size, tc.queue)
			}
			if b.delay != DefaultMicroBatchDelay || b.maxBytes != DefaultMaxRequestBytes || b.inFlight != DefaultBatchParallelism || b.failFast {
				t.Errorf("delay %v, bytes %d, in flight %d, fail fast %v; want defaults", b.delay, b.maxBytes, b.inFlight, b.failFast)
			}
		})
	}

	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", name)
			}
		}()
		f()
	}
	mustPanic("nil run", func() { NewMicroBatcher[int, int](BatchingPolicy{}, 0, nil) })
	mustPanic("WithItemBytes of another type", func() {
		NewMicroBatcher(BatchingPolicy{}, 0, run, WithItemBytes(func(string) int { return 0 }))
	})
	mustPanic("WithShapeKey of another type", func() {
		NewMicroBatcher(BatchingPolicy{}, 0, run, WithShapeKey(func(int64) string { return "" }))
	})
}

// TestMicroBatchExtremePolicies checks that batchers of the largest and
// smallest settings answer their calls: a MaxSize near math.MaxInt once
// panicked making the queue (4 × MaxSize overflowed), and 1<<62 made a
// queue of no room, in which every Do waited for good.
func TestMicroBatchExtremePolicies(t *testing.T) {
	for _, p := range []BatchingPolicy{
		{MaxSize: math.MaxInt},
		{MaxSize: 1 << 62},
		{MaxSize: math.MaxInt / 4},
		{MaxSize: 2, MaxQueue: math.MaxInt},
		{MaxSize: 2, MaxBytes: math.MaxInt64},
		{MaxSize: 2, MaxDelay: math.MaxInt64},
		{MaxSize: 2, MaxDelay: math.MinInt64},
		{MaxSize: math.MinInt, MaxQueue: math.MinInt, MaxBytes: math.MinInt64},
	} {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &batchRecorder{}
				b := newTestBatcher(t, p, r, WithItemBytes(func(n int) int { return n }))
				a, c := goDo(context.Background(), b, 1), goDo(context.Background(), b, 2)
				synctest.Wait()
				if p.MaxDelay > 0 {
					time.Sleep(p.MaxDelay) // a batch not full goes then
				} else {
					time.Sleep(DefaultMicroBatchDelay)
				}
				wantOut(t, a, 10)
				wantOut(t, c, 20)
			})
		})
	}
}

// TestMicroBatchBytesOverflow checks that items whose sizes add up past
// math.MaxInt64 do not share a batch: the sum once wrapped negative and
// let them.
func TestMicroBatchBytesOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{}
		b := newTestBatcher(t, BatchingPolicy{MaxSize: 10, MaxBytes: math.MaxInt64, MaxDelay: time.Millisecond}, r,
			WithItemBytes(func(int) int { return math.MaxInt64/2 + 1 }))
		a := goDo(context.Background(), b, 1)
		synctest.Wait()
		c := goDo(context.Background(), b, 2)
		synctest.Wait()
		time.Sleep(time.Millisecond)
		wantOut(t, a, 10)
		wantOut(t, c, 20)
		if got := r.sorted(); !slices.EqualFunc(got, [][]int{{1}, {2}}, slices.Equal) {
			t.Errorf("batches %v, want [[1] [2]]", got)
		}
	})
}

// TestMicroBatchSize checks that a batch goes as soon as it is full, and
// the rest MaxDelay later.
func TestMicroBatchSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{}
		b := newTestBatcher(t, BatchingPolicy{MaxSize: 4, MaxDelay: 10 * time.Millisecond}, r)
		var chans []<-chan result
		for i := 1; i <= 5; i++ {
			chans = append(chans, goDo(context.Background(), b, i))
		}
		wantQueued(t, b, r, 1, 4)
		if got := r.sorted(); len(got) != 1 || len(got[0]) != 4 {
			t.Fatalf("batches %v, want one of 4", got)
		}
		time.Sleep(10*time.Millisecond - time.Nanosecond)
		wantQueued(t, b, r, 1, 4)
		time.Sleep(time.Nanosecond)
		for i, ch := range chans {
			wantOut(t, ch, 10*(i+1))
		}
		if got := r.sorted(); len(got) != 2 || len(got[0])+len(got[1]) != 5 {
			t.Errorf("batches %v, want one of 4 and one of 1", got)
		}
	})
}

// TestMicroBatchDelay checks MaxDelay on the system clock.
func TestMicroBatchDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{}
		b := NewMicroBatcher(BatchingPolicy{MaxSize: 100, MaxDelay: 5 * time.Millisecond}, 0, r.run)
		defer b.Close()
		start := time.Now()
		a, c := goDo(context.Background(), b, 1), goDo(context.Background(), b, 2)
		noAnswer(t, a)
		time.Sleep(5 * time.Millisecond)
		wantOut(t, a, 10)
		wantOut(t, c, 20)
		if d := time.Since(start); d != 5*time.Millisecond {
			t.Errorf("batch answered after %v, want MaxDelay", d)
		}
		if got := r.sorted(); !slices.EqualFunc(got, [][]int{{1, 2}}, slices.Equal) {
			t.Errorf("batches %v, want [[1 2]]", got)
		}
	})
}

// TestMicroBatchNoDelay checks that a negative MaxDelay sends a batch at
// once when a run slot is free, and otherwise gathers calls until one is.
func TestMicroBatchNoDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{gate: make(chan struct{})}
		b := newTestBatcher(t, BatchingPolicy{MaxSize: 100, MaxDelay: -1}, r, WithBatcherInFlight(1))
		first := goDo(context.Background(), b, 1)
		wantQueued(t, b, r, 0, 1)
		var rest []<-chan result
		for i := 2; i <= 6; i++ {
			rest = append(rest, goDo(context.Background(), b, i))
		}
		wantQueued(t, b, r, 5, 1)
		close(r.gate)
		wantOut(t, first, 10)
		for i, ch := range rest {
			wantOut(t, ch, 10*(i+2))
		}
		if got := r.sorted(); !slices.EqualFunc(got, [][]int{{1}, {2, 3, 4, 5, 6}}, slices.Equal) {
			t.Errorf("batches %v, want [[1] [2 3 4 5 6]]", got)
		}
	})
}

// TestMicroBatchBytes checks MaxBytes: a batch goes when the next item
// would not fit or when it is full, and an oversized item goes alone.
func TestMicroBatchBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{}
		b := newTestBatcher(t, BatchingPolicy{MaxSize: 100, MaxBytes: 10, MaxDelay: time.Hour}, r,
			WithItemBytes(func(n int) int { return n % 100 }))
		var chans []<-chan result
		for _, in := range []int{4, 104, 204, 12, 6, 104, 1} {
			chans = append(chans, goDo(context.Background(), b, in))
			synctest.Wait() // in this order
		}
		time.Sleep(time.Hour)
		for i, in := range []int{4, 104, 204, 12, 6, 104, 1} {
			wantOut(t, chans[i], 10*in)
		}
		want := [][]int{{1}, {4, 104}, {6, 104}, {12}, {204}}
		if got := r.sorted(); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("batches %v, want %v", got, want)
		}
	})
}

// TestMicroBatchShapeKey checks that items of different keys never share
// a batch.
func TestMicroBatchShapeKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{}
		b := newTestBatcher(t, BatchingPolicy{MaxSize: 4, MaxDelay: time.Millisecond}, r,
			WithShapeKey(func(n int) string { return strconv.Itoa(n % 3) }), WithBatcherInFlight(16))
		var chans []<-chan result
		for i := range 30 {
			chans = append(chans, goDo(context.Background(), b, i))
		}
		wantQueued(t, b, r, 6, 24) // 10 items per key: two full batches and 2 waiting
		time.Sleep(time.Millisecond)
		for i, ch := range chans {
			wantOut(t, ch, 10*i)
		}
		for _, batch := range r.sorted() {
			if len(batch) > 4 {
				t.Errorf("batch %v has more than 4 items", batch)
			}
			for _, v := range batch {
				if v%3 != batch[0]%3 {
					t.Errorf("batch %v mixes shape keys", batch)
				}
			}
		}
		if got := len(r.sorted()); got != 9 {
			t.Errorf("%d batches, want 9", got)
		}
	})
}

// TestMicroBatchCancelQueued checks that a caller cancelled before its
// batch starts gets its own error at once and leaves the batch.
func TestMicroBatchCancelQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{}
		b := newTestBatcher(t, BatchingPolicy{MaxSize: 10, MaxDelay: time.Hour}, r)
		ctx, cancel := context.WithCancel(context.Background())
		a := goDo(context.Background(), b, 1)
		leaving := goDo(ctx, b, 2)
		c := goDo(context.Background(), b, 3)
		wantQueued(t, b, r, 3, 0)
		cancel()
		wantErr(t, leaving, context.Canceled, codes.Canceled)
		wantQueued(t, b, r, 2, 0)
		time.Sleep(time.Hour)
		wantOut(t, a, 10)
		wantOut(t, c, 30)
		if got := r.sorted(); !slices.EqualFunc(got, [][]int{{1, 3}}, slices.Equal) {
			t.Errorf("batches %v, want [[1 3]]", got)
		}

		// A batch whose callers all leave is dropped with its timer.
		ctx, cancel = context.WithCancel(context.Background())
		d := goDo(ctx, b, 4)
		wantQueued(t, b, r, 1, 2)
		cancel()
		wantErr(t, d, context.Canceled, codes.Canceled)
		b.mu.Lock()
		open := len(b.open)
		b.mu.Unlock()
		if open != 0 {
			t.Errorf("%d open batches after every caller left, want 0", open)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if r.seen() != 2 {
			t.Errorf("the function saw %d items, want 2", r.seen())
		}
	})
}

// TestMicroBatchCancelRunning checks that a caller cancelled while its
// batch runs gets its own error at once, that the batch runs on for the
// others, and that the batch's context ends when every caller has gone.
func TestMicroBatchCancelRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{gate: make(chan struct{})}
		b := newTestBatcher(t, BatchingPolicy{MaxSize: 2, MaxDelay: time.Hour}, r)
		ctx, cancel := context.WithCancel(context.Background())
		stay := goDo(context.Background(), b, 1)
		leave := goDo(ctx, b, 2)
		wantQueued(t, b, r, 0, 2)
		cancel()
		wantErr(t, leave, context.Canceled, codes.Canceled)
		noAnswer(t, stay)
		if err := r.ctx(0).Err(); err != nil {
			t.Fatalf("batch context ended when one caller left: %v", err)
		}
		close(r.gate)
		wantOut(t, stay, 10)

		// All callers leave: the batch's context is cancelled.
		r2 := &batchRecorder{}
		block := func(ctx context.Context, items []int) ([]int, error) {
			r2.run(ctx, items)
			<-ctx.Done()
			return nil, context.Cause(ctx)
		}
		b2 := NewMicroBatcher(BatchingPolicy{MaxSize: 2}, 0, block)
		defer b2.Close()
		ctx1, cancel1 := context.WithCancel(context.Background())
		ctx2, cancel2 := context.WithCancel(context.Background())
		x, y := goDo(ctx1, b2, 1), goDo(ctx2, b2, 2)
		synctest.Wait()
		if r2.seen() != 2 {
			t.Fatalf("the batch did not start: %d items seen", r2.seen())
		}
		cancel1()
		wantErr(t, x, context.Canceled, codes.Canceled)
		if r2.ctx(0).Err() != nil {
			t.Fatal("batch context ended while a caller waits")
		}
		cancel2()
		wantErr(t, y, context.Canceled, codes.Canceled)
		if cause := context.Cause(r2.ctx(0)); !errors.Is(cause, errBatchAbandoned) {
			t.Errorf("batch context cause = %v, want errBatchAbandoned", cause)
		}
	})
}

type batchCtxKey struct{}

// TestMicroBatchContext checks the batch context: the latest deadline of
// its callers, none if one has none, and no caller's values.
func TestMicroBatchContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{}
		b := newTestBatcher(t, BatchingPolicy{MaxSize: 3, MaxDelay: time.Hour}, r)
		now := time.Now()
		var chans []<-chan result
		for i, d := range []time.Duration{time.Hour, 3 * time.Hour, 2 * time.Hour} {
			ctx, cancel := context.WithDeadline(context.WithValue(context.Background(), batchCtxKey{}, i), now.Add(d))
			defer cancel()
			chans = append(chans, goDo(ctx, b, i))
		}
		for i, ch := range chans {
			wantOut(t, ch, 10*i)
		}
		if dl, ok := r.ctx(0).Deadline(); !ok || !dl.Equal(now.Add(3*time.Hour)) {
			t.Errorf("batch deadline = %v, %v; want %v", dl, ok, now.Add(3*time.Hour))
		}
		if v := r.ctx(0).Value(batchCtxKey{}); v != nil {
			t.Errorf("batch context carries a caller's value %v", v)
		}

		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		chans = []<-chan result{goDo(ctx, b, 1), goDo(ctx, b, 2), goDo(context.Background(), b, 3)}
		for i, ch := range chans {
			wantOut(t, ch, 10*(i+1))
		}
		if dl, ok := r.ctx(1).Deadline(); ok {
			t.Errorf("batch deadline = %v; want none, as one caller has none", dl)
		}
	})
}

// TestMicroBatchDeadlines checks that each caller waits until its own
// deadline and no longer, in the queue or while its batch runs, and that a
// caller's shorter deadline fails no other caller of its batch.
func TestMicroBatchDeadlines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const cost = 100 * time.Millisecond // of each batch
		run := func(ctx context.Context, items []int) ([]int, error) {
			select {
			case <-time.After(cost):
				return items, nil
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		b := NewMicroBatcher(BatchingPolicy{MaxSize: 2, MaxDelay: time.Hour}, 0, run, WithBatcherInFlight(1))
		defer b.Close()
		start := time.Now()
		do := func(in int, timeout time.Duration) <-chan result {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			ch := make(chan result, 1)
			go func() {
				defer cancel()
				out, err := b.Do(ctx, in)
				ch <- result{out, err}
			}()
			return ch
		}
		// A batch of a 50ms and a 150ms caller: the first fails at 50ms,
		// the second gets its output at 100ms.
		short, long := do(1, 50*time.Millisecond), do(2, 150*time.Millisecond)
		// Queued behind it (one batch at a time): a caller of 80ms fails
		// at 80ms, one of 300ms gets its output at 200ms.
		synctest.Wait()
		queuedShort, queuedLong := do(3, 80*time.Millisecond), do(4, 300*time.Millisecond)
		for _, tc := range []struct {
			ch   <-chan result
			at   time.Duration
			want int // 0: DEADLINE_EXCEEDED
		}{{short, 50, 0}, {queuedShort, 80, 0}, {long, 100, 2}, {queuedLong, 200, 4}} {
			time.Sleep(start.Add(tc.at * time.Millisecond).Sub(time.Now()))
			r := answer(t, tc.ch)
			if tc.want == 0 && (status.Code(r.err) != codes.DeadlineExceeded || !errors.Is(r.err, context.DeadlineExceeded)) ||
				tc.want != 0 && (r.err != nil || r.out != tc.want) {
				t.Errorf("at %dms: Do = %d, %v; want %d (0: DEADLINE_EXCEEDED)", tc.at, r.out, r.err, tc.want)
			}
		}
	})
}

// TestMicroBatchErrors checks that every caller of a failed batch gets
// its error: the function's own, a wrong count of outputs, or a panic.
func TestMicroBatchErrors(t *testing.T) {
	checkLeaks(t)
	errBoom := status.Error(codes.FailedPrecondition, "boom")
	errPanic := errors.New("panic value")
	var mode atomic.Int32
	run := func(_ context.Context, items []int) ([]int, error) {
		switch mode.Load() {
		case 0:
			return nil, errBoom
		case 1:
			return make([]int, len(items)+1), nil
		case 2:
			panic("oops")
		case 3:
			panic(errPanic)
		case 4:
			var m map[int]int
			m[0] = 1 // a runtime error
		case 5:
			goruntime.Goexit()
		}
		return items, nil
	}
	b := NewMicroBatcher(BatchingPolicy{MaxSize: 3, MaxDelay: time.Hour}, 0, run)
	defer b.Close()
	batch := func() []result {
		var chans []<-chan result
		for i := range 3 {
			chans = append(chans, goDo(context.Background(), b, i))
		}
		var out []result
		for _, ch := range chans {
			out = append(out, <-ch)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		target error
		code   codes.Code
	}{
		{"function error", errBoom, codes.FailedPrecondition},
		{"wrong count", ErrBatchOutputs, codes.Internal},
		{"panic", ErrBatchPanic, codes.Internal},
		{"panic with an error", errPanic, codes.Internal},
		{"runtime error", ErrBatchPanic, codes.Internal},
		{"Goexit", nil, codes.Internal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range batch() {
				if r.err == nil || tc.target != nil && !errors.Is(r.err, tc.target) || status.Code(r.err) != tc.code {
					t.Errorf("Do error = %v (code %v); want %q, code %v", r.err, status.Code(r.err), tc.target, tc.code)
				}
			}
			mode.Add(1)
		})
	}
	for i, r := range batch() {
		if r.err != nil || r.out != i {
			t.Errorf("after failures Do = %d, %v; want %d, nil", r.out, r.err, i)
		}
	}
}

// TestMicroBatchQueueFull checks back-pressure: fail fast, or wait for
// room while honouring the context.
func TestMicroBatchQueueFull(t *testing.T) {
	p := BatchingPolicy{MaxSize: 8, MaxQueue: 2, MaxDelay: time.Hour}
	t.Run("fail fast", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &batchRecorder{}
			b := newTestBatcher(t, p, r, WithBatcherFailFast(true))
			a, c := goDo(context.Background(), b, 1), goDo(context.Background(), b, 2)
			wantQueued(t, b, r, 2, 0)
			wantErr(t, goDo(context.Background(), b, 3), ErrBatcherFull, codes.ResourceExhausted)
			time.Sleep(time.Hour)
			wantOut(t, a, 10)
			wantOut(t, c, 20)
		})
	})
	t.Run("wait", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := &batchRecorder{}
			b := newTestBatcher(t, p, r)
			ctx, cancel := context.WithCancel(context.Background())
			a, leaving := goDo(context.Background(), b, 1), goDo(ctx, b, 2)
			wantQueued(t, b, r, 2, 0)

			tctx, tcancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer tcancel()
			timedOut := goDo(tctx, b, 3)
			noAnswer(t, timedOut)
			time.Sleep(5 * time.Millisecond)
			if res := answer(t, timedOut); !errors.Is(res.err, ErrBatcherFull) || !errors.Is(res.err, context.DeadlineExceeded) || status.Code(res.err) != codes.DeadlineExceeded {
				t.Errorf("Do error = %v; want ErrBatcherFull and DeadlineExceeded", res.err)
			}

			waiting := goDo(context.Background(), b, 4)
			noAnswer(t, waiting)
			cancel() // frees a place for the waiting call
			wantErr(t, leaving, context.Canceled, codes.Canceled)
			wantQueued(t, b, r, 2, 0)
			time.Sleep(time.Hour)
			wantOut(t, a, 10)
			wantOut(t, waiting, 40)
			if got := r.sorted(); !slices.EqualFunc(got, [][]int{{1, 4}}, slices.Equal) {
				t.Errorf("batches %v, want [[1 4]]", got)
			}
		})
	})
}

// TestMicroBatchInFlight checks that at most so many batches run at once
// and that a slow batch holds up no other.
func TestMicroBatchInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := make(chan struct{})
		var running, most atomic.Int32
		run := func(_ context.Context, items []int) ([]int, error) {
			n := running.Add(1)
			defer running.Add(-1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			if items[0] == 0 {
				<-slow
			} else {
				time.Sleep(200 * time.Microsecond)
			}
			return items, nil
		}
		b := NewMicroBatcher(BatchingPolicy{MaxSize: 1}, 0, run, WithBatcherInFlight(2))
		defer b.Close()
		first := goDo(context.Background(), b, 0)
		synctest.Wait()
		if running.Load() != 1 {
			t.Fatalf("%d batches run, want the slow one", running.Load())
		}
		var chans []<-chan result
		for i := 1; i <= 20; i++ {
			chans = append(chans, goDo(context.Background(), b, i))
		}
		time.Sleep(20 * 200 * time.Microsecond) // one after another
		for i, ch := range chans {
			wantOut(t, ch, i+1)
		}
		noAnswer(t, first)
		close(slow)
		wantOut(t, first, 0)
		if m := most.Load(); m != 2 {
			t.Errorf("at most %d batches ran at once, want 2", m)
		}
	})
}

// TestMicroBatchClose checks that Close flushes queued calls at once,
// waits for running batches, and then rejects calls.
func TestMicroBatchClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &batchRecorder{gate: make(chan struct{})}
		b := newTestBatcher(t, BatchingPolicy{MaxSize: 10, MaxQueue: 3, MaxDelay: time.Hour}, r,
			WithShapeKey(func(n int) string { return strconv.Itoa(n % 2) }))
		var chans []<-chan result
		for i := 1; i <= 3; i++ {
			chans = append(chans, goDo(context.Background(), b, i))
		}
		wantQueued(t, b, r, 3, 0)
		waiting := goDo(context.Background(), b, 4)
		noAnswer(t, waiting)

		closed := make(chan struct{})
		go func() {
			b.Close()
			close(closed)
		}()
		wantErr(t, waiting, ErrBatcherClosed, codes.Unavailable)
		if r.seen() != 3 {
			t.Fatalf("Close flushed %d items, want 3", r.seen())
		}
		select {
		case <-closed:
			t.Fatal("Close returned while batches ran")
		default:
		}
		close(r.gate)
		<-closed
		for i, ch := range chans {
			wantOut(t, ch, 10*(i+1))
		}
		if got := r.sorted(); !slices.EqualFunc(got, [][]int{{1, 3}, {2}}, slices.Equal) {
			t.Errorf("batches %v, want [[1 3] [2]]", got)
		}
		wantErr(t, goDo(context.Background(), b, 5), ErrBatcherClosed, codes.Unavailable)
		if err := b.Close(); err != nil {
			t.Errorf("second Close = %v", err)
		}
		checkIdle(t, b)
	})
}

// TestMicroBatchStress runs many callers, a fifth of them cancelled at
// random moments, against a function that sometimes fails or panics: every
// caller must get exactly one answer, its own output or the error its batch
// or its context gave it.
func TestMicroBatchStress(t *testing.T) {
	synctest.Test(t, testMicroBatchStress)
}

func testMicroBatchStress(t *testing.T) {
	const n = 2000
	errBoom := errors.New("boom")
	var mu sync.Mutex
	fate := map[int]string{} // item → what the function did with its batch
	run := func(ctx context.Context, items []int) ([]int, error) {
		what := "ok"
		for _, v := range items {
			switch {
			case v%97 == 0:
				what = "fail"
			case v%89 == 0 && what == "ok":
				what = "panic"
			}
		}
		mu.Lock()
		for _, v := range items {
			if _, dup := fate[v]; dup {
				t.Errorf("item %d given to the function twice", v)
			}
			fate[v] = what
		}
		mu.Unlock()
		if len(items)%3 == 0 {
			time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
		}
		switch what {
		case "fail":
			return nil, errBoom
		case "panic":
			panic(fmt.Sprint("item ", items))
		}
		out := make([]int, len(items))
		for i, v := range items {
			out[i] = 2*v + 1
		}
		return out, nil
	}
	b := NewMicroBatcher(BatchingPolicy{MaxSize: 16, MaxBytes: 200, MaxDelay: 200 * time.Microsecond}, 0, run,
		WithShapeKey(func(v int) string { return strconv.Itoa(v % 3) }),
		WithItemBytes(func(v int) int { return v % 50 }),
		WithBatcherInFlight(3))
	results := make([]atomic.Int32, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cancelled := rand.IntN(5) == 0
			if cancelled {
				tm := time.AfterFunc(time.Duration(rand.IntN(1000))*time.Microsecond, cancel)
				defer tm.Stop()
			}
			out, err := b.Do(ctx, i)
			results[i].Add(1)
			mu.Lock()
			what, ran := fate[i]
			mu.Unlock()
			switch {
			case err == nil:
				if out != 2*i+1 || what != "ok" {
					t.Errorf("item %d: got %d (function did %q), want %d", i, out, what, 2*i+1)
				}
			case errors.Is(err, context.Canceled):
				if !cancelled || ctx.Err() == nil {
					t.Errorf("item %d: context error %v, but it was not cancelled", i, err)
				}
			case errors.Is(err, errBoom):
				if what != "fail" {
					t.Errorf("item %d: batch error, but the function did %q (ran %v)", i, what, ran)
				}
			case errors.Is(err, ErrBatchPanic):
				if what != "panic" {
					t.Errorf("item %d: panic error, but the function did %q (ran %v)", i, what, ran)
				}
			default:
				t.Errorf("item %d: unexpected error %v", i, err)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("callers lost")
	}
	b.Close()
	for i := range results {
		if got := results[i].Load(); got != 1 {
			t.Errorf("item %d answered %d times", i, got)
		}
	}
	checkIdle(t, b)
}

// echoServer serves "echo", an FP32 [4] identity with a batch dimension
// of up to 64 items.
func echoServer(tb testing.TB, tcp bool) (*inferencetest.Server, *grpc.ClientConn) {
	tb.Helper()
	srv := inferencetest.New(inferencetest.WithRecordLimit(0))
	m := inferencetest.Identity("echo", tensor.FP32, 4)
	m.MaxBatchSize = 64
	m.Instances = 1
	if err := srv.Register(m); err != nil {
		tb.Fatal(err)
	}
	start := srv.StartBufconn
	if tcp {
		start = srv.StartTCP
	}
	if err := start(); err != nil {
		tb.Fatal(err)
	}
	conn, err := srv.Dial()
	if err != nil {
		srv.Stop()
		tb.Fatal(err)
	}
	return srv, conn
}

// inferEcho calls the echo model once with a batch of items, each 4 FP32
// values, and returns each item's output.
func inferEcho(ctx context.Context, client oippb.Client, items [][]float32) ([][]float32, error) {
	raw := make([]byte, 0, 16*len(items))
	for _, it := range items {
		raw = tensor.AppendFloat32(raw, it)
	}
	resp, err := client.ModelInfer(ctx, &oippb.ModelInferRequest{
		ModelName: "echo",
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{
			{Name: "INPUT0", Datatype: tensor.FP32.String(), Shape: []int64{int64(len(items)), 4}},
		},
		RawInputContents: [][]byte{raw},
	})
	if err != nil {
		return nil, err
	}
	if len(resp.RawOutputContents) != 1 {
		return nil, fmt.Errorf("%d raw outputs, want 1", len(resp.RawOutputContents))
	}
	flat, err := tensor.DecodeFloat32(make([]float32, 0, 4*len(items)), resp.RawOutputContents[0])
	if err != nil {
		return nil, err
	}
	if len(flat) != 4*len(items) {
		return nil, fmt.Errorf("%d output values for %d items", len(flat), len(items))
	}
	outs := make([][]float32, len(items))
	for i := range outs {
		outs[i] = flat[4*i : 4*i+4 : 4*i+4]
	}
	return outs, nil
}

// TestMicroBatchInference batches concurrent single calls of a model on an
// inferencetest server into one ModelInfer request. The network keeps it
// out of a bubble; on a stopped clock the batch goes when it is full, not
// when the callers happen to arrive.
func TestMicroBatchInference(t *testing.T) {
	checkLeaks(t)
	srv, conn := echoServer(t, false)
	defer srv.Stop()
	defer conn.Close()
	client := oippb.NewClient(conn)
	b := NewMicroBatcher(BatchingPolicy{MaxDelay: 20 * time.Millisecond}, 64,
		func(ctx context.Context, items [][]float32) ([][]float32, error) {
			return inferEcho(ctx, client, items)
		}, WithBatcherClock(stoppedClock{time.Now()}))
	defer b.Close()

	const callers = 64
	startGate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-startGate
			in := []float32{float32(i), float32(i) + 0.5, -float32(i), 2 * float32(i)}
			out, err := b.Do(context.Background(), in)
			if err != nil || !slices.Equal(out, in) {
				t.Errorf("caller %d: Do = %v, %v; want %v", i, out, err, in)
			}
		})
	}
	close(startGate)
	wg.Wait()
	st := srv.Stats()
	if calls := st.Calls["ModelInfer"]; calls != 1 {
		t.Errorf("%d callers made %d ModelInfer requests, want 1", callers, calls)
	}
	if ok := st.Models["echo"].Codes[codes.OK]; ok != 1 {
		t.Errorf("%d requests succeeded, want 1", ok)
	}
}
