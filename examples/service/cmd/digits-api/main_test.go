package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/goai-dev/goai/examples/models/digits"
)

// syncBuffer is a log the service and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs the service with args on 127.0.0.1:0 against the in-process
// model server and returns its base URL and a stop that shuts it down and
// returns run's error.
func start(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan net.Addr, 1)
	done := make(chan error, 1)
	var log syncBuffer
	args = append([]string{"-listen", "127.0.0.1:0"}, args...)
	go func() { done <- run(ctx, args, nil, &log, func(a net.Addr) { addr <- a }) }()
	select {
	case a := <-addr:
		var once sync.Once
		var err error
		stop := func() error {
			once.Do(func() { cancel(); err = <-done })
			return err
		}
		t.Cleanup(func() { _ = stop() })
		return "http://" + a.String(), stop
	case err := <-done:
		cancel()
		t.Fatalf("the service did not start: %v\n%s", err, log.String())
		return "", nil
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The service classifies a glyph through the generated client, is live
// and ready, shows the call in its metrics, and shuts down cleanly.
func TestServiceClassifiesAndReports(t *testing.T) {
	base, stop := start(t)

	body, _ := json.Marshal(map[string]any{"pixels": digits.Render(7, 0, 0)})
	resp, err := http.Post(base+"/classify", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Digit        int       `json:"digit"`
		Probs        []float32 `json:"probs"`
		ModelVersion string    `json:"model_version"`
	}
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/classify: %d, %v", resp.StatusCode, err)
	}
	net, err := digits.Trained()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := net.Forward(digits.Render(7, 0, 0))
	if got.Digit != digits.Argmax(want) || got.ModelVersion != "1" || len(got.Probs) != digits.Classes {
		t.Errorf("/classify = %+v, want digit %d of version 1", got, digits.Argmax(want))
	}

	if code, body := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != http.StatusOK || !strings.Contains(body, "ok") {
		t.Errorf("/readyz = %d %q", code, body)
	}
	code, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`goai_client_calls_total{code="OK",model="digits",rpc="/digits.v1.DigitClassifier/Classify",transport="grpc",version="1"} 1`,
		`goai_client_breaker_state{model="digits",version="1"} 0`,
		`go_goroutines `,
	} {
		if code != http.StatusOK || !strings.Contains(metrics, want) {
			t.Errorf("/metrics (%d) lacks %q", code, want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("the service still answers after its shutdown")
	}
}

// A routing file that sends calls to a version the server does not serve
// fails the start; one that routes to a served version is applied.
func TestServiceRoutingFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, routes string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(routes), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.json", `{"routes": [{"version": "1", "weight": 9}, {"version": "3", "weight": 1}]}`)
	ctx := t.Context()
	var log syncBuffer
	err := run(ctx, []string{"-listen", "127.0.0.1:0", "-routing-file", bad}, nil, &log, func(net.Addr) {
		t.Error("the service listened with a routing to a version not served")
	})
	if err == nil || !strings.Contains(err.Error(), "digits@3") {
		t.Errorf("start with a routing to version 3 = %v, want an error naming digits@3", err)
	}

	good := write("good.json", `{"routes": [{"version": "1", "weight": 1}]}`)
	base, stop := start(t, "-routing-file", good)
	if code, body := get(t, base+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with routing = %d %q", code, body)
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// classifyVersion posts a glyph to /classify and returns the version of
// the model that answered.
func classifyVersion(t *testing.T, base string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"pixels": digits.Render(3, 0, 0)})
	resp, err := http.Post(base+"/classify", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		ModelVersion string `json:"model_version"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/classify: %d, %v", resp.StatusCode, err)
	}
	return got.ModelVersion
}

// routedCalls returns goai_client_routed_calls_total by version, read
// from the service's /metrics.
func routedCalls(t *testing.T, base string) map[string]float64 {
	t.Helper()
	_, body := get(t, base+"/metrics")
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "goai_client_routed_calls_total{") {
			continue
		}
		i := strings.Index(line, `version="`)
		j := strings.LastIndexByte(line, ' ')
		if i < 0 || j < 0 {
			t.Fatalf("unreadable metric line %q", line)
		}
		v := line[i+len(`version="`):]
		v = v[:strings.IndexByte(v, '"')]
		n, err := strconv.ParseFloat(line[j+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		out[v] += n
	}
	return out
}

// The canary: the routing file, rewritten while the service runs, moves
// the calls from version 1 to version 2 in the steps 90/10, 50/50, 0/100,
// and the service's metrics show the split. Each step is waited for by
// its effect (the watcher reads the file every second), never by time.
func TestServiceCanaryRouting(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "routes.json")
	// A rename replaces the file at once, as a ConfigMap update does.
	write := func(v1, v2 int) {
		tmp := filepath.Join(dir, "routes.tmp")
		routes := fmt.Sprintf(`{"routes": [{"version": "1", "weight": %d}, {"version": "2", "weight": %d}]}`, v1, v2)
		if err := os.WriteFile(tmp, []byte(routes), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(100, 0)
	base, stop := start(t, "-routing-file", file, "-routing-poll", "1s")
	for range 20 {
		if v := classifyVersion(t, base); v != "1" {
			t.Fatalf("a call under the routing 100/0 was answered by version %s", v)
		}
	}

	// until makes calls until done reports true of the versions that
	// answered the last 100 (fewer at first), or fails after a bound of
	// calls far above what the watcher needs.
	until := func(step string, done func(last []string) bool) {
		t.Helper()
		var last []string
		for range 20000 {
			last = append(last, classifyVersion(t, base))
			if len(last) > 100 {
				last = last[1:]
			}
			if done(last) {
				return
			}
		}
		t.Fatalf("%s: the last versions answering %v", step, last)
	}
	count := func(last []string, v string) int {
		n := 0
		for _, x := range last {
			if x == v {
				n++
			}
		}
		return n
	}
	write(90, 10)
	until("90/10", func(last []string) bool { return count(last, "2") > 0 })
	// 30 of 100 calls go to version 2 under 90/10 with chance 1e-9, and
	// 50 calls in a row under 50/50 with chance 1e-15: each step shows
	// the new routing in effect.
	write(50, 50)
	until("50/50", func(last []string) bool { return len(last) == 100 && count(last, "2") >= 30 })
	write(0, 100)
	until("0/100", func(last []string) bool { return len(last) >= 50 && count(last[len(last)-50:], "2") == 50 })
	for range 50 {
		if v := classifyVersion(t, base); v != "2" {
			t.Fatalf("a call under the routing 0/100 was answered by version %s", v)
		}
	}
	if m := routedCalls(t, base); m["1"] < 20 || m["2"] < 100 {
		t.Errorf("routed calls by version %v, want at least 20 of version 1 and 100 of version 2", m)
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestHelp(t *testing.T) {
	err := run(t.Context(), []string{"-h"}, nil, io.Discard, nil)
	if err == nil || !strings.Contains(fmt.Sprint(err), "help") {
		t.Errorf("run -h = %v, want flag.ErrHelp", err)
	}
}
