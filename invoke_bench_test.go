package goai

import (
	"context"
	"testing"
)

// BenchmarkInvoke measures the runtime's own cost per call, around an
// attempt that does nothing.
func BenchmarkInvoke(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    CallPolicy
	}{
		{"single", CallPolicy{}},
		{"retrying", retrying(3)},
		{"timeouts", CallPolicy{Timeout: 1e9, AttemptTimeout: 1e9, Retry: RetryPolicy{MaxAttempts: 3}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			desc := testDesc(bc.p)
			c := testClient(nil, desc)
			fn := func(context.Context, attemptArgs) error { return nil }
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := c.invoke(ctx, &desc.Methods[0], fn); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
