package goaiimpl

import (
	"context"
	"errors"
	"github.com/goai-dev/goai"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/google/go-cmp/cmp"
)

func TestPlanBatches(t *testing.T) {
	tests := []struct {
		name     string
		items    []BatchItem
		maxItems int
		maxBytes int64
		want     [][]int
	}{
		{"empty", nil, 4, 100, nil},
		{"by count", sized(5, 10, ""), 2, 1000, [][]int{{0, 1}, {2, 3}, {4}}},
		{"by bytes", sized(5, 10, ""), 10, 25, [][]int{{0, 1}, {2, 3}, {4}}},
		{"oversized item alone", []BatchItem{{Bytes: 5}, {Bytes: 50}, {Bytes: 5}}, 10, 20, [][]int{{0}, {1}, {2}}},
		{"no item limit", sized(3, 1, ""), 0, 100, [][]int{{0, 1, 2}}},
		{"shapes apart", []BatchItem{{1, "a"}, {1, "b"}, {1, "a"}, {1, "b"}, {1, "a"}}, 2, 100, [][]int{{0, 2}, {1, 3}, {4}}},
		{"default bytes", sized(2, goai.DefaultMaxRequestBytes, ""), 10, 0, [][]int{{0}, {1}}},
		// Sizes that add up past math.MaxInt64 once wrapped negative and
		// shared a request.
		{"sum past int64", sized(2, math.MaxInt64/2+1, ""), 10, math.MaxInt64, [][]int{{0}, {1}}},
		{"oversized, then past int64", []BatchItem{{Bytes: math.MaxInt64}, {Bytes: math.MaxInt64}}, 10, 100, [][]int{{0}, {1}}},
		{"negative sizes count as 0", []BatchItem{{Bytes: -50}, {Bytes: 20}, {Bytes: 5}}, 10, 20, [][]int{{0, 1}, {2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanBatches(tt.items, tt.maxItems, tt.maxBytes)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PlanBatches (-want +got):\n%s", diff)
			}
		})
	}
}

func sized(n, bytes int, shape string) []BatchItem {
	items := make([]BatchItem, n)
	for i := range items {
		items[i] = BatchItem{Bytes: bytes, Shape: shape}
	}
	return items
}

func TestRunBatchesBoundsParallelism(t *testing.T) {
	groups := make([][]int, 20)
	for i := range groups {
		groups[i] = []int{i}
	}
	var running, peak atomic.Int32
	var mu sync.Mutex
	var seen []int
	arrived := make(chan struct{}, len(groups))
	release := make(chan struct{})
	go func() {
		// Let the first wave fill every slot before any group finishes.
		for range 3 {
			<-arrived
		}
		close(release)
	}()
	err := RunBatches(context.Background(), groups, 3, func(ctx context.Context, g []int) error {
		n := running.Add(1)
		arrived <- struct{}{}
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		mu.Lock()
		seen = append(seen, g[0])
		mu.Unlock()
		running.Add(-1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak parallelism %d, want 3", p)
	}
	slices.Sort(seen)
	if len(seen) != 20 || seen[0] != 0 || seen[19] != 19 {
		t.Errorf("groups run: %v", seen)
	}
}

func TestRunBatchesStopsAfterFailure(t *testing.T) {
	boom := errors.New("boom")
	groups := make([][]int, 50)
	for i := range groups {
		groups[i] = []int{i}
	}
	var started atomic.Int32
	err := RunBatches(context.Background(), groups, 1, func(ctx context.Context, g []int) error {
		started.Add(1)
		if g[0] == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if n := started.Load(); n > 4 {
		t.Errorf("%d groups started after the failure of the third", n)
	}
}

func TestRunBatchesHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var started atomic.Int32
	err := RunBatches(ctx, [][]int{{0}, {1}, {2}}, 1, func(ctx context.Context, g []int) error {
		started.Add(1)
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if started.Load() != 0 {
		t.Errorf("%d groups started on a cancelled context", started.Load())
	}
}

// TestInferBatchItemsPerRequest checks that InferBatch never sends more
// items in one request than the model's MaxBatchSize, whatever the
// batching policy's MaxSize: above it, or negative, it once went
// unbounded.
func TestInferBatchItemsPerRequest(t *testing.T) {
	for _, size := range []int{0, 3, 20, -1} {
		srv := &pairServer{}
		desc := pairDesc(goai.CallPolicy{}, goai.BatchingPolicy{MaxSize: size})
		c := NewClientFromConn(srv, desc, goai.WithRetryBudget(nil))
		in := make([]*oippb.InferTensorContents, 20)
		for i := range in {
			in[i] = pair(float32(i))
		}
		out, err := InferBatch(context.Background(), c, &desc.Methods[0], in, encodePair, decodePair)
		if err != nil {
			t.Fatalf("MaxSize %d: %v", size, err)
		}
		for i, o := range out {
			if o.GetFp32Contents()[0] != float32(i) {
				t.Errorf("MaxSize %d: item %d = %v", size, i, o)
			}
		}
		want := []int{8, 8, 4}
		if size == 3 {
			want = []int{3, 3, 3, 3, 3, 3, 2}
		}
		got := srv.sent()
		slices.Sort(got)
		slices.Reverse(got)
		if !slices.Equal(got, want) {
			t.Errorf("MaxSize %d: requests of %v items, want %v", size, got, want)
		}
	}
}
