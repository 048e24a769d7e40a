package config

import (
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	c, err := Load(nil, []string{"DIGITS_TARGET=dns:///digits-triton:8001", "DIGITS_INSECURE=true", "HOME=/", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen: ":8080", Target: "dns:///digits-triton:8001", LBPolicy: "round_robin", PoolSize: 1, Insecure: true,
		CallTimeout: 2 * time.Second, ReadyTimeout: time.Second, ShutdownTimeout: 20 * time.Second,
		RoutingPoll: 5 * time.Second, CheckModel: true, LogLevel: "info",
	}
	if *c != want {
		t.Fatalf("Load = %+v\nwant   %+v", *c, want)
	}
}

func TestLoadEnvironmentAndFlags(t *testing.T) {
	env := []string{
		"DIGITS_TARGET=dns:///digits-triton.ml.svc.cluster.local:8001",
		"DIGITS_POOL_SIZE=4",
		"DIGITS_TLS_CA=/etc/digits-api/tls/ca.crt",
		"DIGITS_TLS_CERT=/etc/digits-api/tls/tls.crt",
		"DIGITS_TLS_KEY=/etc/digits-api/tls/tls.key",
		"DIGITS_TLS_SERVER_NAME=digits-triton",
		"DIGITS_ROUTING_FILE=/etc/digits-api/routing/routing.json",
		"DIGITS_SHUTDOWN_TIMEOUT=25s",
		"DIGITS_CHECK_MODEL=false",
	}
	c, err := Load([]string{"-pool-size=2", "-log-level", "debug"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.PoolSize != 2 {
		t.Errorf("PoolSize %d: the flag must override DIGITS_POOL_SIZE", c.PoolSize)
	}
	if c.TLSCA != "/etc/digits-api/tls/ca.crt" || c.TLSKey != "/etc/digits-api/tls/tls.key" || c.TLSServerName != "digits-triton" || c.Insecure {
		t.Errorf("TLS settings %+v", c)
	}
	if c.ShutdownTimeout != 25*time.Second || c.CheckModel || c.LogLevel != "debug" || c.RoutingFile == "" {
		t.Errorf("settings %+v", c)
	}
}

func TestLoadRefuses(t *testing.T) {
	base := []string{"DIGITS_TARGET=dns:///t:8001", "DIGITS_INSECURE=true"}
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		says []string
	}{
		{"misspelt variable", nil, append(base, "DIGITS_POOLSIZE=2"), []string{"unknown environment variable DIGITS_POOLSIZE", "DIGITS_POOL_SIZE"}},
		{"bad number", nil, append(base, "DIGITS_POOL_SIZE=two"), []string{`DIGITS_POOL_SIZE="two"`}},
		{"bad duration", nil, append(base, "DIGITS_CALL_TIMEOUT=2"), []string{`DIGITS_CALL_TIMEOUT="2"`, "parse error"}},
		{"bad bool", nil, append(base, "DIGITS_INSECURE=yes please"), []string{"DIGITS_INSECURE"}},
		{"unknown flag", []string{"-pool"}, base, []string{"flag provided but not defined: -pool"}},
		{"stray argument", []string{"serve"}, base, []string{`unexpected arguments ["serve"]`}},
		{"no target", []string{"-target="}, []string{"DIGITS_INSECURE=true"}, []string{"-target (DIGITS_TARGET): empty"}},
		{"TLS in process", []string{"-tls-ca=ca.pem"}, nil, []string{"-tls-ca (DIGITS_TLS_CA): set with -insecure or the in-process target"}},
		{"target with space", []string{"-target", "dns:///a b"}, base, []string{"has whitespace"}},
		{"pool too large", []string{"-pool-size=65"}, base, []string{"-pool-size (DIGITS_POOL_SIZE): 65"}},
		{"pool zero", []string{"-pool-size=0"}, base, []string{"-pool-size (DIGITS_POOL_SIZE): 0"}},
		{"unknown policy", []string{"-lb-policy=least_request"}, base, []string{`"least_request"; use round_robin or pick_first`}},
		{"insecure and TLS", []string{"-tls-ca=/ca.crt", "-tls-server-name=x"}, base, []string{"-tls-ca (DIGITS_TLS_CA): set with -insecure", "-tls-server-name (DIGITS_TLS_SERVER_NAME): set with -insecure"}},
		{"cert without key", []string{"-tls-cert=/tls.crt"}, []string{"DIGITS_TARGET=t:1"}, []string{"-tls-cert and -tls-key go together"}},
		{"zero call timeout", []string{"-call-timeout=0s"}, base, []string{"-call-timeout (DIGITS_CALL_TIMEOUT): 0s"}},
		{"negative drain", []string{"-drain-delay=-1s"}, base, []string{"-drain-delay (DIGITS_DRAIN_DELAY): -1s is negative"}},
		{"shutdown shorter than a call", []string{"-shutdown-timeout=1s", "-call-timeout=2s"}, base, []string{"shorter than -call-timeout"}},
		{"routing read too often", []string{"-routing-file=/r.json", "-routing-poll=100ms"}, base, []string{"at most once a second"}},
		{"log level", []string{"-log-level=trace"}, base, []string{`"trace"`}},
		{"every problem at once", []string{"-pool-size=0", "-log-level=x", "-listen="}, base, []string{"-pool-size", "-log-level", "-listen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(tc.args, tc.env)
			if err == nil {
				t.Fatalf("Load = %+v, want an error", c)
			}
			for _, s := range tc.says {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

func TestLoadHelp(t *testing.T) {
	if _, err := Load([]string{"-help"}, nil); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("Load(-help) = %v, want flag.ErrHelp", err)
	}
	u := Usage()
	for _, s := range []string{"-target, DIGITS_TARGET", "-pool-size, DIGITS_POOL_SIZE (default \"1\")", "-routing-file, DIGITS_ROUTING_FILE"} {
		if !strings.Contains(u, s) {
			t.Errorf("Usage does not list %q:\n%s", s, u)
		}
	}
}
