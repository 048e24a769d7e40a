package routing

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Route
	}{
		{"canary 90/10", `{"routes":[{"version":"1","weight":90},{"version":"2","weight":10}]}`,
			[]Route{{"1", 90}, {"2", 10}}},
		{"one version", `{"routes":[{"version":"2","weight":1}]}`, []Route{{"2", 1}}},
		{"drained version kept listed", `{"routes":[{"version":"1","weight":0},{"version":"2","weight":100}]}`,
			[]Route{{"1", 0}, {"2", 100}}},
		{"whitespace and field order", "{\n  \"routes\": [\n    {\"weight\": 50, \"version\": \"v1.2_a-b\"}\n  ]\n}\n",
			[]Route{{"v1.2_a-b", 50}}},
		{"largest weights", `{"routes":[{"version":"1","weight":1000000},{"version":"2","weight":1000000}]}`,
			[]Route{{"1", MaxWeight}, {"2", MaxWeight}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Parse = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	manyRoutes := `{"routes":[` + strings.Repeat(`{"version":"x","weight":1},`, MaxRoutes) + `{"version":"y","weight":1}]}`
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty file", ``, "unexpected end"},
		{"not JSON", `routes: [1]`, "invalid character"},
		{"YAML is not accepted", "routes:\n- version: \"1\"\n  weight: 90\n", "invalid character"},
		{"trailing data", `{"routes":[{"version":"1","weight":1}]} {}`, "after top-level value"},
		{"no routes key", `{}`, `no "routes"`},
		{"null routes", `{"routes":null}`, `no "routes"`},
		{"empty routes", `{"routes":[]}`, "is empty"},
		{"unknown top-level key", `{"routes":[{"version":"1","weight":1}],"mode":"x"}`, `unknown field "mode"`},
		{"misspelt field", `{"routes":[{"version":"1","wieght":1}]}`, `unknown field "routes[0].wieght"`},
		{"key in the wrong case", `{"Routes":[{"version":"1","weight":1}]}`, `unknown field "Routes"`},
		{"duplicate key", `{"routes":[{"version":"1","weight":1,"weight":2}]}`, `duplicate field "routes[0].weight"`},
		{"missing weight", `{"routes":[{"version":"1"}]}`, `no "weight"`},
		{"missing version", `{"routes":[{"weight":1}]}`, `no "version"`},
		{"empty version", `{"routes":[{"version":"","weight":1}]}`, "empty"},
		{"numeric version", `{"routes":[{"version":1,"weight":1}]}`, "cannot unmarshal number"},
		{"version with a space", `{"routes":[{"version":"1 ","weight":1}]}`, "character ' '"},
		{"version with a newline", `{"routes":[{"version":"1\n","weight":1}]}`, `character '\n'`},
		{"long version", `{"routes":[{"version":"` + strings.Repeat("9", MaxVersionLen+1) + `","weight":1}]}`, "more than the 64"},
		{"duplicate version", `{"routes":[{"version":"1","weight":1},{"version":"1","weight":2}]}`, "both name version"},
		{"negative weight", `{"routes":[{"version":"1","weight":-1},{"version":"2","weight":10}]}`, "weight -1"},
		{"huge weight", `{"routes":[{"version":"1","weight":1000001}]}`, "weight 1000001"},
		{"weight beyond int64", `{"routes":[{"version":"1","weight":99999999999999999999}]}`, "cannot unmarshal number"},
		{"fractional weight", `{"routes":[{"version":"1","weight":0.5}]}`, "cannot unmarshal number 0.5"},
		{"string weight", `{"routes":[{"version":"1","weight":"90"}]}`, "cannot unmarshal string"},
		{"all weights zero", `{"routes":[{"version":"1","weight":0},{"version":"2","weight":0}]}`, "every route has weight 0"},
		{"too many routes", manyRoutes, "more than the 32"},
		{"too large", `{"routes":[{"version":"1","weight":1}]}` + strings.Repeat(" ", MaxFileBytes), "bytes, more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.in))
			if err == nil {
				t.Fatalf("Parse = %v, want an error", got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not match ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// Every prefix of a valid file but the whole is refused, without a panic.
func TestParseTruncated(t *testing.T) {
	full := `{"routes":[{"version":"1","weight":90},{"version":"2","weight":10}]}`
	for n := range len(full) {
		if _, err := Parse([]byte(full[:n])); err == nil {
			t.Errorf("Parse(%q) accepted a truncated file", full[:n])
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "routing.json")
	if err := os.WriteFile(good, []byte(`{"routes":[{"version":"2","weight":1}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Load(good)
	if err != nil || !reflect.DeepEqual(got, []Route{{"2", 1}}) {
		t.Fatalf("Load = %v, %v", got, err)
	}

	missing := filepath.Join(dir, "missing.json")
	if _, err := Load(missing); !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("Load(missing) = %v, want a not-exist error that is not ErrInvalid", err)
	}

	// A file far over the limit is refused after reading just past it.
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, make([]byte, 4*MaxFileBytes), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(huge); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "65537 bytes") {
		t.Errorf("Load(huge) = %v, want ErrInvalid after %d bytes", err, MaxFileBytes+1)
	}
}
