package main

import (
	"fmt"
	"math"
	"strings"
	"time"
)

func render(tables []table, profs []profileTable, dir, chart string, now time.Time) string {
	var b strings.Builder
	b.WriteString("# goai benchmarks\n\n")
	b.WriteString("Written by `make bench` (internal/benchreport); do not edit by hand.\n")
	fmt.Fprintf(&b, "Measured %s on this repository's development machine (2 cores).\n", now.Format("2006-01-02"))
	b.WriteString("Every ratio compares medians measured in the same run; the command under each\n")
	b.WriteString("table reproduces it. A ratio is how many times better goai's variant did (time or\nthroughput); above 1 favours goai.\n\n")
	for _, t := range tables {
		writeSection(&b, t, chart)
	}
	for _, p := range profs {
		fmt.Fprintf(&b, "## %s\n\n", p.Title)
		fmt.Fprintf(&b, "Target: %s.\n\n", p.Target)
		if p.Note != "" {
			fmt.Fprintf(&b, "%s.\n\n", p.Note)
		}
		fmt.Fprintf(&b, "| part of the client | share of its CPU samples |\n|---|---|\n")
		for i, s := range p.profile.Shares {
			fmt.Fprintf(&b, "| %s | **%.1f%%** |\n", s.Name, p.Shares[i])
		}
		fmt.Fprintf(&b, "\n%v of samples. The profile, and the share of each part (pprof's -focus and -ignore, as listed in bench/internal/benchreport):\n", p.Total)
		fmt.Fprintf(&b, "\n```sh\n%s\n", p.command(dir))
		for _, s := range p.profile.Shares {
			cmd := fmt.Sprintf("go tool pprof -top -nodefraction=0 -focus='%s'", s.Focus)
			if s.Ignore != "" {
				cmd += fmt.Sprintf(" -ignore='%s'", s.Ignore)
			}
			fmt.Fprintf(&b, "%s %s/%s | grep Showing\n", cmd, dir, p.File)
		}
		b.WriteString("```\n\n")
	}
	for _, m := range missing {
		fmt.Fprintf(&b, "## %s\n\nMissing: %s\n\n", m.Title, m.Why)
	}
	return b.String()
}

// writeSection writes t's section of the report, from its heading to
// its command; chart is the path of the chart for a table drawn as one.
func writeSection(b *strings.Builder, t table, chart string) {
	fmt.Fprintf(b, "## %s\n\n", t.Title)
	fmt.Fprintf(b, "Target: %s.\n\n", t.Target)
	if t.Note != "" {
		fmt.Fprintf(b, "%s.\n\n", t.Note)
	}
	if t.Chart && chart != "" {
		fmt.Fprintf(b, "![%s](%s)\n\n", t.Title, chart)
	}
	if t.PerVariant {
		writeVariantTable(b, t)
	} else {
		writeTable(b, t)
	}
	fmt.Fprintf(b, "\n```sh\n%s\n```\n\n", t.Command)
}

func writeTable(b *strings.Builder, t table) {
	header := []string{"case"}
	for _, v := range t.Variants {
		header = append(header, strings.TrimSpace(v+" "+unitLabel(t.Metric)))
	}
	for _, v := range t.Variants[1:] {
		header = append(header, t.Subject+" vs "+v)
	}
	for _, unit := range t.Extra {
		for _, v := range t.Variants {
			header = append(header, strings.TrimSpace(v+" "+unitLabel(unit)))
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

// writeVariantTable writes t with one row per key and variant: the
// metric, the subject's ratio to the variant, then every extra unit.
func writeVariantTable(b *strings.Builder, t table) {
	header := []string{"case", "client", unitLabel(t.Metric), t.Subject + " vs it"}
	for _, unit := range t.Extra {
		header = append(header, unitLabel(unit))
	}
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, r := range t.Rows {
		key := r.Key
		for _, v := range t.Variants {
			cells := []string{key, v, formatMetric(t.Metric, r.Medians[v][t.Metric], r.Medians[v] != nil)}
			key = ""
			switch x, ok := t.ratio(r, v); {
			case v == t.Subject:
				cells = append(cells, "—")
			case ok:
				cells = append(cells, fmt.Sprintf("**%.2f×**", x))
			default:
				cells = append(cells, "missing")
			}
			for _, unit := range t.Extra {
				val, ok := r.Medians[v][unit]
				cells = append(cells, formatMetric(unit, val, ok))
			}
			fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
		}
	}
}

func unitLabel(unit string) string {
	switch unit {
	case "sec/op":
		return "time/op"
	case "allocs/op":
		return "allocs/call"
	case "B/op":
		return "bytes/call"
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
