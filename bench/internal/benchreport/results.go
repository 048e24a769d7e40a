package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"

	"golang.org/x/perf/benchfmt"
)

// sample is every measurement of one benchmark, by unit.
type sample map[string][]float64

// readResults reads a `go test -bench` output file into samples keyed by
// benchmark name, without the "Benchmark" prefix and the -GOMAXPROCS suffix.
func readResults(path string) (map[string]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	results := map[string]sample{}
	r := benchfmt.NewReader(f, path)
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		name := gomaxprocs.ReplaceAllString(string(res.Name.Full()), "")
		s := results[name]
		if s == nil {
			s = sample{}
			results[name] = s
		}
		for _, v := range res.Values {
			s[v.Unit] = append(s[v.Unit], v.Value)
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("no benchmark results in %s", path)
	}
	return results, nil
}

var gomaxprocs = regexp.MustCompile(`-\d+$`)

// median returns the median of v, or NaN-free 0 for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// table is one comparison's figures.
type table struct {
	comparison
	Variants []string // the subject first, then by name
	Rows     []row
}

// row holds one key's medians by variant and unit.
type row struct {
	Key     string
	Medians map[string]map[string]float64 // variant → unit → median
	Counts  map[string]int                // variant → runs
}

func (c comparison) tabulate(results map[string]sample) table {
	t := table{comparison: c, Variants: []string{c.Subject}}
	byKey := map[string]*row{}
	var keys []string
	names := make([]string, 0, len(results))
	for name := range results {
		names = append(names, name)
	}
	sort.Strings(names)
	variantIdx, keyIdx := c.Pattern.SubexpIndex("variant"), c.Pattern.SubexpIndex("key")
	for _, name := range names {
		m := c.Pattern.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		variant, key := m[variantIdx], m[keyIdx]
		if alias, ok := c.Aliases[variant]; ok {
			variant = alias
		}
		if !slices.Contains(t.Variants, variant) {
			t.Variants = append(t.Variants, variant)
		}
		r := byKey[key]
		if r == nil {
			r = &row{Key: key, Medians: map[string]map[string]float64{}, Counts: map[string]int{}}
			byKey[key] = r
			keys = append(keys, key)
		}
		r.Medians[variant] = map[string]float64{}
		for unit, values := range results[name] {
			r.Medians[variant][unit] = median(values)
			r.Counts[variant] = max(r.Counts[variant], len(values))
		}
	}
	sort.SliceStable(keys, func(i, j int) bool { return naturalLess(keys[i], keys[j]) })
	for _, k := range keys {
		t.Rows = append(t.Rows, *byKey[k])
	}
	return t
}

// ratio returns how many times better the subject did than other on the
// comparison's metric (above 1 favours goai), and false when either is
// missing.
func (t table) ratio(r row, other string) (float64, bool) {
	subject, ok1 := r.Medians[t.Subject][t.Metric]
	v, ok2 := r.Medians[other][t.Metric]
	if !ok1 || !ok2 || subject == 0 || v == 0 {
		return 0, false
	}
	if t.Metric == "sec/op" {
		return v / subject, true
	}
	return subject / v, true
}

// naturalLess orders keys with embedded numbers by their value, so that
// n=784 comes before n=150528.
func naturalLess(a, b string) bool {
	na, nb := numbers.FindAllString(a, -1), numbers.FindAllString(b, -1)
	sa, sb := numbers.ReplaceAllString(a, "#"), numbers.ReplaceAllString(b, "#")
	if sa != sb {
		return sa < sb
	}
	for i := range min(len(na), len(nb)) {
		var x, y int
		fmt.Sscan(na[i], &x)
		fmt.Sscan(nb[i], &y)
		if x != y {
			return x < y
		}
	}
	return a < b
}

var numbers = regexp.MustCompile(`\d+`)
