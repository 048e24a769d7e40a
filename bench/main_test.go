package bench

import (
	"os"
	"sync"
	"testing"

	"github.com/goai-dev/goai/bench/internal/benchserver"
)

func TestMain(m *testing.M) {
	// Run as the benchmark's model server when benchServer started this
	// binary for that.
	benchserver.MaybeServe()
	code := m.Run()
	if srv != nil {
		srv.Stop()
	}
	os.Exit(code)
}

var (
	srvOnce sync.Once
	srv     *benchserver.Process
	srvErr  error
)

// benchServer returns the model server of the client benchmarks, started
// on first use in a child process: this test binary again, with
// benchserver.EnvVar set.
func benchServer(tb testing.TB) *benchserver.Process {
	tb.Helper()
	srvOnce.Do(func() {
		exe, err := os.Executable()
		if err != nil {
			srvErr = err
			return
		}
		srv, srvErr = benchserver.Start(exe)
	})
	if srvErr != nil {
		tb.Fatal(srvErr)
	}
	return srv
}
