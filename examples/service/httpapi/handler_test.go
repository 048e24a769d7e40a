package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fakeClassifier answers with functions the test sets.
type fakeClassifier struct {
	classify func(ctx context.Context, pixels []float32) (Result, error)
	ready    func(ctx context.Context) error

	mu     sync.Mutex
	got    [][]float32
	readys int
}

func (f *fakeClassifier) Classify(ctx context.Context, pixels []float32) (Result, error) {
	f.mu.Lock()
	f.got = append(f.got, append([]float32(nil), pixels...))
	f.mu.Unlock()
	if f.classify == nil {
		return Result{}, errors.New("fake: no classify function")
	}
	return f.classify(ctx, pixels)
}

func (f *fakeClassifier) Ready(ctx context.Context) error {
	f.mu.Lock()
	f.readys++
	f.mu.Unlock()
	if f.ready == nil {
		return nil
	}
	return f.ready(ctx)
}

func (f *fakeClassifier) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

// answer returns a classify function that answers digit d with version v.
func answer(d int, v string) func(context.Context, []float32) (Result, error) {
	return func(context.Context, []float32) (Result, error) {
		probs := make([]float32, Classes)
		for i := range probs {
			probs[i] = 0.01
		}
		probs[d] = 0.91
		return Result{Probs: probs, ModelVersion: v}, nil
	}
}

// quietLogger drops log lines, or collects them into buf if non-nil.
func quietLogger(buf *bytes.Buffer) *slog.Logger {
	if buf == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(buf, nil))
}

func pixelsJSON(n int, v string) string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = v
	}
	return `{"pixels":[` + strings.Join(vals, ",") + `]}`
}

func post(t *testing.T, h http.Handler, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	return postCtx(t, t.Context(), h, contentType, body)
}

func postCtx(t *testing.T, ctx context.Context, h http.Handler, contentType, body string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/classify", strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) errorResponse {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q, want application/json", ct)
	}
	var e errorResponse
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", w.Body, err)
	}
	return e
}

func TestClassify(t *testing.T) {
	f := &fakeClassifier{classify: answer(7, "2")}
	h := New(f, Options{Logger: quietLogger(nil)})
	px := make([]string, Pixels)
	for i := range px {
		px[i] = fmt.Sprint(float32(i) / 63)
	}
	body := `{"pixels":[` + strings.Join(px, ", ") + `]}`
	w := post(t, h, "application/json; charset=utf-8", body)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, body %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	const want = `{"digit":7,"probs":[0.01,0.01,0.01,0.01,0.01,0.01,0.01,0.91,0.01,0.01],"model_version":"2"}` + "\n"
	if w.Body.String() != want {
		t.Errorf("body %s, want %s", w.Body, want)
	}
	if len(f.got) != 1 || len(f.got[0]) != Pixels || f.got[0][0] != 0 || f.got[0][63] != 1 || f.got[0][21] != float32(21)/63 {
		t.Errorf("the classifier got %v, want the request's pixels", f.got)
	}
}

