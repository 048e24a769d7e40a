// Package config reads the digits service's settings from flags and
// DIGITS_* environment variables (flags win), and checks them together, so
// that a Deployment whose settings cannot work fails at start with a
// message naming the variable, rather than at the first SIGTERM or the
// first call. The names, defaults and meanings are listed in the
// service's README and by -help.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// EnvPrefix starts the name of every environment variable the service
// reads. An unknown variable with the prefix is an error: it is a typo, or
// a setting of another version of the service.
const EnvPrefix = "DIGITS_"

// Config is the service's settings.
type Config struct {
	// Listen is the HTTP address (host:port) of the API, health and
	// metrics endpoints.
	Listen string
	// Target is the model server's gRPC target: dns:///host:port over a
	// headless Service, xds:///name under a service mesh's xDS
	// control plane, or host:port. The default, [InProcess], starts
	// goai's in-process model server and calls it.
	Target string
	// LBPolicy is the gRPC load-balancing policy over the addresses the
	// target resolves to: round_robin or pick_first.
	LBPolicy string
	// PoolSize is the number of gRPC client connections (each balanced
	// over every resolved address by LBPolicy).
	PoolSize int

	// Insecure connects in plaintext; without it the service connects
	// over TLS.
	Insecure bool
	// TLSCA is a PEM bundle of the CAs that sign the model server's
	// certificate; empty means the system's roots.
	TLSCA string
	// TLSCert and TLSKey are the client's certificate and key, PEM, for
	// mutual TLS; both or neither.
	TLSCert, TLSKey string
	// TLSServerName is the name checked in the server's certificate;
	// empty means the target's host name.
	TLSServerName string

	// CallTimeout bounds one /classify call, retries included.
	CallTimeout time.Duration
	// ReadyTimeout bounds one /readyz check.
	ReadyTimeout time.Duration
	// DrainDelay is how long the service keeps serving after SIGTERM
	// with /readyz failing, before it stops accepting; zero on
	// Kubernetes, where a preStop sleep does this.
	DrainDelay time.Duration
	// ShutdownTimeout is how long requests in flight get to finish once
	// the service stops accepting.
	ShutdownTimeout time.Duration

	// RoutingFile is the canary routing file; empty routes every call to
	// the version the model's annotation names.
	RoutingFile string
	// RoutingPoll is how often the routing file is read.
	RoutingPoll time.Duration
	// CheckModel checks the model's contract (CheckModel) at start and on
	// each version a new routing file routes to, before applying it.
	CheckModel bool

	// LogLevel is debug, info, warn or error.
	LogLevel string
}

