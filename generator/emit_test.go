package generator

import (
	"testing"
	"time"

	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	"github.com/goai-dev/goai/runtime"
	"github.com/goai-dev/goai/runtime/tensor"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
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

// TestDTypes checks that every goai.v1.DType but the unset one converts to
// a tensor.DType that generated code can name.
func TestDTypes(t *testing.T) {
	for v, name := range goaiv1.DType_name {
		if v == int32(goaiv1.DType_DTYPE_UNSPECIFIED) {
			continue
		}
		d, err := tensor.ParseDType(name)
		if err != nil {
			t.Errorf("goai.v1.DType %s: %v", name, err)
			continue
		}
		if dtypeNames[d] == "" {
			t.Errorf("dtypeNames has no name for %s", d)
		}
	}
	if len(dtypeNames) != len(goaiv1.DType_name)-1 {
		t.Errorf("dtypeNames has %d names, want %d", len(dtypeNames), len(goaiv1.DType_name)-1)
	}
}

func TestMerge(t *testing.T) {
	base := runtime.CallPolicy{
		Timeout: time.Second,
		Retry: runtime.RetryPolicy{
			MaxAttempts:    3,
			InitialBackoff: 20 * time.Millisecond,
			RetryableCodes: []codes.Code{codes.Unavailable, codes.ResourceExhausted},
		},
		Breaker:    runtime.BreakerPolicy{FailureRatio: 0.5, MinRequests: 20, Disabled: true},
		Idempotent: new(false),
	}
	tests := []struct {
		name string
		over runtime.CallPolicy
		want runtime.CallPolicy
	}{
		{"unset keeps base", runtime.CallPolicy{}, base},
		{
			"set fields win, field by field",
			runtime.CallPolicy{
				Timeout:        200 * time.Millisecond,
				AttemptTimeout: 50 * time.Millisecond,
				Retry:          runtime.RetryPolicy{MaxAttempts: 5},
				Breaker:        runtime.BreakerPolicy{MinRequests: 5},
				Idempotent:     new(true),
			},
			runtime.CallPolicy{
				Timeout:        200 * time.Millisecond,
				AttemptTimeout: 50 * time.Millisecond,
				Retry: runtime.RetryPolicy{
					MaxAttempts:    5,
					InitialBackoff: 20 * time.Millisecond,
					RetryableCodes: []codes.Code{codes.Unavailable, codes.ResourceExhausted},
				},
				Breaker:    runtime.BreakerPolicy{FailureRatio: 0.5, MinRequests: 5, Disabled: true},
				Idempotent: new(true),
			},
		},
		{
			"codes replace, not append",
			runtime.CallPolicy{Retry: runtime.RetryPolicy{RetryableCodes: []codes.Code{codes.Aborted}}},
			runtime.CallPolicy{
				Timeout: time.Second,
				Retry: runtime.RetryPolicy{
					MaxAttempts:    3,
					InitialBackoff: 20 * time.Millisecond,
					RetryableCodes: []codes.Code{codes.Aborted},
				},
				Breaker:    base.Breaker,
				Idempotent: new(false),
			},
		},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, merge(base, tt.over)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