func TestClassifyRefusesBadRequests(t *testing.T) {
	ok := pixelsJSON(Pixels, "0.5")
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		says                    string
	}{
		{"no content type", "", ok, http.StatusUnsupportedMediaType, "application/json"},
		{"form content type", "application/x-www-form-urlencoded", ok, http.StatusUnsupportedMediaType, "application/json"},
		{"text content type", "text/plain", ok, http.StatusUnsupportedMediaType, "application/json"},
		{"bad media type", "application/json; ;", ok, http.StatusUnsupportedMediaType, "application/json"},
		{"too large", "application/json", ok + strings.Repeat(" ", DefaultMaxBodyBytes), http.StatusRequestEntityTooLarge, "over 16384 bytes"},
		{"empty body", "application/json", "", http.StatusBadRequest, "not a valid request"},
		{"not JSON", "application/json", "pixels=1", http.StatusBadRequest, "not a valid request"},
		{"trailing data", "application/json", ok + "{}", http.StatusBadRequest, "not a valid request"},
		{"a JSON array", "application/json", "[1,2]", http.StatusBadRequest, "not a valid request"},
		{"no pixels", "application/json", `{}`, http.StatusBadRequest, `no "pixels"`},
		{"null pixels", "application/json", `{"pixels":null}`, http.StatusBadRequest, `no "pixels"`},
		{"unknown field", "application/json", `{"pixels":[],"model":"x"}`, http.StatusBadRequest, `unknown field "model"`},
		{"key in the wrong case", "application/json", strings.Replace(ok, "pixels", "Pixels", 1), http.StatusBadRequest, `unknown field "Pixels"`},
		{"duplicate key", "application/json", `{"pixels":[],` + ok[1:], http.StatusBadRequest, `duplicate field "pixels"`},
		{"63 values", "application/json", pixelsJSON(Pixels-1, "0.5"), http.StatusBadRequest, "has 63 values; want 64"},
		{"65 values", "application/json", pixelsJSON(Pixels+1, "0.5"), http.StatusBadRequest, "has 65 values; want 64"},
		{"784 values", "application/json", pixelsJSON(784, "0"), http.StatusBadRequest, "has 784 values"},
		{"above 1", "application/json", strings.Replace(ok, "0.5", "1.5", 1), http.StatusBadRequest, `"pixels"[0] is 1.5`},
		{"below 0", "application/json", strings.Replace(ok, "0.5", "-0.01", 1), http.StatusBadRequest, `"pixels"[0] is -0.01`},
		{"beyond float32", "application/json", strings.Replace(ok, "0.5", "1e39", 1), http.StatusBadRequest, "1e39 is out of range"},
		{"null value", "application/json", strings.Replace(ok, "0.5", "null", 1), http.StatusBadRequest, "null is not a pixel value"},
		{"string value", "application/json", strings.Replace(ok, "0.5", `"0.5"`, 1), http.StatusBadRequest, "is not a number"},
		{"nested array", "application/json", `{"pixels":[[0.5]]}`, http.StatusBadRequest, "not a valid request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeClassifier{classify: answer(0, "1")}
			w := post(t, New(f, Options{Logger: quietLogger(nil)}), tc.contentType, tc.body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tc.status, w.Body)
			}
			e := decodeError(t, w)
			if e.Code != "INVALID_ARGUMENT" || !strings.Contains(e.Error, tc.says) {
				t.Errorf("error %+v, want INVALID_ARGUMENT saying %q", e, tc.says)
			}
			if f.calls() != 0 {
				t.Errorf("a refused request reached the classifier")
			}
		})
	}
}

func TestClassifyMethodAndPath(t *testing.T) {
	h := New(&fakeClassifier{}, Options{Logger: quietLogger(nil)})
	w := get(t, h, "/classify")
	if w.Code != http.StatusMethodNotAllowed || !strings.Contains(w.Header().Get("Allow"), "POST") {
		t.Errorf("GET /classify: status %d, Allow %q; want 405 allowing POST", w.Code, w.Header().Get("Allow"))
	}
	if w := get(t, h, "/classify/extra"); w.Code != http.StatusNotFound {
		t.Errorf("GET /classify/extra: status %d, want 404", w.Code)
	}
	if w := get(t, h, "/metrics"); w.Code != http.StatusNotFound {
		t.Errorf("GET /metrics without a metrics handler: status %d, want 404", w.Code)
	}
}

