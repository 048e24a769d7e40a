package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// profileTable is a profile's measured shares.
type profileTable struct {
	profile
	Total  time.Duration // the profile's samples
	Shares []float64     // percent of Total, by profile.Shares
}

// command returns p's command with {dir} replaced by dir.
func (p profile) command(dir string) string { return strings.ReplaceAll(p.Command, "{dir}", dir) }

// run runs p's command through the shell, with {dir} the absolute path
// of dir.
func (p profile) run(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	cmd := p.command(abs)
	fmt.Fprintf(os.Stderr, "$ %s\n", cmd)
	c := exec.Command("sh", "-c", cmd)
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	return c.Run()
}

// measure reads p's profile in dir with `go tool pprof`, once per share.
func (p profile) measure(dir string) (profileTable, error) {
	path := filepath.Join(dir, p.File)
	if _, err := os.Stat(path); err != nil {
		return profileTable{}, err
	}
	t := profileTable{profile: p}
	for _, s := range p.Shares {
		part, total, err := pprofShare(path, s)
		if err != nil {
			return profileTable{}, fmt.Errorf("%s: %w", s.Name, err)
		}
		t.Total = total
		pct := 0.0
		if total > 0 {
			pct = 100 * float64(part) / float64(total)
		}
		t.Shares = append(t.Shares, pct)
	}
	return t, nil
}

// pprofShare returns the samples of the profile at path that s selects,
// and all of its samples.
func pprofShare(path string, s share) (part, total time.Duration, err error) {
	args := []string{"tool", "pprof", "-top", "-nodefraction=0", "-nodecount=1000000", "-focus=" + s.Focus}
	if s.Ignore != "" {
		args = append(args, "-ignore="+s.Ignore)
	}
	out, err := exec.Command("go", append(args, path)...).CombinedOutput()
	if strings.Contains(string(out), "matched no samples") {
		_, total, err := pprofShare(path, share{Focus: "."})
		return 0, total, err
	}
	if err != nil {
		return 0, 0, fmt.Errorf("go tool pprof: %v: %s", err, out)
	}
	return parseShowing(string(out))
}

// showing is pprof's summary of what its filters kept.
var showing = regexp.MustCompile(`Showing nodes accounting for ([^,]+), [^ ]+ of (\S+) total`)

// parseShowing reads pprof's summary line.
func parseShowing(out string) (part, total time.Duration, err error) {
	m := showing.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("no summary in pprof's output:\n%s", out)
	}
	if part, err = parseDuration(m[1]); err != nil {
		return 0, 0, err
	}
	total, err = parseDuration(m[2])
	return part, total, err
}

// parseDuration reads pprof's durations: "0", "20ms", "1.32s", "1mins".
func parseDuration(s string) (time.Duration, error) {
	if s == "0" {
		return 0, nil
	}
	if v, ok := strings.CutSuffix(s, "mins"); ok {
		f, err := strconv.ParseFloat(v, 64)
		return time.Duration(f * float64(time.Minute)), err
	}
	return time.ParseDuration(s)
}