// newFlagSet returns the service's flags, writing into c, with their
// defaults.
func newFlagSet(c *Config) *flag.FlagSet {
	fs := flag.NewFlagSet("digits-api", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Listen, "listen", ":8080", "HTTP listen address")
	fs.StringVar(&c.Target, "target", InProcess, "model server gRPC target, e.g. dns:///digits-triton:8001; "+InProcess+" starts an in-process model server on 127.0.0.1")
	fs.StringVar(&c.LBPolicy, "lb-policy", "round_robin", "gRPC load-balancing policy: round_robin or pick_first")
	fs.IntVar(&c.PoolSize, "pool-size", 1, "gRPC client connections, 1 to 64")
	fs.BoolVar(&c.Insecure, "insecure", false, "connect to the model server in plaintext")
	fs.StringVar(&c.TLSCA, "tls-ca", "", "PEM CA bundle for the model server's certificate (default: system roots)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM client certificate, for mutual TLS")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM client key, for mutual TLS")
	fs.StringVar(&c.TLSServerName, "tls-server-name", "", "name to check in the server's certificate (default: the target's host)")
	fs.DurationVar(&c.CallTimeout, "call-timeout", 2*time.Second, "bound on one /classify call, retries included")
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", time.Second, "bound on one /readyz check")
	fs.DurationVar(&c.DrainDelay, "drain-delay", 0, "serve this long after SIGTERM with /readyz failing (0 on Kubernetes: use a preStop sleep)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 20*time.Second, "time requests in flight get to finish at shutdown")
	fs.StringVar(&c.RoutingFile, "routing-file", "", "canary routing file (JSON); empty: the annotated version only")
	fs.DurationVar(&c.RoutingPoll, "routing-poll", 5*time.Second, "how often to read the routing file")
	fs.BoolVar(&c.CheckModel, "check-model", true, "check the model's contract at start and before routing to a version")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error")
	return fs
}

// EnvName returns the environment variable of a flag: DIGITS_ and the
// flag's name in upper case with '-' as '_'.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Load returns the settings that args (without the program name) and
// environ (as os.Environ returns it) give. Environment variables set
// defaults, flags override them. It returns flag.ErrHelp for -h or -help.
func Load(args, environ []string) (*Config, error) {
	c := &Config{}
	fs := newFlagSet(c)
	byEnv := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) { byEnv[EnvName(f.Name)] = f.Name })
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, EnvPrefix) {
			continue
		}
		name, ok := byEnv[k]
		if !ok {
			return nil, fmt.Errorf("config: unknown environment variable %s; known: %s", k, strings.Join(envNames(byEnv), ", "))
		}
		if err := fs.Set(name, v); err != nil {
			return nil, fmt.Errorf("config: %s=%q: %v", k, v, err)
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("config: unexpected arguments %q", fs.Args())
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

func envNames(byEnv map[string]string) []string {
	names := make([]string, 0, len(byEnv))
	for k := range byEnv {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// InProcess is the default Target: the service starts goai's in-process
// model server on 127.0.0.1, serving the example digits model, and calls
// it in plaintext, so that it runs with one command and no Triton.
const InProcess = "inprocess"

// check returns every problem of c at once.
func (c *Config) check() error {
	var errs []error
	bad := func(flagName, format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: -%s (%s): %s", flagName, EnvName(flagName), fmt.Sprintf(format, args...)))
	}
	if c.Listen == "" {
		bad("listen", "empty; give host:port, e.g. :8080")
	}
	switch {
	case c.Target == "":
		bad("target", "empty; give the model server's gRPC target, e.g. dns:///digits-triton:8001")
	case strings.ContainsAny(c.Target, " \t\r\n"):
		bad("target", "%q has whitespace", c.Target)
	}
	if c.LBPolicy != "round_robin" && c.LBPolicy != "pick_first" {
		bad("lb-policy", "%q; use round_robin or pick_first", c.LBPolicy)
	}
	if c.PoolSize < 1 || c.PoolSize > 64 {
		bad("pool-size", "%d; use 1 to 64", c.PoolSize)
	}
	if c.Insecure || c.Target == InProcess {
		for _, f := range []struct{ name, v string }{
			{"tls-ca", c.TLSCA}, {"tls-cert", c.TLSCert}, {"tls-key", c.TLSKey}, {"tls-server-name", c.TLSServerName},
		} {
			if f.v != "" {
				bad(f.name, "set with -insecure or the in-process target; choose plaintext or TLS")
			}
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "-tls-cert and -tls-key go together, for mutual TLS")
	}
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			bad(name, "%v; want a positive duration", d)
		}
	}
	positive("call-timeout", c.CallTimeout)
	positive("ready-timeout", c.ReadyTimeout)
	positive("shutdown-timeout", c.ShutdownTimeout)
	if c.DrainDelay < 0 {
		bad("drain-delay", "%v is negative", c.DrainDelay)
	}
	if c.ShutdownTimeout > 0 && c.ShutdownTimeout < c.CallTimeout {
		bad("shutdown-timeout", "%v is shorter than -call-timeout (%v): calls in flight at shutdown would be cut off", c.ShutdownTimeout, c.CallTimeout)
	}
	if c.RoutingFile != "" && c.RoutingPoll < time.Second {
		bad("routing-poll", "%v; read the file at most once a second", c.RoutingPoll)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "%q; use debug, info, warn or error", c.LogLevel)
	}
	return errors.Join(errs...)
}

// Usage returns the flags, their environment variables and defaults, as
// -help prints them.
func Usage() string {
	var b strings.Builder
	fs := newFlagSet(&Config{})
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(&b, "  -%s, %s (default %q)\n    \t%s\n", f.Name, EnvName(f.Name), f.DefValue, f.Usage)
	})
	return b.String()
}
