// Command digits-api is the digits service: it answers POST /classify with
// the digit an 8×8 glyph shows, by calling the digits model through the
// goai-generated client, and serves /healthz, /readyz and /metrics. Its
// settings are flags or DIGITS_* variables (package config); the README
// beside it describes the API, the settings and the shutdown.
//
// By default (-target inprocess) it starts goai's in-process model server
// on 127.0.0.1 serving the example digits model and calls that, so that
// the service runs without Triton:
//
//	go run ./cmd/digits-api -listen 127.0.0.1:8080
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/goai-dev/goai"
	digitsv1 "github.com/goai-dev/goai/examples/gen/digits/v1"
	"github.com/goai-dev/goai/examples/models/digits"
	"github.com/goai-dev/goai/examples/serve"
	"github.com/goai-dev/goai/examples/service/config"
	"github.com/goai-dev/goai/examples/service/httpapi"
	"github.com/goai-dev/goai/examples/service/routing"
	"github.com/goai-dev/goai/goaiprom"
	"github.com/goai-dev/goai/inferencetest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// InProcess is the -target that makes the service start and call the
// in-process model server: the default.
const InProcess = config.InProcess

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Environ(), os.Stderr, nil)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(os.Stderr, config.Usage())
	case err != nil:
		fmt.Fprintln(os.Stderr, "digits-api:", err)
		os.Exit(1)
	}
}

// run is the service: it loads the settings from args and environ, logs
// to logOut, serves until ctx ends and then shuts down (httpapi.Serve).
// listening, if set, is called with the HTTP address once it accepts.
func run(ctx context.Context, args, environ []string, logOut io.Writer, listening func(net.Addr)) error {
	cfg, err := config.Load(args, environ)
	if err != nil {
		return err
	}
	log, err := newLogger(logOut, cfg.LogLevel)
	if err != nil {
		return err
	}

	var closers []httpapi.Closer
	closeAll := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			_ = closers[i].Close()
		}
	}
	target, connOpts, err := modelServer(cfg)
	if err != nil {
		return err
	}
	if target == InProcess {
		srv, err := inProcessServer()
		if err != nil {
			return err
		}
		if err := srv.StartTCP(); err != nil {
			return err
		}
		log.Info("in-process model server", "addr", srv.Addr())
		target = srv.Target()
		closers = append(closers, httpapi.Closer{Name: "in-process model server", Close: func() error { srv.Stop(); return nil }})
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := goaiprom.New(reg)
	if err != nil {
		closeAll()
		return err
	}
	opts := append(slices.Clip(connOpts), metrics.ClientOption(), goai.WithLogger(log))
	client, err := digitsv1.NewDigitClassifierModelClient(target, opts...)
	if err != nil {
		closeAll()
		return fmt.Errorf("model client: %w", err)
	}
	// The client closes before the server it calls.
	closers = append(closers, httpapi.Closer{Name: "model client", Close: client.Close})

	if cfg.CheckModel {
		cctx, cancel := context.WithTimeout(ctx, cfg.CallTimeout)
		err := client.CheckModel(cctx)
		cancel()
		if err != nil {
			closeAll()
			return fmt.Errorf("checking the model's contract: %w", err)
		}
	}
	// The routing watcher checks a new routing on a client of its own, on
	// the same target, before the service's client takes it.
	probe, err := digitsv1.NewDigitClassifierModelClient(target, connOpts...)
	if err != nil {
		closeAll()
		return fmt.Errorf("model client: %w", err)
	}
	closers = append(closers, httpapi.Closer{Name: "routing probe client", Close: probe.Close})
	stopWatch, err := watchRouting(ctx, cfg, client, probe, log)
	if err != nil {
		closeAll()
		return err
	}
	closers = append(closers, httpapi.Closer{Name: "routing watcher", Close: stopWatch})

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		closeAll()
		return fmt.Errorf("listening: %w", err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "model", client.Model().String())
	if listening != nil {
		listening(ln.Addr())
	}
	h := httpapi.New(classifier{client}, httpapi.Options{
		Logger:       log,
		Metrics:      promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		CallTimeout:  cfg.CallTimeout,
		ReadyTimeout: cfg.ReadyTimeout,
	})
	// Serve closes in order: the watcher, the client, the in-process
	// server, each after the one that uses it.
	slices.Reverse(closers)
	err = httpapi.Serve(ctx, ln, h, httpapi.ServeOptions{
		DrainDelay:      cfg.DrainDelay,
		ShutdownTimeout: cfg.ShutdownTimeout,
		Closers:         closers,
	})
	log.Info("stopped", "err", err)
	return err
}

