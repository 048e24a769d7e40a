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
	bad := write("bad.json", `{"routes": [{"version": "1", "weight": 9}, {"version": "2", "weight": 1}]}`)
	ctx := t.Context()
	var log syncBuffer
	err := run(ctx, []string{"-listen", "127.0.0.1:0", "-routing-file", bad}, nil, &log, func(net.Addr) {
		t.Error("the service listened with a routing to a version not served")
	})
	if err == nil || !strings.Contains(err.Error(), "digits@2") {
		t.Errorf("start with a routing to version 2 = %v, want an error naming digits@2", err)
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

func TestHelp(t *testing.T) {
	err := run(t.Context(), []string{"-h"}, nil, io.Discard, nil)
	if err == nil || !strings.Contains(fmt.Sprint(err), "help") {
		t.Errorf("run -h = %v, want flag.ErrHelp", err)
	}
}
