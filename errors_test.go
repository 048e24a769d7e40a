package goai

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sony/gobreaker/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestErrorsKeepCodes(t *testing.T) {
	last := status.Error(codes.Unavailable, "down")
	for _, tc := range []struct {
		err      error
		code     codes.Code
		matches  []error
		contains string
	}{
		{breakerOpenError(ModelRef{Name: "m", Version: "2"}, gobreaker.ErrOpenState, last), codes.Unavailable,
			[]error{ErrBreakerOpen, gobreaker.ErrOpenState, last}, "m@2"},
		{breakerOpenError(ModelRef{Name: "m"}, gobreaker.ErrTooManyRequests, nil), codes.Unavailable,
			[]error{ErrBreakerOpen, gobreaker.ErrTooManyRequests}, "half-open"},
		{newCallError(codes.DeadlineExceeded, "x", ErrRetryBudgetExhausted, last), codes.DeadlineExceeded,
			[]error{ErrRetryBudgetExhausted, last}, "x"},
		{withContextCode(fmt.Errorf("decode: %w", context.Canceled)), codes.Canceled, []error{context.Canceled}, "decode"},
		{contextError(context.DeadlineExceeded), codes.DeadlineExceeded, []error{context.DeadlineExceeded}, "deadline"},
	} {
		// Wrapped once more by the caller, the code still shows.
		wrapped := fmt.Errorf("client: %w", tc.err)
		for _, err := range []error{tc.err, wrapped} {
			st, ok := status.FromError(err)
			if !ok || st.Code() != tc.code || status.Code(err) != tc.code {
				t.Errorf("status of %v = %v, %v; want %v", err, st, ok, tc.code)
			}
			for _, m := range tc.matches {
				if !errors.Is(err, m) {
					t.Errorf("%v does not match %v", err, m)
				}
			}
		}
		if !strings.Contains(tc.err.Error(), tc.contains) {
			t.Errorf("%q does not mention %q", tc.err, tc.contains)
		}
	}
	plain := errors.New("plain")
	if withContextCode(plain) != plain || withContextCode(last) != last {
		t.Errorf("withContextCode changed an error it should keep")
	}
}