// newLogger returns the service's JSON logger at level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("config: -log-level %q: %w", level, err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// modelServer returns the client's target and its connection options from
// cfg: pool size, balancing policy, plaintext or TLS from the files.
func modelServer(cfg *config.Config) (string, []goai.Option, error) {
	opts := []goai.Option{
		goai.WithPoolSize(cfg.PoolSize),
		goai.WithDialOptions(grpc.WithDefaultServiceConfig(fmt.Sprintf(`{"loadBalancingConfig": [{%q: {}}]}`, cfg.LBPolicy))),
	}
	if cfg.Target == InProcess {
		return InProcess, append(opts, goai.WithInsecure()), nil
	}
	if cfg.Insecure {
		return cfg.Target, append(opts, goai.WithInsecure()), nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.TLSServerName}
	if cfg.TLSCA != "" {
		pem, err := os.ReadFile(cfg.TLSCA)
		if err != nil {
			return "", nil, fmt.Errorf("config: -tls-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return "", nil, fmt.Errorf("config: -tls-ca %s holds no PEM certificate", cfg.TLSCA)
		}
		tc.RootCAs = pool
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return "", nil, fmt.Errorf("config: -tls-cert/-tls-key: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return cfg.Target, append(opts, goai.WithTLSConfig(tc)), nil
}

// inProcessServer returns the model server of -target inprocess: the
// example digits network as versions 1 and 2 of model digits, so that a
// canary routing between them can be tried without Triton (on Triton,
// model_repository's two versions are two exported networks).
func inProcessServer() (*inferencetest.Server, error) {
	net, err := digits.Trained()
	if err != nil {
		return nil, err
	}
	m := serve.DigitsModel(net)
	m.Versions = []string{"1", "2"}
	srv := inferencetest.New()
	if err := srv.Register(m); err != nil {
		return nil, err
	}
	return srv, nil
}

// watchRouting applies the routing file, if cfg names one, once now (a
// bad file fails the start) and then every cfg.RoutingPoll until the
// returned stop is called.
func watchRouting(ctx context.Context, cfg *config.Config, client, probe *digitsv1.DigitClassifierModelClient, log *slog.Logger) (stop func() error, err error) {
	if cfg.RoutingFile == "" {
		return func() error { return nil }, nil
	}
	w := &routing.Watcher{
		Path:     cfg.RoutingFile,
		Interval: cfg.RoutingPoll,
		OnUpdate: func(rs []routing.Route) {
			if err := client.SetRoutes(goaiRoutes(rs)); err != nil {
				log.Error("routing not applied", "err", err)
				return
			}
			log.Info("routing applied", "routes", fmt.Sprint(rs))
		},
		OnError: func(err error) { log.Warn("routing file ignored; the last good routing stays", "err", err) },
	}
	if cfg.CheckModel {
		// goai's CheckModel checks the contract of the annotated version
		// only; every version the file routes to must at least be served
		// and ready before calls go to it, as the probe's Ready, which
		// follows its routes, says.
		w.Validate = func(ctx context.Context, rs []routing.Route) error {
			if err := probe.SetRoutes(goaiRoutes(rs)); err != nil {
				return err
			}
			cctx, cancel := context.WithTimeout(ctx, cfg.ReadyTimeout)
			defer cancel()
			return probe.Ready(cctx)
		}
	}
	if err := w.Poll(ctx); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = w.Run(wctx) })
	return func() error { cancel(); wg.Wait(); return nil }, nil
}

// goaiRoutes converts the routing file's routes to goai's.
func goaiRoutes(rs []routing.Route) []goai.Route {
	out := make([]goai.Route, len(rs))
	for i, r := range rs {
		out[i] = goai.Route{Version: r.Version, Weight: r.Weight}
	}
	return out
}

// classifier adapts the generated client to httpapi.Classifier.
type classifier struct {
	client *digitsv1.DigitClassifierModelClient
}

// Classify makes one call, not through a micro-batcher: a batch's calls
// cannot each report the version that answered it, which the response
// carries.
func (c classifier) Classify(ctx context.Context, pixels []float32) (httpapi.Result, error) {
	var info goai.CallInfo
	out, err := c.client.Classify(ctx, &digitsv1.Glyph{Pixels: pixels}, goai.Report(&info))
	if err != nil {
		return httpapi.Result{}, err
	}
	return httpapi.Result{Probs: out.GetProbs(), ModelVersion: info.Model.Version}, nil
}

// Ready is the client's Ready (the server and every version routed to
// ready) and no routed version's breaker open: half-open is ready, so that
// probe calls can close it.
func (c classifier) Ready(ctx context.Context) error {
	if err := c.client.Ready(ctx); err != nil {
		return err
	}
	model := c.client.Model()
	versions := []string{model.Version}
	if rs := c.client.Routes(); len(rs) > 0 {
		versions = versions[:0]
		for _, r := range rs {
			if r.Weight > 0 {
				versions = append(versions, r.Version)
			}
		}
	}
	var open []string
	for _, v := range versions {
		m := goai.ModelRef{Name: model.Name, Version: v}
		if c.client.BreakerState(m) == goai.BreakerOpen {
			open = append(open, m.String())
		}
	}
	if len(open) > 0 {
		return status.Errorf(codes.Unavailable, "circuit breaker open for %s", strings.Join(open, ", "))
	}
	return nil
}
