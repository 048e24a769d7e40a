package inferencetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/goai-dev/goai/inferencetest"
	"google.golang.org/grpc/codes"
)

// restCall is what a REST endpoint answered.
type restCall struct {
	status int
	header http.Header
	body   string
}

// restDo makes one call of method on path of srv's REST endpoints, with a
// JSON body if body is not empty.
func restDo(ctx context.Context, t *testing.T, hc *http.Client, srv *inferencetest.Server, method, path, body string) (restCall, error) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, srv.HTTPURL()+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return restCall{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return restCall{resp.StatusCode, resp.Header, string(b)}, err
}

func mustREST(t *testing.T, hc *http.Client, srv *inferencetest.Server, method, path, body string) restCall {
	t.Helper()
	c, err := restDo(ctxT(t), t, hc, srv, method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return c
}

const doubleJSON = `{"inputs":[{"name":"IN","shape":[1,2],"datatype":"FP32","data":[1,2.5]}]}`

// wantDoubled checks a response of the doubler to doubleJSON.
func wantDoubled(t *testing.T, c restCall) {
	t.Helper()
	if c.status != http.StatusOK {
		t.Fatalf("infer: %d %s", c.status, c.body)
	}
	var resp struct {
		ModelName string `json:"model_name"`
		Outputs   []struct {
			Name string    `json:"name"`
			Data []float32 `json:"data"`
		} `json:"outputs"`
	}
	if err := json.Unmarshal([]byte(c.body), &resp); err != nil {
		t.Fatalf("infer response %s: %v", c.body, err)
	}
	if resp.ModelName != "double" || len(resp.Outputs) != 1 || resp.Outputs[0].Name != "OUT" || !slices.Equal(resp.Outputs[0].Data, []float32{2, 5}) {
		t.Errorf("infer response %s, want OUT [2 5] of double", c.body)
	}
}

func TestRESTEndpoints(t *testing.T) {
	srv, _ := start(t, false, []inferencetest.Model{doubler()})
	hc := srv.HTTPClient()
	for _, tc := range []struct {
		path   string
		status int
		body   string // a part of the body
	}{
		{"/v2/health/live", http.StatusOK, ""},
		{"/v2/health/ready", http.StatusOK, ""},
		{"/v2/models/double/ready", http.StatusOK, ""},
		{"/v2/models/double/versions/2/ready", http.StatusOK, ""},
		{"/v2/models/double", http.StatusOK, `"name":"double"`},
		{"/v2/models/double/versions/1", http.StatusOK, `"datatype":"FP32"`},
		{"/v2/models/nope", http.StatusNotFound, `"error":`},
		// Triton answers 400 to the readiness of a model it does not know.
		{"/v2/models/nope/ready", http.StatusBadRequest, `"error":`},
	} {
		c := mustREST(t, hc, srv, http.MethodGet, tc.path, "")
		if c.status != tc.status || !strings.Contains(c.body, tc.body) {
			t.Errorf("GET %s: %d %s, want %d with %s", tc.path, c.status, c.body, tc.status, tc.body)
		}
	}

	if err := srv.SetModelReady("double", false); err != nil {
		t.Fatal(err)
	}
	if c := mustREST(t, hc, srv, http.MethodGet, "/v2/models/double/ready", ""); c.status != http.StatusBadRequest {
		t.Errorf("ready of a model marked not ready: %d %s, want 400", c.status, c.body)
	}
	if err := srv.SetModelReady("double", true); err != nil {
		t.Fatal(err)
	}

	wantDoubled(t, mustREST(t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON))
	reqs := srv.Requests()
	if len(reqs) != 1 || !reqs[0].REST || reqs[0].RawInputs != 0 || reqs[0].Model != "double" {
		t.Errorf("recorded %+v, want one REST request of double with JSON inputs", reqs)
	}

	// A body that does not decode never reaches the model.
	c := mustREST(t, hc, srv, http.MethodPost, "/v2/models/double/infer", `{"inputs":[{"name":"IN"`)
	if c.status != http.StatusBadRequest || !strings.Contains(c.body, `"error":`) {
		t.Errorf("truncated body: %d %s, want 400 with an error", c.status, c.body)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests recorded, want the truncated one left out", n)
	}
}

func TestRESTFaults(t *testing.T) {
	srv, _ := start(t, false, []inferencetest.Model{doubler()})
	hc := srv.HTTPClient()
	for _, tc := range []struct {
		name       string
		outcome    inferencetest.Outcome
		status     int
		retryAfter []string
	}{
		{"unavailable", inferencetest.Fail(codes.Unavailable), http.StatusServiceUnavailable, nil},
		{"invalid argument", inferencetest.Fail(codes.InvalidArgument), http.StatusBadRequest, nil},
		{"not found", inferencetest.Fail(codes.NotFound), http.StatusNotFound, nil},
		{"internal", inferencetest.Fail(codes.Internal), http.StatusInternalServerError, nil},
		// Retry-After has whole seconds: 1.5s rounds up.
		{"pushback", inferencetest.Pushback(codes.Unavailable, 1500*time.Millisecond), http.StatusServiceUnavailable, []string{"2"}},
		{"pushback of whole seconds", inferencetest.Pushback(codes.Unavailable, 3*time.Second), http.StatusServiceUnavailable, []string{"3"}},
		{"no retry", inferencetest.Pushback(codes.Unavailable, -1), http.StatusServiceUnavailable, []string{"-1"}},
	} {
		srv.Script(tc.outcome)
		c := mustREST(t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON)
		if c.status != tc.status || !strings.Contains(c.body, "inferencetest: injected "+tc.outcome.Code.String()) {
			t.Errorf("%s: %d %s, want %d with the injected error", tc.name, c.status, c.body, tc.status)
		}
		if got := c.header.Values("Retry-After"); !slices.Equal(got, tc.retryAfter) {
			t.Errorf("%s: Retry-After %q, want %q", tc.name, got, tc.retryAfter)
		}
	}
	// The script is spent: the next call is served.
	wantDoubled(t, mustREST(t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON))
	if st := srv.Stats().Models["double"]; st.Injected != 7 || st.Codes[codes.OK] != 1 {
		t.Errorf("stats %+v, want 7 injected and 1 served", st)
	}
}

func TestRESTHang(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := start(t, false, []inferencetest.Model{doubler()})
		hc := srv.HTTPClient()
		srv.SetFaults(inferencetest.Faults{Hang: true})
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := restDo(ctx, t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("hanging call: %v, want the deadline", err)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("hang ended after %v, want the 50ms deadline", d)
		}
		srv.ClearFaults()
		// Down does not wait for a hanging call's caller: the call ends,
		// answered UNAVAILABLE if its answer goes out before the
		// connection closes, else cut with it.
		srv.SetFaults(inferencetest.Faults{Hang: true})
		type result struct {
			c   restCall
			err error
		}
		done := make(chan result, 1)
		go func() {
			c, err := restDo(context.Background(), t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON)
			done <- result{c, err}
		}()
		synctest.Wait()
		srv.Down()
		if r := <-done; r.err == nil && (r.c.status != http.StatusServiceUnavailable || !strings.Contains(r.c.body, "server is stopping")) {
			t.Errorf("a call hanging when the server went down: %d %s, want 503 or a broken connection", r.c.status, r.c.body)
		}
	})
}