func TestClassifyErrorStatus(t *testing.T) {
	const secret = "triton-0.digits-triton.prod.svc:8001 said: model 'digits' version 3 is not found"
	for _, tc := range []struct {
		name       string
		err        error
		status     int
		code       string
		retryAfter bool
	}{
		{"unavailable", status.Error(codes.Unavailable, secret), 503, "UNAVAILABLE", true},
		{"breaker open (wrapped)", fmt.Errorf("digits: %w", status.Error(codes.Unavailable, secret)), 503, "UNAVAILABLE", true},
		{"rate limited", status.Error(codes.ResourceExhausted, secret), 503, "RESOURCE_EXHAUSTED", true},
		{"deadline", status.Error(codes.DeadlineExceeded, secret), 504, "DEADLINE_EXCEEDED", false},
		{"plain context deadline", fmt.Errorf("waiting: %w", context.DeadlineExceeded), 504, "DEADLINE_EXCEEDED", false},
		{"cancelled", status.Error(codes.Canceled, secret), StatusClientClosedRequest, "CANCELLED", false},
		{"plain context cancel", context.Canceled, StatusClientClosedRequest, "CANCELLED", false},
		{"contract mismatch", status.Error(codes.InvalidArgument, secret), 502, "INVALID_ARGUMENT", false},
		{"version not loaded", status.Error(codes.NotFound, secret), 502, "NOT_FOUND", false},
		{"model not ready", status.Error(codes.FailedPrecondition, secret), 502, "FAILED_PRECONDITION", false},
		{"bad credentials", status.Error(codes.Unauthenticated, secret), 502, "UNAUTHENTICATED", false},
		{"denied", status.Error(codes.PermissionDenied, secret), 502, "PERMISSION_DENIED", false},
		{"server bug", status.Error(codes.Internal, secret), 502, "INTERNAL", false},
		{"unimplemented", status.Error(codes.Unimplemented, secret), 502, "UNIMPLEMENTED", false},
		{"aborted", status.Error(codes.Aborted, secret), 502, "ABORTED", false},
		{"data loss", status.Error(codes.DataLoss, secret), 502, "DATA_LOSS", false},
		{"out of range", status.Error(codes.OutOfRange, secret), 502, "OUT_OF_RANGE", false},
		{"already exists", status.Error(codes.AlreadyExists, secret), 502, "ALREADY_EXISTS", false},
		{"a plain error", errors.New(secret), 500, "UNKNOWN", false},
		{"unknown code", status.Error(codes.Unknown, secret), 500, "UNKNOWN", false},
		{"code beyond the table", status.Error(codes.Code(99), secret), 502, "UNKNOWN", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			f := &fakeClassifier{classify: func(context.Context, []float32) (Result, error) { return Result{}, tc.err }}
			w := post(t, New(f, Options{Logger: quietLogger(&logs)}), "application/json", pixelsJSON(Pixels, "0"))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
			e := decodeError(t, w)
			if e.Code != tc.code {
				t.Errorf("code %q, want %q", e.Code, tc.code)
			}
			if strings.Contains(w.Body.String(), "triton") || e.Error == "" {
				t.Errorf("body %s: want a generic message, without the upstream error", w.Body)
			}
			if got := w.Header().Get("Retry-After") != ""; got != tc.retryAfter {
				t.Errorf("Retry-After %q, want one: %v", w.Header().Get("Retry-After"), tc.retryAfter)
			}
			if !strings.Contains(logs.String(), tc.err.Error()) {
				t.Errorf("the log %q does not hold the upstream error", logs.String())
			}
		})
	}
}

func TestClassifyRefusesMalformedAnswers(t *testing.T) {
	nan := make([]float32, Classes)
	nan[4] = float32(math.NaN())
	for _, tc := range []struct {
		name  string
		probs []float32
	}{
		{"none", nil},
		{"nine", make([]float32, Classes-1)},
		{"eleven", make([]float32, Classes+1)},
		{"NaN", nan},
		{"infinity", []float32{0, 0, 0, 0, 0, 0, 0, 0, 0, float32(math.Inf(1))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeClassifier{classify: func(context.Context, []float32) (Result, error) {
				return Result{Probs: tc.probs, ModelVersion: "2"}, nil
			}}
			w := post(t, New(f, Options{Logger: quietLogger(nil)}), "application/json", pixelsJSON(Pixels, "0"))
			if w.Code != http.StatusBadGateway {
				t.Fatalf("status %d, want 502; body %s", w.Code, w.Body)
			}
			if e := decodeError(t, w); e.Code != "INTERNAL" {
				t.Errorf("code %q, want INTERNAL", e.Code)
			}
		})
	}
}

