package generator

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/pluginpb"
)

func TestDuration(t *testing.T) {
	gen, err := protogen.Options{}.New(&pluginpb.CodeGeneratorRequest{})
	if err != nil {
		t.Fatal(err)
	}
	g := gen.NewGeneratedFile("x.go", "example.com/x")
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, ""},
		{time.Nanosecond, "time.Nanosecond"},
		{500 * time.Microsecond, "500 * time.Microsecond"},
		{200 * time.Millisecond, "200 * time.Millisecond"},
		{1500 * time.Millisecond, "1500 * time.Millisecond"},
		{time.Second, "time.Second"},
		{90 * time.Second, "90 * time.Second"},
		{time.Minute, "time.Minute"},
		{90 * time.Minute, "90 * time.Minute"},
		{48 * time.Hour, "48 * time.Hour"},
		{time.Second + time.Nanosecond, "1000000001 * time.Nanosecond"},
	} {
		if got := duration(g, tt.d); got != tt.want {
			t.Errorf("duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestMerge(t *testing.T) {
	base := callPolicy{
		timeout: time.Second,
		retry: retryPolicy{
			maxAttempts:    3,
			initialBackoff: 20 * time.Millisecond,
			retryableCodes: []code{14, 8}, // UNAVAILABLE, RESOURCE_EXHAUSTED
		},
		breaker:    breakerPolicy{failureRatio: 0.5, minRequests: 20, disabled: new(true)},
		idempotent: new(false),
	}
	tests := []struct {
		name string
		over callPolicy
		want callPolicy
	}{
		{"unset keeps base", callPolicy{}, base},
		{
			"set fields win, field by field",
			callPolicy{
				timeout:        200 * time.Millisecond,
				attemptTimeout: 50 * time.Millisecond,
				retry:          retryPolicy{maxAttempts: 5},
				breaker:        breakerPolicy{minRequests: 5},
				idempotent:     new(true),
			},
			callPolicy{
				timeout:        200 * time.Millisecond,
				attemptTimeout: 50 * time.Millisecond,
				retry: retryPolicy{
					maxAttempts:    5,
					initialBackoff: 20 * time.Millisecond,
					retryableCodes: []code{14, 8},
				},
				breaker:    breakerPolicy{failureRatio: 0.5, minRequests: 5, disabled: new(true)},
				idempotent: new(true),
			},
		},
		{
			"codes replace, not append",
			callPolicy{retry: retryPolicy{retryableCodes: []code{10}}},
			callPolicy{
				timeout: time.Second,
				retry: retryPolicy{
					maxAttempts:    3,
					initialBackoff: 20 * time.Millisecond,
					retryableCodes: []code{10},
				},
				breaker:    base.breaker,
				idempotent: new(false),
			},
		},
	}
	tests = append(tests, struct {
		name string
		over callPolicy
		want callPolicy
	}{
		"an explicit false or zero wins",
		callPolicy{retry: retryPolicy{jitter: new(0.0)}, breaker: breakerPolicy{disabled: new(false)}},
		callPolicy{
			timeout:    time.Second,
			retry:      retryPolicy{maxAttempts: 3, initialBackoff: 20 * time.Millisecond, jitter: new(0.0), retryableCodes: []code{14, 8}},
			breaker:    breakerPolicy{failureRatio: 0.5, minRequests: 20, disabled: new(false)},
			idempotent: new(false),
		},
	})
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, merge(base, tt.over), cmp.AllowUnexported(callPolicy{}, retryPolicy{}, breakerPolicy{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