func TestRESTDownUpRestart(t *testing.T) {
	srv, _ := start(t, true, []inferencetest.Model{doubler()})
	hc := srv.HTTPClient()
	url := srv.HTTPURL()
	wantDoubled(t, mustREST(t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON))

	srv.Down()
	hc.CloseIdleConnections() // the server closed them; a POST is not retried on one
	if _, err := restDo(ctxT(t), t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON); err == nil {
		t.Error("a call to a server that is down succeeded")
	}
	if err := srv.Up(); err != nil {
		t.Fatal(err)
	}
	wantDoubled(t, mustREST(t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON))

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	hc.CloseIdleConnections()
	if got := srv.HTTPURL(); got != url {
		t.Errorf("after Restart the REST endpoints are at %s, want %s as before", got, url)
	}
	wantDoubled(t, mustREST(t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON))
}

// Calls one after another share one keep-alive connection, which the
// server ends its background read on after each: none may find the
// connection struck by that, its context canceled before the model
// answers (a bufconn connection could be, once in a few hundred calls).
func TestRESTKeepAliveCallsOneAfterAnother(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := start(t, false, []inferencetest.Model{doubler()})
		hc := srv.HTTPClient()
		// Latency makes the handler wait on its request's context.
		srv.SetFaults(inferencetest.Faults{Latency: time.Millisecond})
		const calls = 3000
		for i := range calls {
			c := mustREST(t, hc, srv, http.MethodPost, "/v2/models/double/infer", doubleJSON)
			if c.status != http.StatusOK {
				t.Fatalf("call %d of %d: %d %s, want 200", i, calls, c.status, c.body)
			}
		}
	})
}
