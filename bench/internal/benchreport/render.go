package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

func render(tables []table, chart string, now time.Time) string {
	var b strings.Builder
	b.WriteString("# goai benchmarks\n\n")
	b.WriteString("Written by `make bench` (internal/benchreport); do not edit by hand.\n")
	fmt.Fprintf(&b, "Measured %s on this repository's development machine (2 cores).\n", now.Format("2006-01-02"))
	b.WriteString("Every ratio compares medians measured in the same run; the command under each\n")
	b.WriteString("table reproduces it. A ratio is how many times better goai's variant did (time or\nthroughput); above 1 favours goai.\n\n")
	for _, t := range tables {
		fmt.Fprintf(&b, "## %s\n\n", t.Title)
		fmt.Fprintf(&b, "Target: %s.\n\n", t.Target)
		if t.Chart {
			fmt.Fprintf(&b, "![%s](%s)\n\n", t.Title, chart)
		}
		writeTable(&b, t)
		fmt.Fprintf(&b, "\n```sh\n%s\n```\n\n", t.Command)
	}
	for _, m := range missing {
		fmt.Fprintf(&b, "## %s\n\nMissing: %s\n\n", m.Title, m.Why)
	}
	return b.String()
}

func writeTable(b *strings.Builder, t table) {
	header := []string{"case"}
	for _, v := range t.Variants {
		header = append(header, v+" "+unitLabel(t.Metric))
	}
	for _, v := range t.Variants[1:] {
		header = append(header, t.Subject+" vs "+v)
	}
	for _, unit := range t.Extra {
		for _, v := range t.Variants {
			header = append(header, v+" "+unit)
		}
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, r := range t.Rows {
		key := r.Key
		if key == "" {
			key = "—"
		}
		cells := []string{key}
		for _, v := range t.Variants {
			cells = append(cells, formatMetric(t.Metric, r.Medians[v][t.Metric], r.Medians[v] != nil))
		}
		for _, v := range t.Variants[1:] {
			if x, ok := t.ratio(r, v); ok {
				cells = append(cells, fmt.Sprintf("**%.2f×**", x))
			} else {
				cells = append(cells, "missing")
			}
		}
		for _, unit := range t.Extra {
			for _, v := range t.Variants {
				val, ok := r.Medians[v][unit]
				cells = append(cells, formatMetric(unit, val, ok))
			}
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
}

func unitLabel(unit string) string {
	if unit == "sec/op" {
		return "time/op"
	}
	return unit
}

func formatMetric(unit string, v float64, ok bool) string {
	if !ok {
		return "missing"
	}
	if unit == "sec/op" {
		switch {
		case v < 1e-6:
			return fmt.Sprintf("%.1f ns", v*1e9)
		case v < 1e-3:
			return fmt.Sprintf("%.2f µs", v*1e6)
		default:
			return fmt.Sprintf("%.2f ms", v*1e3)
		}
	}
	if v >= 100 || v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
