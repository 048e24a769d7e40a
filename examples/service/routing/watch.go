package routing

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// DefaultInterval is how often a [Watcher] reads its file when Interval is
// zero. Kubernetes takes up to the kubelet's sync period (a minute by
// default) plus its ConfigMap cache's TTL to bring a changed ConfigMap into
// a pod, so reading a small file every few seconds adds little delay and
// no measurable cost.
const DefaultInterval = 5 * time.Second

// Watcher follows a routing file and hands each new valid routing to
// OnUpdate. A file that cannot be read, does not parse, or fails Validate
// is reported to OnError and changes nothing: the last routing applied
// stays in force, so a bad edit never drops the canary split, or the
// service's traffic, on the floor.
//
// It polls the file's contents instead of watching file-system events.
// Kubernetes updates a ConfigMap volume by writing a new timestamped
// directory and renaming a `..data` symlink onto it; the file the pod
// reads is itself a symlink through `..data`. An inotify watch on the file
// follows the first symlink to the old directory and sees the swap, if at
// all, as the deletion of a file nobody reads any more; catching it needs
// a watch on the directory and care with every event sequence editors and
// kubelet produce. Reading the path again, through its symlinks, sees the
// new contents whatever way they arrived, on any file system.
//
// Set the fields before the first [Watcher.Poll] or [Watcher.Run] and do
// not change them afterwards. A Watcher is not safe for concurrent use:
// call Poll, then Run, from one goroutine at a time.
type Watcher struct {
	// Path is the routing file.
	Path string
	// Interval is how often Run reads the file; zero means
	// [DefaultInterval].
	Interval time.Duration
	// OnUpdate receives each new valid routing, in file order. It runs on
	// the goroutine of Poll or Run.
	OnUpdate func([]Route)
	// OnError, if set, receives Run's reasons for not applying the file.
	// Each distinct problem is reported once, not on every read.
	OnError func(error)
	// Validate, if set, checks a valid routing further before it is
	// applied; the service uses it to check the model's contract on every
	// version the file routes to, so that a canary of a version whose
	// tensors do not match the client is refused. A routing that fails
	// Validate is tried again at every read until it passes or the file
	// changes, since the cause (a version not loaded yet) may pass.
	Validate func(context.Context, []Route) error

	applied   []byte // contents last handed to OnUpdate
	rejected  []byte // contents last found invalid, not parsed again
	rejectErr error  // why rejected was invalid
	lastErr   string // message last reported, to report each problem once
}

// Poll reads the file once and applies it if it changed. It returns nil
// if the file is applied or unchanged, and otherwise why it was not
// applied. Call it once before Run to fail a service's start on a bad
// file: a pod that does not start keeps a rollout from going on, while the
// old pods keep serving.
func (w *Watcher) Poll(ctx context.Context) error {
	data, err := readFile(w.Path)
	if err != nil {
		return err
	}
	if w.applied != nil && bytes.Equal(data, w.applied) {
		return nil
	}
	if w.rejected != nil && bytes.Equal(data, w.rejected) {
		return w.rejectErr
	}
	routes, err := Parse(data)
	if err != nil {
		w.rejected, w.rejectErr = data, fmt.Errorf("routing file %s: %w", w.Path, err)
		return w.rejectErr
	}
	w.rejected, w.rejectErr = nil, nil
	if w.Validate != nil {
		if err := w.Validate(ctx, routes); err != nil {
			return fmt.Errorf("routing file %s: %w", w.Path, err)
		}
	}
	w.applied = data
	if w.OnUpdate != nil {
		w.OnUpdate(routes)
	}
	return nil
}

// Run polls the file every Interval, starting at once, until ctx is done,
// and returns ctx's error.
func (w *Watcher) Run(ctx context.Context) error {
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		w.report(w.Poll(ctx))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// report hands err to OnError unless it was the last one reported; nil
// (the file applied or unchanged) resets it, so a problem that comes back
// later is reported again.
func (w *Watcher) report(err error) {
	if err == nil {
		w.lastErr = ""
		return
	}
	if msg := err.Error(); msg != w.lastErr {
		w.lastErr = msg
		if w.OnError != nil {
			w.OnError(err)
		}
	}
}
