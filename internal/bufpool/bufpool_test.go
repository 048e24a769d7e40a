package bufpool

import "testing"

func TestSizeClass(t *testing.T) {
	prev := 0
	for n := 1<<minPooledExp + 1; n < 1<<24; n += n/7 + 1 {
		idx, c, ok := sizeClass(n)
		if !ok || c < n || c > n+n/4+1 {
			t.Fatalf("sizeClass(%d) = %d, %d, %v", n, idx, c, ok)
		}
		if idx < prev {
			t.Fatalf("sizeClass(%d) index %d below previous %d", n, idx, prev)
		}
		prev = idx
		// A class capacity maps to itself, so Put finds the class Get used.
		if idx2, c2, _ := sizeClass(c); idx2 != idx || c2 != c {
			t.Fatalf("sizeClass(%d) = %d, %d; sizeClass(%d) = %d, %d", n, idx, c, c, idx2, c2)
		}
	}
	for _, n := range []int{0, 1, 1 << minPooledExp} {
		if _, _, ok := sizeClass(n); ok {
			t.Errorf("sizeClass(%d) pooled", n)
		}
	}
	var p Pool
	b := p.Get(5000)
	if len(*b) != 5000 {
		t.Fatalf("Get(5000) has length %d", len(*b))
	}
	(*b)[0] = 1
	p.Put(b)
	if b2 := p.Get(4500); len(*b2) != 4500 || cap(*b2) != cap(*b) {
		t.Logf("pool did not reuse (allowed: sync.Pool may drop): cap %d", cap(*b2))
	}
	p.Put(&[]byte{1, 2, 3}) // foreign capacity: ignored
}
