package demo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/goai-dev/goai/goaiprom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricsServer serves the demo clients' Prometheus metrics over HTTP
// while the demo runs, as a service's /metrics endpoint would.
type metricsServer struct {
	metrics *goaiprom.Metrics
	srv     *http.Server
	url     string
	done    chan error
}

// startMetrics registers the clients' metrics on a registry of their own
// and serves it at /metrics on addr (127.0.0.1:0 when empty).
func startMetrics(addr string) (*metricsServer, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	reg := prometheus.NewRegistry()
	m, err := goaiprom.New(reg)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serving /metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	s := &metricsServer{
		metrics: m,
		srv:     &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
		url:     "http://" + lis.Addr().String() + "/metrics",
		done:    make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(lis) }()
	return s, nil
}

// close stops serving.
func (s *metricsServer) close() error {
	err := s.srv.Close()
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Scrape is what one scrape of the demo's /metrics endpoint showed,
// summed over the series' labels.
type Scrape struct {
	// URL is the endpoint scraped.
	URL string
	// Calls, Attempts and Retries are the totals of goai_client_calls_total,
	// goai_client_attempts_total and goai_client_retries_total.
	Calls, Attempts, Retries int
	// Breakers is goai_client_breaker_state by model ("name@version").
	Breakers map[string]int
	// Excerpt is the scrape's samples of those metrics, in the text
	// format, as the endpoint wrote them.
	Excerpt []string
}

// excerpted are the metric families the demo prints from its scrape.
var excerpted = []string{"goai_client_calls_total", "goai_client_retries_total", "goai_client_breaker_state"}

// scrape reads the endpoint at url in the text format and sums what it
// shows.
func scrape(ctx context.Context, url string) (Scrape, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Scrape{}, err
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Scrape{}, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return Scrape{}, fmt.Errorf("scraping %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Scrape{}, fmt.Errorf("scraping %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return Scrape{}, fmt.Errorf("parsing the scrape of %s: %w", url, err)
	}
	s := Scrape{URL: url, Breakers: map[string]int{}}
	total := func(name string) int {
		var n float64
		for _, m := range fams[name].GetMetric() {
			n += m.GetCounter().GetValue()
		}
		return int(n)
	}
	s.Calls, s.Attempts, s.Retries = total("goai_client_calls_total"), total("goai_client_attempts_total"), total("goai_client_retries_total")
	for _, m := range fams["goai_client_breaker_state"].GetMetric() {
		var name, version string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "model":
				name = l.GetValue()
			case "version":
				version = l.GetValue()
			}
		}
		s.Breakers[name+"@"+version] = int(m.GetGauge().GetValue())
	}
	lines := bufio.NewScanner(bytes.NewReader(body))
	for lines.Scan() {
		for _, name := range excerpted {
			if strings.HasPrefix(lines.Text(), name+"{") {
				s.Excerpt = append(s.Excerpt, lines.Text())
			}
		}
	}
	return s, nil
}

func writeScrape(w io.Writer, s Scrape) {
	fmt.Fprintf(w, "\nscraped %s (calls, retries, breaker state by model; 0 is closed):\n", s.URL)
	for _, l := range s.Excerpt {
		fmt.Fprintf(w, "  %s\n", l)
	}
}
