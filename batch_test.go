package goai

import (
	"math"
	"testing"
)

func TestBatchItems(t *testing.T) {
	for _, tc := range []struct{ size, modelMax, want int }{
		{0, 8, 8}, {4, 8, 4}, {16, 8, 8}, {-3, 8, 8}, {0, 0, DefaultMicroBatchSize}, {-1, -1, DefaultMicroBatchSize},
		{5, 0, 5}, {math.MaxInt, 0, math.MaxInt}, {math.MaxInt, 8, 8},
	} {
		if got := batchItems(tc.size, tc.modelMax); got != tc.want {
			t.Errorf("batchItems(%d, %d) = %d, want %d", tc.size, tc.modelMax, got, tc.want)
		}
	}
}

func TestMaxRequestItems(t *testing.T) {
	d := &ModelDesc{MaxBatchSize: 8, Batching: BatchingPolicy{MaxSize: 16}}
	if got := d.MaxRequestItems(); got != 8 {
		t.Errorf("MaxRequestItems = %d, want the model's 8", got)
	}
}
