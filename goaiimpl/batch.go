package goaiimpl

import (
	"context"
	"fmt"
	"sync"

	"github.com/goai-dev/goai"
)

// BatchItem describes one item of a batch call for [PlanBatches].
type BatchItem struct {
	// Bytes is the item's tensor data size.
	Bytes int
	// Shape identifies the item's dynamic dimensions: items may share a
	// request only when their Shape keys are equal. Empty for models
	// without dynamic dimensions.
	Shape string
}

// PlanBatches groups the indexes of items into requests of at most
// maxItems items and maxBytes bytes (an item larger than maxBytes goes
// alone), never putting items of different Shape keys together. Within a
// group, indexes keep input order; groups are ordered by their first item.
// maxItems <= 0 means no item limit and maxBytes <= 0 means
// [goai.DefaultMaxRequestBytes]; a negative Bytes counts as 0.
func PlanBatches(items []BatchItem, maxItems int, maxBytes int64) [][]int {
	if maxBytes <= 0 {
		maxBytes = goai.DefaultMaxRequestBytes
	}
	type open struct {
		group int
		bytes int64
	}
	var groups [][]int
	current := map[string]*open{}
	for i, it := range items {
		size := int64(max(it.Bytes, 0))
		g := current[it.Shape]
		// g.bytes exceeds maxBytes only for an oversized item alone, and
		// then any item is too many; written as a difference, the test
		// cannot overflow as the sum could.
		full := g != nil && ((maxItems > 0 && len(groups[g.group]) >= maxItems) || size > maxBytes-g.bytes)
		if g == nil || full {
			groups = append(groups, nil)
			g = &open{group: len(groups) - 1}
			current[it.Shape] = g
		}
		groups[g.group] = append(groups[g.group], i)
		g.bytes += size
	}
	return groups
}

// RunBatches calls run for every group, at most parallel at once
// (parallel <= 0 means [goai.DefaultBatchParallelism]), and waits for all of
// them. After the first failure no further group starts and ctx passed to
// the running ones is cancelled; the first error is returned, annotated with
// the group's position.
func RunBatches(ctx context.Context, groups [][]int, parallel int, run func(ctx context.Context, group []int) error) error {
	if parallel <= 0 {
		parallel = goai.DefaultBatchParallelism
	}
	if len(groups) == 1 {
		return run(ctx, groups[0])
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		skipped  bool
		slots    = make(chan struct{}, parallel)
	)
	for n, g := range groups {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			skipped = true
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			if err := run(ctx, g); err != nil {
				once.Do(func() {
					firstErr = fmt.Errorf("batch request %d of %d (%d items): %w", n+1, len(groups), len(g), err)
					cancel(firstErr)
				})
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if skipped {
		return context.Cause(ctx)
	}
	return nil
}
