// Command benchreport turns the output of goai's benchmark runs into
// BENCHMARKS.md: for each comparison, the median of every variant and its
// ratio to the baseline measured in the same run, with the command that
// reproduces it, and an SVG chart of the client comparison.
//
// `make bench` runs the benchmarks and then this command:
//
//	go run ./internal/benchreport -dir .bench -out BENCHMARKS.md -chart docs/bench-client.svg
//
// The -dir folder holds one file per comparison, named as in [comparisons],
// each the plain text output of `go test -bench`.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"
)

func main() {
	dir := flag.String("dir", ".bench", "folder holding the benchmark outputs")
	out := flag.String("out", "BENCHMARKS.md", "the report to write")
	chart := flag.String("chart", "docs/bench-client.svg", "the client chart to write, relative to the report's folder")
	flag.Parse()

	var tables []table
	for _, c := range comparisons {
		results, err := readResults(filepath.Join(*dir, c.File))
		if err != nil {
			log.Fatalf("benchreport: %s: %v", c.Title, err)
		}
		tables = append(tables, c.tabulate(results))
	}
	report := render(tables, *chart, time.Now().UTC())
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		log.Fatal(err)
	}
	for _, t := range tables {
		if t.Chart {
			svg := chartSVG(t)
			path := filepath.Join(filepath.Dir(*out), *chart)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				log.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(svg), 0o644); err != nil {
				log.Fatal(err)
			}
		}
	}
	fmt.Printf("wrote %s\n", *out)
}
