package labelcache

import (
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
)

func TestMapMakesOncePerKey(t *testing.T) {
	var m Map[string, *int]
	var made atomic.Int32
	var wg sync.WaitGroup
	got := make([]*int, 64)
	for i := range got {
		wg.Go(func() {
			got[i] = m.Get([]string{"a", "b"}[i%2], func() *int { made.Add(1); return new(int) })
		})
	}
	wg.Wait()
	if made.Load() != 2 {
		t.Errorf("made %d values for 2 keys", made.Load())
	}
	for i := range got {
		if got[i] != got[i%2] {
			t.Fatalf("Get %d returned another value than Get %d of the same key", i, i%2)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { m.Get("a", func() *int { return nil }) }); allocs != 0 {
		t.Errorf("Get of a known key allocates %v times", allocs)
	}
}

func TestSlotsAndCodes(t *testing.T) {
	var s Slots[string]
	if s.Get(3, func() string { return "x" }) != "x" || s.Get(3, func() string { return "y" }) != "x" {
		t.Error("a slot's value changed")
	}
	if Code(codes.Unavailable) != 14 || Code(99) != int(codes.Unknown) || CodeNames[Code(codes.DeadlineExceeded)] != "DEADLINE_EXCEEDED" {
		t.Error("codes")
	}
	for c := codes.OK; c < NumCodes; c++ {
		if want := c.String(); len(CodeNames[c]) == 0 || (c == codes.OK && CodeNames[c] != "OK") {
			t.Errorf("code %v (%s) has no name", c, want)
		}
	}
}