// CallTimeout bounds the call: a model that does not answer gets 504 at
// the timeout, and the classifier sees the deadline.
func TestClassifyCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var deadline time.Time
		f := &fakeClassifier{classify: func(ctx context.Context, _ []float32) (Result, error) {
			deadline, _ = ctx.Deadline()
			<-ctx.Done()
			return Result{}, status.FromContextError(ctx.Err()).Err()
		}}
		start := time.Now()
		w := post(t, New(f, Options{Logger: quietLogger(nil), CallTimeout: 3 * time.Second}), "application/json", pixelsJSON(Pixels, "0"))
		if w.Code != http.StatusGatewayTimeout {
			t.Fatalf("status %d, want 504", w.Code)
		}
		if want := start.Add(3 * time.Second); !deadline.Equal(want) {
			t.Errorf("the call's deadline was %v, want %v", deadline, want)
		}
	})
}

// A caller that goes away cancels the call; the answer is logged as 499.
func TestClassifyCallerCancels(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	f := &fakeClassifier{classify: func(ctx context.Context, _ []float32) (Result, error) {
		cancel()
		<-ctx.Done()
		return Result{}, ctx.Err()
	}}
	var logs bytes.Buffer
	w := postCtx(t, ctx, New(f, Options{Logger: quietLogger(&logs)}), "application/json", pixelsJSON(Pixels, "1"))
	if w.Code != StatusClientClosedRequest {
		t.Fatalf("status %d, want 499", w.Code)
	}
	if !strings.Contains(logs.String(), "level=INFO") || strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("log %q: want a cancelled call at INFO, not ERROR", logs.String())
	}
}

func TestHealthzIgnoresTheModel(t *testing.T) {
	f := &fakeClassifier{ready: func(context.Context) error { return errors.New("model server down") }}
	h := New(f, Options{Logger: quietLogger(nil)})
	if w := get(t, h, "/healthz"); w.Code != http.StatusOK || w.Body.String() != "ok\n" {
		t.Fatalf("/healthz: %d %q, want 200 ok whatever the model's state", w.Code, w.Body)
	}
	h.StartDrain()
	if w := get(t, h, "/healthz"); w.Code != http.StatusOK {
		t.Fatalf("/healthz while draining: %d, want 200: a draining pod must not be restarted", w.Code)
	}
	if f.readys != 0 {
		t.Errorf("/healthz called Ready %d times", f.readys)
	}
}

func TestReadyz(t *testing.T) {
	var notReady error
	var logs bytes.Buffer
	f := &fakeClassifier{ready: func(context.Context) error { return notReady }}
	h := New(f, Options{Logger: quietLogger(&logs)})
	if w := get(t, h, "/readyz"); w.Code != http.StatusOK || w.Body.String() != "ok\n" {
		t.Fatalf("/readyz: %d %q, want 200", w.Code, w.Body)
	}
	notReady = errors.New("breaker open for digits/2 at 10.0.3.7:8001")
	w := get(t, h, "/readyz")
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "10.0.3.7") {
		t.Fatalf("/readyz when not ready: %d %q, want 503 without the reason", w.Code, w.Body)
	}
	if !strings.Contains(logs.String(), "10.0.3.7") {
		t.Errorf("the log %q does not give the reason", logs.String())
	}
	notReady = nil
	h.StartDrain()
	before := f.readys
	if w := get(t, h, "/readyz"); w.Code != http.StatusServiceUnavailable || w.Body.String() != "draining\n" {
		t.Fatalf("/readyz while draining: %d %q, want 503 draining", w.Code, w.Body)
	}
	if f.readys != before {
		t.Errorf("/readyz asked the model while draining")
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
}

// A readiness check that hangs is cut off at ReadyTimeout with 503, before
// the probe's own timeout would fire.
func TestReadyzTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &fakeClassifier{ready: func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}}
		h := New(f, Options{Logger: quietLogger(nil), ReadyTimeout: 500 * time.Millisecond})
		start := time.Now()
		w := get(t, h, "/readyz")
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", w.Code)
		}
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Errorf("answered after %v of the bubble's clock, want ReadyTimeout (500ms)", d)
		}
	})
}

func TestMetricsEndpoint(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "digits_calls_total 3\n") })
	h := New(&fakeClassifier{}, Options{Logger: quietLogger(nil), Metrics: metrics})
	if w := get(t, h, "/metrics"); w.Code != http.StatusOK || w.Body.String() != "digits_calls_total 3\n" {
		t.Fatalf("/metrics: %d %q", w.Code, w.Body)
	}
}
