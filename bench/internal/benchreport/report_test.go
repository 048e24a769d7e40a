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
	md := render([]table{tab}, nil, ".bench", "chart.svg", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	for _, want := range []string{"| n=784/c=1 | goai | 90000 | — |", "|  | baseline | 45000 | **2.00×** |", "![", "go -C bench test ."} {
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

func TestParseShowing(t *testing.T) {
	for _, tc := range []struct {
		out         string
		part, total time.Duration
	}{
		{"Active filters:\n   focus=x\nShowing nodes accounting for 20ms, 1.52% of 1320ms total\n", 20 * time.Millisecond, 1320 * time.Millisecond},
		{"Showing nodes accounting for 1.32s, 100% of 1.32s total\n", 1320 * time.Millisecond, 1320 * time.Millisecond},
		{"Showing nodes accounting for 0, 0% of 2mins total\n", 0, 2 * time.Minute},
	} {
		part, total, err := parseShowing(tc.out)
		if err != nil || part != tc.part || total != tc.total {
			t.Errorf("parseShowing(%q) = %v, %v, %v; want %v, %v", tc.out, part, total, err, tc.part, tc.total)
		}
	}
	if _, _, err := parseShowing("Focus expression matched no samples"); err == nil {
		t.Error("want an error for output without a summary")
	}
}

func TestRenderProfile(t *testing.T) {
	p := profileTable{
		profile: profile{Title: "CPU by layer", File: "cpu.pprof", Command: "go test -cpuprofile {dir}/cpu.pprof", Target: "≤ 3%",
			Shares: []share{{Name: "breaker", Focus: `allow$`, Ignore: `attempt$`}}},
		Total:  2 * time.Second,
		Shares: []float64{1.25},
	}
	md := render(nil, []profileTable{p}, ".bench", "chart.svg", time.Now())
	for _, want := range []string{"## CPU by layer", "| breaker | **1.2%** |", "go test -cpuprofile .bench/cpu.pprof",
		"-focus='allow$' -ignore='attempt$' .bench/cpu.pprof"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// -only rewrites one section in place and leaves the others as they were;
// a section the report lacks goes at its end.
func TestSpliceSection(t *testing.T) {
	report := "# r\n\n## A\n\nold a\n\n## B\n\nold b\n\n## C\n\nold c\n"
	if got, want := spliceSection(report, "B", "## B\n\nnew b\n\n"), "# r\n\n## A\n\nold a\n\n## B\n\nnew b\n\n## C\n\nold c\n"; got != want {
		t.Errorf("middle section:\n%q\nwant\n%q", got, want)
	}
	if got, want := spliceSection(report, "C", "## C\n\nnew c\n\n"), "# r\n\n## A\n\nold a\n\n## B\n\nold b\n\n## C\n\nnew c\n\n"; got != want {
		t.Errorf("last section:\n%q\nwant\n%q", got, want)
	}
	if got, want := spliceSection(report, "D", "## D\n\nd\n\n"), report+"\n## D\n\nd\n\n"; got != want {
		t.Errorf("new section:\n%q\nwant\n%q", got, want)
	}
}
