package main

import (
	"fmt"
	"html"
	"strings"
)

// chartSVG draws t's metric as grouped horizontal bars, one group per key
// and one bar per variant, each group scaled to its own largest value so
// that small and large inputs read alike. The subject's bar is coloured and
// labelled with its ratio to each other variant.
func chartSVG(t table) string {
	const (
		width, left, barH, gap, groupGap = 860, 150, 16, 4, 18
		plot                             = width - left - 230
	)
	colors := []string{"#2f7ed8", "#9aa5b1", "#c5cbd3", "#dde1e6"} // the subject first
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
			if v == t.Subject {
				for _, other := range t.Variants[1:] {
					if x, ok := t.ratio(r, other); ok {
						label += fmt.Sprintf(" (%.2f× %s)", x, other)
					}
				}
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", left+w+6, y+barH-4, html.EscapeString(label))
			y += barH + gap
		}
		y += groupGap
	}
	b.WriteString("</svg>\n")
	return b.String()
}
