package oiphttp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCodeForHTTPStatus(t *testing.T) {
	for st, want := range map[int]codes.Code{
		400: codes.InvalidArgument,
		401: codes.Unauthenticated,
		403: codes.PermissionDenied,
		404: codes.NotFound,
		405: codes.InvalidArgument,
		408: codes.DeadlineExceeded,
		409: codes.Aborted,
		412: codes.FailedPrecondition,
		413: codes.ResourceExhausted,
		422: codes.InvalidArgument,
		429: codes.Unavailable,
		499: codes.Canceled,
		500: codes.Internal,
		501: codes.Unimplemented,
		502: codes.Unavailable,
		503: codes.Unavailable,
		504: codes.DeadlineExceeded,
		505: codes.Unknown,
		599: codes.Unknown,
		307: codes.Unknown,
		100: codes.Unknown,
	} {
		if got := CodeForHTTPStatus(st); got != want {
			t.Errorf("CodeForHTTPStatus(%d) = %v, want %v", st, got, want)
		}
	}
}

// TestStatusRoundTrip checks what a server's code becomes at the client:
// the same code, or one the call path treats alike (retry, breaker).
func TestStatusRoundTrip(t *testing.T) {
	for c := codes.OK + 1; c <= codes.Unauthenticated; c++ {
		got := CodeForHTTPStatus(HTTPStatusForCode(c))
		want := c
		switch c {
		case codes.ResourceExhausted:
			want = codes.Unavailable // 429: an overloaded server, retried as on gRPC
		case codes.Unknown, codes.DataLoss:
			want = codes.Internal // 500: a server failure either way
		case codes.AlreadyExists:
			want = codes.Aborted
		case codes.OutOfRange:
			want = codes.InvalidArgument // Triton's 400 for the rest
		}
		if got != want {
			t.Errorf("%v -> HTTP %d -> %v, want %v", c, HTTPStatusForCode(c), got, want)
		}
	}
	// Triton's own mapping is kept.
	for c, st := range map[codes.Code]int{codes.NotFound: 404, codes.Unavailable: 503, codes.Unimplemented: 501,
		codes.Internal: 500, codes.InvalidArgument: 400, codes.OutOfRange: 400} {
		if got := HTTPStatusForCode(c); got != st {
			t.Errorf("HTTPStatusForCode(%v) = %d, want %d", c, got, st)
		}
	}
}

