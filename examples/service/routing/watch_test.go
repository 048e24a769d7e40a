package routing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// configMapDir lays out a directory the way the kubelet lays out a
// ConfigMap volume (pkg/volume/util/atomic_writer.go): the data lives in a
// hidden timestamped directory, `..data` is a symlink to it, and each key
// is a symlink through `..data`. An update writes a new timestamped
// directory, points a `..data_tmp` symlink at it, renames that over
// `..data` (the atomic step) and removes the old directory.
type configMapDir struct {
	t       *testing.T
	dir     string
	current string // name of the timestamped directory ..data points to
	n       int
}

func newConfigMapDir(t *testing.T, contents string) *configMapDir {
	c := &configMapDir{t: t, dir: t.TempDir()}
	c.current = c.writeData(contents)
	if err := os.Symlink(c.current, filepath.Join(c.dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "routing.json"), filepath.Join(c.dir, "routing.json")); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *configMapDir) path() string { return filepath.Join(c.dir, "routing.json") }

func (c *configMapDir) writeData(contents string) string {
	c.n++
	name := fmt.Sprintf("..2026_01_02_15_04_05.%09d", c.n)
	if err := os.Mkdir(filepath.Join(c.dir, name), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, name, "routing.json"), []byte(contents), 0o644); err != nil {
		c.t.Fatal(err)
	}
	return name
}

// update swaps in new contents as the kubelet does.
func (c *configMapDir) update(contents string) {
	next := c.writeData(contents)
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(next, tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(c.dir, c.current)); err != nil {
		c.t.Fatal(err)
	}
	c.current = next
}

// recorder collects a Watcher's callbacks. Its lock is for the race
// detector: a goroutine woken by the bubble's fake clock has no
// happens-before edge to what the test goroutine did while it slept.
type recorder struct {
	mu      sync.Mutex
	updates [][]Route
	errs    []error
}

func (r *recorder) watcher(path string) *Watcher {
	return &Watcher{
		Path:     path,
		Interval: 5 * time.Second,
		OnUpdate: func(rs []Route) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.updates = append(r.updates, rs)
		},
		OnError: func(err error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.errs = append(r.errs, err)
		},
	}
}

// snapshot returns the updates and errors so far.
func (r *recorder) snapshot() (updates [][]Route, errs []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]Route(nil), r.updates...), append([]error(nil), r.errs...)
}

// check fails t unless there were wantUpdates updates, the last one
// wantLast, and wantErrs errors.
func (r *recorder) check(t *testing.T, when string, wantUpdates int, wantLast []Route, wantErrs int) []error {
	t.Helper()
	updates, errs := r.snapshot()
	if len(updates) != wantUpdates || len(errs) != wantErrs {
		t.Fatalf("%s: updates %v, errors %v; want %d updates and %d errors", when, updates, errs, wantUpdates, wantErrs)
	}
	if wantLast != nil && !reflect.DeepEqual(updates[len(updates)-1], wantLast) {
		t.Fatalf("%s: last update %v, want %v", when, updates[len(updates)-1], wantLast)
	}
	return errs
}

const (
	split90 = `{"routes":[{"version":"1","weight":90},{"version":"2","weight":10}]}`
	split50 = `{"routes":[{"version":"1","weight":50},{"version":"2","weight":50}]}`
	split0  = `{"routes":[{"version":"1","weight":0},{"version":"2","weight":100}]}`
	broken  = `{"routes":[{"version":"1","weight":90},{"version":"2","wieght":10}]}`
)

// runWatcher starts w.Run in the bubble and returns a function that stops
// it and reports Run's result.
func runWatcher(t *testing.T, w *Watcher) (stop func()) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	}
}

// The canary steps of the deployment guide, delivered by ConfigMap swaps,
// each reach OnUpdate within one interval; a broken edit is reported once
// and leaves the last good routing in force.
func TestWatcherFollowsConfigMapSwaps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cm := newConfigMapDir(t, split90)
		var rec recorder
		stop := runWatcher(t, rec.watcher(cm.path()))
		defer stop()

		synctest.Wait()
		rec.check(t, "at start", 1, []Route{{"1", 90}, {"2", 10}}, 0)

		cm.update(split50)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		rec.check(t, "after the 50/50 swap", 2, []Route{{"1", 50}, {"2", 50}}, 0)

		cm.update(broken)
		time.Sleep(5 * time.Minute) // sixty reads of the same broken file
		synctest.Wait()
		errs := rec.check(t, "after a broken swap", 2, []Route{{"1", 50}, {"2", 50}}, 1)
		if !errors.Is(errs[0], ErrInvalid) || !strings.Contains(errs[0].Error(), "wieght") {
			t.Fatalf("error %v, want ErrInvalid naming the misspelt field", errs[0])
		}

		cm.update(split0)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		rec.check(t, "after the 0/100 swap", 3, []Route{{"1", 0}, {"2", 100}}, 1)

		// Rolling back is one more swap, to the old contents.
		cm.update(split90)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		rec.check(t, "after the rollback", 4, []Route{{"1", 90}, {"2", 10}}, 1)
	})
}

