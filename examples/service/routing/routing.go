// Package routing reads the digits service's canary routing file: which
// versions of the model get what share of the calls. The file is JSON,
//
//	{"routes": [{"version": "1", "weight": 90}, {"version": "2", "weight": 10}]}
//
// and is read strictly, because a typo in a file that steers production
// traffic should stop a rollout, not be ignored: unknown or duplicate keys,
// keys in the wrong case, missing fields, trailing data, negative or
// fractional weights, empty or repeated versions are all errors. A
// [Watcher] follows the file as it changes, including the atomic symlink
// swap by which Kubernetes updates a ConfigMap volume.
package routing

import (
	"errors"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/json"
)

// Limits of a routing file. They bound what a broken or hostile file can
// make the service allocate and draw from; a real canary has a handful of
// routes.
const (
	// MaxFileBytes is the largest routing file accepted.
	MaxFileBytes = 64 << 10
	// MaxRoutes is the largest number of routes in a file.
	MaxRoutes = 32
	// MaxWeight is the largest weight of one route, so that the sum of
	// every weight fits any int.
	MaxWeight = 1_000_000
	// MaxVersionLen is the longest version string, in bytes.
	MaxVersionLen = 64
)

// ErrInvalid is matched, through [errors.Is], by every error that reports a
// routing file that is not valid (as opposed to one that could not be
// read).
var ErrInvalid = errors.New("invalid routing file")

// Route sends a share of the calls to one model version: Weight out of the
// sum of every route's weight. It has the fields of goai's route type, so
// the service converts one into the other field by field.
type Route struct {
	// Version is the model version, as the model server names it
	// (Triton: the version directory, "1", "2", ...).
	Version string
	// Weight is the route's share of calls, relative to the other routes;
	// 0 sends it none, which keeps a version listed while draining it.
	Weight int
}

// file is the document; pointers tell a missing field from a zero one.
type file struct {
	Routes *[]route `json:"routes"`
}

type route struct {
	Version *string `json:"version"`
	Weight  *int    `json:"weight"`
}

// Parse reads and checks a routing file's contents. The error of a file
// that does not parse or does not check matches [ErrInvalid].
func Parse(data []byte) ([]Route, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d allowed", ErrInvalid, len(data), MaxFileBytes)
	}
	var f file
	strict, err := json.UnmarshalStrict(data, &f)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(strict...))
	}
	if f.Routes == nil {
		return nil, fmt.Errorf(`%w: no "routes" list`, ErrInvalid)
	}
	rs := *f.Routes
	if len(rs) == 0 {
		return nil, fmt.Errorf(`%w: "routes" is empty; list at least one version`, ErrInvalid)
	}
	if len(rs) > MaxRoutes {
		return nil, fmt.Errorf("%w: %d routes, more than the %d allowed", ErrInvalid, len(rs), MaxRoutes)
	}
	out := make([]Route, 0, len(rs))
	seen := make(map[string]int, len(rs))
	total := 0
	for i, r := range rs {
		if r.Version == nil {
			return nil, fmt.Errorf(`%w: route %d has no "version"`, ErrInvalid, i)
		}
		if r.Weight == nil {
			return nil, fmt.Errorf(`%w: route %d (version %q) has no "weight"`, ErrInvalid, i, *r.Version)
		}
		v, w := *r.Version, *r.Weight
		if err := checkVersion(v); err != nil {
			return nil, fmt.Errorf("%w: route %d: %v", ErrInvalid, i, err)
		}
		if j, dup := seen[v]; dup {
			return nil, fmt.Errorf("%w: routes %d and %d both name version %q; give each version one route", ErrInvalid, j, i, v)
		}
		seen[v] = i
		if w < 0 || w > MaxWeight {
			return nil, fmt.Errorf("%w: route %d (version %q) has weight %d, outside [0, %d]", ErrInvalid, i, v, w, MaxWeight)
		}
		total += w
		out = append(out, Route{Version: v, Weight: w})
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: every route has weight 0; give at least one a positive weight", ErrInvalid)
	}
	return out, nil
}

// checkVersion accepts the version strings model servers use (Triton's are
// decimal integers; others use names like "v2" or "2024-06-01") and
// nothing that could smuggle whitespace or control characters into logs
// and metric labels.
func checkVersion(v string) error {
	if v == "" {
		return errors.New(`empty "version"; name the model version`)
	}
	if len(v) > MaxVersionLen {
		return fmt.Errorf("version of %d bytes, more than the %d allowed", len(v), MaxVersionLen)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("version %q has character %q; use letters, digits, '.', '_' or '-'", v, c)
		}
	}
	return nil
}

// Load reads and parses the routing file at path, following symlinks (a
// ConfigMap volume's file is a symlink into its current data directory).
func Load(path string) ([]Route, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	routes, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("routing file %s: %w", path, err)
	}
	return routes, nil
}

// readFile reads at most MaxFileBytes+1 bytes of path, so that a huge file
// is refused without being read whole.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("routing file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("routing file %s: %w", path, err)
	}
	return data, nil
}
