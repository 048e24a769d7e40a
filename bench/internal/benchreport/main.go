// Command benchreport turns the output of goai's benchmark runs into
// BENCHMARKS.md: for each comparison, the median of every variant and its
// ratio to the baseline measured in the same run, with the command that
// reproduces it, and an SVG chart of the client comparison.
//
// `make bench` builds it from the bench module and runs it at the
// repository's root as
//
//	benchreport -run -dir .bench -out BENCHMARKS.md
//
// With -run it first runs each comparison's command (from the repository
// root) and keeps its output in the -dir folder, one file per comparison
// as named in [comparisons], and the CPU profiles of [profiles]; without,
// it reads the files a previous run left there.
//
// With -only REGEXP it runs and renders only the comparisons whose title
// matches, and rewrites their sections of the existing -out in place
// (adding those it lacks at its end), leaving every other section as the
// last full run wrote it:
//
//	benchreport -run -dir .bench -out BENCHMARKS.md -only '^Observability'
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

func main() {
	dir := flag.String("dir", ".bench", "folder holding the benchmark outputs")
	out := flag.String("out", "BENCHMARKS.md", "the report to write")
	chart := flag.String("chart", "docs/bench-client.svg", "the client chart to write, relative to the report's folder")
	run := flag.Bool("run", false, "run the benchmarks first, writing their output to -dir")
	only := flag.String("only", "", "run and rewrite only the comparisons whose title matches this regular expression, in the existing -out")
	flag.Parse()
	if *only != "" {
		if err := runOnly(*only, *run, *dir, *out); err != nil {
			log.Fatalf("benchreport: %v", err)
		}
		fmt.Printf("wrote %s\n", *out)
		return
	}

	if *run {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			log.Fatal(err)
		}
		ran := map[string]bool{} // comparisons of one File share its run
		for _, c := range comparisons {
			if ran[c.File] {
				continue
			}
			ran[c.File] = true
			if err := c.run(filepath.Join(*dir, c.File)); err != nil {
				log.Fatalf("benchreport: %s: %v", c.Title, err)
			}
		}
		for _, p := range profiles {
			if err := p.run(*dir); err != nil {
				log.Fatalf("benchreport: %s: %v", p.Title, err)
			}
		}
	}

	var tables []table
	for _, c := range comparisons {
		results, err := readResults(filepath.Join(*dir, c.File))
		if err != nil {
			log.Fatalf("benchreport: %s: %v", c.Title, err)
		}
		tables = append(tables, c.tabulate(results))
	}
	var profs []profileTable
	for _, p := range profiles {
		t, err := p.measure(*dir)
		if err != nil {
			log.Fatalf("benchreport: %s: %v", p.Title, err)
		}
		profs = append(profs, t)
	}
	report := render(tables, profs, *dir, *chart, time.Now().UTC())
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

// run runs c's command through the shell, writing its output to path and
// echoing it to standard error as it comes.
func (c comparison) run(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(os.Stderr, "$ %s\n", c.Command)
	cmd := exec.Command("sh", "-c", c.Command)
	cmd.Stdout = io.MultiWriter(f, os.Stderr)
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// runOnly runs (with run) and renders the comparisons whose title matches
// pattern and splices their sections into the report at out.
func runOnly(pattern string, run bool, dir, out string) error {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return fmt.Errorf("-only: %w", err)
	}
	old, err := os.ReadFile(out)
	if err != nil {
		return fmt.Errorf("-only rewrites sections of an existing report: %w", err)
	}
	report := string(old)
	matched := 0
	for _, c := range comparisons {
		if !re.MatchString(c.Title) {
			continue
		}
		matched++
		path := filepath.Join(dir, c.File)
		if run {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if err := c.run(path); err != nil {
				return fmt.Errorf("%s: %w", c.Title, err)
			}
		}
		results, err := readResults(path)
		if err != nil {
			return fmt.Errorf("%s: %w", c.Title, err)
		}
		var b strings.Builder
		writeSection(&b, c.tabulate(results), "")
		report = spliceSection(report, c.Title, b.String())
	}
	if matched == 0 {
		return fmt.Errorf("-only %q matches no comparison", pattern)
	}
	return os.WriteFile(out, []byte(report), 0o644)
}

// spliceSection replaces the section of report titled title (from its
// "## " heading to the next) with section, or appends section when report
// has none.
func spliceSection(report, title, section string) string {
	heading := "## " + title + "\n"
	start := strings.Index(report, heading)
	if start < 0 {
		if !strings.HasSuffix(report, "\n\n") {
			report = strings.TrimRight(report, "\n") + "\n\n"
		}
		return report + section
	}
	end := len(report)
	if next := strings.Index(report[start+len(heading):], "\n## "); next >= 0 {
		end = start + len(heading) + next + 1
	}
	return report[:start] + section + report[end:]
}