// A swap to identical contents (a ConfigMap re-applied unchanged) does not
// call OnUpdate again.
func TestWatcherIgnoresUnchangedContents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cm := newConfigMapDir(t, split90)
		var rec recorder
		stop := runWatcher(t, rec.watcher(cm.path()))
		defer stop()
		cm.update(split90)
		time.Sleep(time.Minute)
		synctest.Wait()
		rec.check(t, "after an identical swap", 1, nil, 0)
	})
}

// A file that disappears is reported once while missing; the routing in
// force does not change until a valid file is back.
func TestWatcherFileMissing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "routing.json")
		write := func(s string) {
			if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		remove := func() {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}
		write(split90)
		var rec recorder
		stop := runWatcher(t, rec.watcher(path))
		defer stop()
		synctest.Wait()

		remove()
		time.Sleep(time.Minute)
		synctest.Wait()
		if errs := rec.check(t, "while missing", 1, nil, 1); !errors.Is(errs[0], os.ErrNotExist) {
			t.Fatalf("error %v, want a not-exist error", errs[0])
		}

		// Back with the same contents: nothing to apply, nothing to report.
		write(split90)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		rec.check(t, "back unchanged", 1, nil, 1)

		// Missing again is reported again: the problem went away between.
		remove()
		time.Sleep(5 * time.Second)
		synctest.Wait()
		rec.check(t, "missing again", 1, nil, 2)

		write(split50)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		rec.check(t, "back changed", 2, []Route{{"1", 50}, {"2", 50}}, 2)
	})
}

// A routing that fails Validate is not applied, is reported once per
// distinct reason, and is tried again at every read until it passes.
func TestWatcherValidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cm := newConfigMapDir(t, split90)
		var rec recorder
		w := rec.watcher(cm.path())
		var (
			mu     sync.Mutex
			loaded = map[string]bool{"1": true, "2": true}
			checks int
		)
		w.Validate = func(ctx context.Context, rs []Route) error {
			mu.Lock()
			defer mu.Unlock()
			checks++
			for _, r := range rs {
				if !loaded[r.Version] {
					return fmt.Errorf("version %s is not loaded", r.Version)
				}
			}
			return nil
		}
		stop := runWatcher(t, w)
		defer stop()
		synctest.Wait()

		cm.update(`{"routes":[{"version":"2","weight":90},{"version":"3","weight":10}]}`)
		time.Sleep(time.Minute)
		synctest.Wait()
		errs := rec.check(t, "version 3 not loaded", 1, []Route{{"1", 90}, {"2", 10}}, 1)
		if !strings.Contains(errs[0].Error(), "version 3 is not loaded") || errors.Is(errs[0], ErrInvalid) {
			t.Fatalf("error %v, want the validation error, not ErrInvalid", errs[0])
		}
		mu.Lock()
		// One check at start, then one per read of the new file: at 5s,
		// 10s, ... 60s after the swap, or from the swap's read on.
		if checks < 1+12 {
			t.Errorf("Validate ran %d times; want it tried again at every read", checks)
		}
		loaded["3"] = true
		mu.Unlock()

		time.Sleep(5 * time.Second)
		synctest.Wait()
		rec.check(t, "version 3 loaded", 2, []Route{{"2", 90}, {"3", 10}}, 1)
	})
}

// Poll before Run fails a start on a bad file and applies a good one.
func TestWatcherPoll(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "routing.json")
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	w := rec.watcher(path)
	for range 2 { // the second Poll answers from the remembered rejection
		if err := w.Poll(t.Context()); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Poll = %v, want ErrInvalid", err)
		}
	}
	if err := os.WriteFile(path, []byte(split90), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(t.Context()); err != nil {
		t.Fatalf("Poll = %v after fixing the file", err)
	}
	if err := w.Poll(t.Context()); err != nil {
		t.Fatalf("second Poll of the same file = %v", err)
	}
	// Poll returns its errors; OnError is Run's.
	rec.check(t, "after four Polls", 1, []Route{{"1", 90}, {"2", 10}}, 0)
}
