package goai_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/goai-dev/goai"
)

// A MicroBatcher turns concurrent single calls into one call of a batch
// function; each caller gets the output of its own item.
func ExampleMicroBatcher() {
	var sizes []int
	upper := func(_ context.Context, words []string) ([]string, error) {
		sizes = append(sizes, len(words)) // batches of one key run one at a time here
		out := make([]string, len(words))
		for i, w := range words {
			out[i] = strings.ToUpper(w)
		}
		return out, nil
	}
	// A batch goes when it holds MaxSize items or MaxDelay after its first
	// call, whichever comes first; the delay here is long enough for the
	// three calls below to always make one batch, on however busy a
	// machine, and costs nothing since the batch goes once full.
	b := goai.NewMicroBatcher(goai.BatchingPolicy{MaxSize: 3, MaxDelay: time.Minute}, 0, upper,
		goai.WithBatcherInFlight(1))
	defer b.Close()

	var (
		mu      sync.Mutex
		answers []string
		wg      sync.WaitGroup
	)
	for _, w := range []string{"alpha", "beta", "gamma"} {
		wg.Go(func() {
			out, err := b.Do(context.Background(), w)
			if err != nil {
				fmt.Println(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			answers = append(answers, w+" -> "+out)
		})
	}
	wg.Wait()
	slices.Sort(answers)
	fmt.Println(strings.Join(answers, "\n"))
	fmt.Println("batch sizes:", sizes)
	// Output:
	// alpha -> ALPHA
	// beta -> BETA
	// gamma -> GAMMA
	// batch sizes: [3]
}
