package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const sampleOutput = `goos: linux
goarch: amd64
BenchmarkClient/baseline/n=784/c=1-2     100  20000 ns/op  50000 calls/s  0.020 p50-ms  0.030 p99-ms
BenchmarkClient/baseline/n=784/c=1-2     100  20000 ns/op  40000 calls/s  0.020 p50-ms  0.040 p99-ms
BenchmarkClient/baseline/n=784/c=1-2     100  20000 ns/op  45000 calls/s  0.020 p50-ms  0.050 p99-ms
BenchmarkClient/goai/n=784/c=1-2         100  10000 ns/op  90000 calls/s  0.010 p50-ms  0.020 p99-ms
BenchmarkClient/goai/n=150528/c=16-2     100  10000 ns/op  3000 calls/s   1 p50-ms  2 p99-ms
BenchmarkClient/baseline/n=150528/c=16-2 100  10000 ns/op  1000 calls/s   3 p50-ms  6 p99-ms
PASS
`

func TestTabulateAndRender(t *testing.T) {
	path := filepath.Join(t.TempDir(), "client.txt")
	if err := os.WriteFile(path, []byte(sampleOutput), 0o644); err != nil {
		t.Fatal(err)
	}
	results, err := readResults(path)
	if err != nil {
		t.Fatal(err)
	}
	var client comparison
	for _, c := range comparisons {
		if c.File == "client.txt" {
			client = c
		}
	}
	tab := client.tabulate(results)
	if got := strings.Join(tab.Variants, ","); got != "goai,baseline" {
		t.Fatalf("variants %s, want goai,baseline", got)
	}
	if len(tab.Rows) != 2 || tab.Rows[0].Key != "n=784/c=1" || tab.Rows[1].Key != "n=150528/c=16" {
		t.Fatalf("rows %+v, want n=784/c=1 then n=150528/c=16", tab.Rows)
	}
	// The baseline's median of 40000, 45000, 50000 is 45000: 90000/45000 = 2.
	if x, ok := tab.ratio(tab.Rows[0], "baseline"); !ok || x != 2 {
		t.Errorf("ratio at 784 = %v, %v; want 2", x, ok)
	}
	if x, ok := tab.ratio(tab.Rows[1], "baseline"); !ok || x != 3 {
		t.Errorf("ratio at 150528 = %v, %v; want 3", x, ok)
	}
	md := render([]table{tab}, "chart.svg", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	for _, want := range []string{"| n=784/c=1 | 90000 | 45000 | **2.00×** |", "![", "go -C bench test ."} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if svg := chartSVG(tab); !strings.Contains(svg, "goai 90000 (2.00× baseline)") || !strings.HasPrefix(svg, "<svg") {
		t.Errorf("chart lacks the ratio label:\n%s", svg)
	}
}

func TestTimeRatioFavoursFaster(t *testing.T) {
	tab := table{comparison: comparison{Subject: "goai", Metric: "sec/op"}}
	r := row{Medians: map[string]map[string]float64{"goai": {"sec/op": 1e-6}, "memcpy": {"sec/op": 0.8e-6}}}
	if x, _ := tab.ratio(r, "memcpy"); x != 0.8 {
		t.Errorf("goai vs memcpy = %v, want 0.8", x)
	}
}

func TestReadResultsRejectsEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.txt")
	os.WriteFile(path, []byte("PASS\n"), 0o644)
	if _, err := readResults(path); err == nil {
		t.Fatal("want an error for output with no results")
	}
}
