package main

import (
	"fmt"
	"html"
	"strings"
)

// chartSVG draws t's metric as grouped horizontal bars, one group per key
// and one bar per variant, each group scaled to its own largest value so
// that small and large inputs read alike; the bar's label gives the value.
func chartSVG(t table) string {
	const (
		width, left, barH, gap, groupGap = 760, 150, 16, 4, 18
		plot                             = width - left - 110
	)
	colors := []string{"#9aa5b1", "#2f7ed8", "#f28f43", "#77a1e5"}
	height := 50 + len(t.Rows)*(len(t.Variants)*(barH+gap)+groupGap)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">%s (%s, higher is better)</text>`+"\n", html.EscapeString(t.Title), t.Metric)
	y := 40
	for _, r := range t.Rows {
		top := 0.0
		for _, v := range t.Variants {
			top = max(top, r.Medians[v][t.Metric])
		}
		fmt.Fprintf(&b, `<text x="10" y="%d">%s</text>`+"\n", y+barH, html.EscapeString(r.Key))
		for i, v := range t.Variants {
			val := r.Medians[v][t.Metric]
			w := 0
			if top > 0 {
				w = int(float64(plot) * val / top)
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n", left, y, w, barH, colors[i%len(colors)])
			label := fmt.Sprintf("%s %s", v, formatMetric(t.Metric, val, true))
			if x, ok := t.ratio(r, v); ok && v != t.Subject {
				label += fmt.Sprintf(" (%.2f×)", x)
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+w+6, y+barH-4, html.EscapeString(label))
			y += barH + gap
		}
		y += groupGap
	}
	b.WriteString("</svg>\n")
	return b.String()
}