func TestDecodeErrorBody(t *testing.T) {
	for _, tc := range []struct {
		st   int
		body string
		code codes.Code
		msg  string
	}{
		{400, `{"error":"unexpected inference input 'X' for model 'simple'"}`, codes.InvalidArgument, "unexpected inference input 'X' for model 'simple'"},
		{404, `{"error": "Request for unknown model: 'nope' is not found"}`, codes.NotFound, "Request for unknown model: 'nope' is not found"},
		{503, "<html><body>no healthy upstream</body></html>", codes.Unavailable, "<html><body>no healthy upstream</body></html>"},
		{502, "", codes.Unavailable, "Bad Gateway"},
		{500, `{"error":""}`, codes.Internal, "Internal Server Error"},
		{500, "\xff\xfe broken", codes.Internal, "\ufffd broken"},
		{418, strings.Repeat("x", 2000), codes.InvalidArgument, strings.Repeat("x", maxErrorMessage) + "..."},
		{599, "", codes.Unknown, "status 599"},
	} {
		e := DecodeErrorBody(tc.st, []byte(tc.body))
		if e.Code != tc.code || e.Message != tc.msg || e.HTTPStatus != tc.st || !e.FromServer() {
			t.Errorf("DecodeErrorBody(%d, %.30q) = %+v, want code %v message %q", tc.st, tc.body, e, tc.code, tc.msg)
		}
		if status.Code(e) != tc.code {
			t.Errorf("status.Code = %v, want %v", status.Code(e), tc.code)
		}
	}
	// 413 reads as grpc's own too-large error: not retried.
	e := DecodeErrorBody(413, []byte(`{"error":"too big"}`))
	if e.Code != codes.ResourceExhausted || !errors.Is(e, ErrTooLarge) || !strings.Contains(e.Error(), "larger than max") {
		t.Errorf("413: %v (code %v)", e, e.Code)
	}
	// EncodeErrorBody writes what DecodeErrorBody reads.
	msg := "quote \" and \n newline \x00 and \xff"
	got := DecodeErrorBody(400, EncodeErrorBody(msg))
	if want := strings.ToValidUTF8(msg, "\ufffd"); got.Message != want {
		t.Errorf("round trip: %q, want %q", got.Message, want)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		values    []string
		d         time.Duration
		has, stop bool
	}{
		{nil, 0, false, false},
		{[]string{"0"}, 0, true, false},
		{[]string{"5"}, 5 * time.Second, true, false},
		{[]string{" 120 "}, 2 * time.Minute, true, false},
		{[]string{"86400"}, 24 * time.Hour, true, false},
		{[]string{"86401"}, 0, false, true},
		{[]string{"99999999999999999999999999"}, 0, false, true},
		{[]string{"-1"}, 0, false, true},
		{[]string{"1.5"}, 0, false, true},
		{[]string{"5s"}, 0, false, true},
		{[]string{""}, 0, false, true},
		{[]string{"soon"}, 0, false, true},
		{[]string{"1", "2"}, 0, false, true},
		{[]string{"Sun, 01 Mar 2026 12:00:30 GMT"}, 30 * time.Second, true, false},
		{[]string{"Sunday, 01-Mar-26 12:01:00 GMT"}, time.Minute, true, false},
		{[]string{"Sun Mar  1 12:00:10 2026"}, 10 * time.Second, true, false},
		{[]string{"Sat, 28 Feb 2026 12:00:00 GMT"}, 0, true, false},
		{[]string{"Fri, 01 Jan 1000 00:00:00 GMT"}, 0, true, false},
		{[]string{"Mon, 02 Mar 2026 12:00:01 GMT"}, 0, false, true},
		{[]string{"Fri, 31 Dec 9999 23:59:59 GMT"}, 0, false, true},
	} {
		d, has, stop := ParseRetryAfter(tc.values, now)
		if d != tc.d || has != tc.has || stop != tc.stop {
			t.Errorf("ParseRetryAfter(%q) = %v, %v, %v; want %v, %v, %v", tc.values, d, has, stop, tc.d, tc.has, tc.stop)
		}
	}
}

func TestReadBody(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	for _, tc := range []struct {
		name  string
		r     io.Reader
		cl    int64
		limit int
		want  error // nil: data
	}{
		{"claimed", bytes.NewReader(data), int64(len(data)), len(data), nil},
		{"unclaimed", bytes.NewReader(data), -1, len(data), nil},
		{"one byte at a time", iotest.OneByteReader(bytes.NewReader(data)), -1, len(data), nil},
		{"unclaimed over", bytes.NewReader(data), -1, len(data) - 1, ErrTooLarge},
		{"claim over", bytes.NewReader(data), int64(len(data)), len(data) - 1, ErrTooLarge},
		{"claim short", bytes.NewReader(data), int64(len(data) + 1), 2 * len(data), io.ErrUnexpectedEOF},
		{"read error", iotest.TimeoutReader(bytes.NewReader(data)), -1, 1 << 20, iotest.ErrTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readBody(tc.r, tc.cl, tc.limit)
			if tc.want == nil {
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("got %d bytes, %v", len(got), err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			if errors.Is(err, ErrTooLarge) && (status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), "larger than max")) {
				t.Errorf("%v: code %v, want RESOURCE_EXHAUSTED saying larger than max", err, status.Code(err))
			}
		})
	}
	// A claim is not an allocation: 60 MiB claimed, 10 bytes sent.
	before := totalAlloc()
	_, err := readBody(strings.NewReader("0123456789"), 60<<20, 64<<20)
	if got := totalAlloc() - before; got > 2*initialRead {
		t.Errorf("a 60 MiB claim allocated %d bytes", got)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("%v, want io.ErrUnexpectedEOF", err)
	}
}
