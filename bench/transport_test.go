package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/bench/internal/benchserver"
)

// transportStreams is how many streams the stream transport keeps in the
// comparison of transports.
const transportStreams = 4

// transportVariants are the ways of calling the same model on the same
// server that the transport comparison measures: the generated client
// over gRPC (one ModelInfer call per request, or requests multiplexed over
// ModelStreamInfer streams) and over REST in either encoding, and a REST
// client written the obvious way with encoding/json and net/http.
var transportVariants = []struct {
	name string
	make func(tb testing.TB, srv *benchserver.Process, c clientCase) echoFunc
}{
	{"grpc", func(tb testing.TB, srv *benchserver.Process, c clientCase) echoFunc {
		return goaiEcho(tb, srv.Target(), c)
	}},
	{"stream", func(tb testing.TB, srv *benchserver.Process, c clientCase) echoFunc {
		return goaiEchoWith(tb, srv.Target(), c, goai.WithInsecure(), goai.WithStreamTransport(transportStreams))
	}},
	{"rest_binary", func(tb testing.TB, srv *benchserver.Process, c clientCase) echoFunc {
		return goaiEchoWith(tb, srv.URL, c, goai.WithInsecure(), goai.WithRESTEncoding(goai.RESTBinary))
	}},
	{"rest_json", func(tb testing.TB, srv *benchserver.Process, c clientCase) echoFunc {
		return goaiEchoWith(tb, srv.URL, c, goai.WithInsecure(), goai.WithRESTEncoding(goai.RESTJSON))
	}},
	{"plain_json", func(tb testing.TB, srv *benchserver.Process, c clientCase) echoFunc {
		client := &plainRESTClient{url: srv.URL + "/v2/models/" + c.model + "/infer", shape: c.shape}
		return client.echo
	}},
}

// plainRESTClient is a REST client of the Open Inference Protocol as one
// is commonly written: structs for the JSON body, json.Marshal into a
// fresh buffer, http.Post on net/http's default client, json.Decoder on
// the response body.
type plainRESTClient struct {
	url   string
	shape []int64
}

type plainTensor struct {
	Name     string    `json:"name"`
	Shape    []int64   `json:"shape"`
	Datatype string    `json:"datatype"`
	Data     []float32 `json:"data"`
}

type plainInferRequest struct {
	Inputs []plainTensor `json:"inputs"`
}

type plainInferResponse struct {
	ModelName string        `json:"model_name"`
	Outputs   []plainTensor `json:"outputs"`
	Error     string        `json:"error"`
}

func (p *plainRESTClient) echo(ctx context.Context, values []float32) ([]float32, error) {
	body, err := json.Marshal(plainInferRequest{Inputs: []plainTensor{{Name: "INPUT0", Shape: p.shape, Datatype: "FP32", Data: values}}})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out plainInferResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	// Drain what the decoder left, so that the connection is reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, out.Error)
	}
	for _, o := range out.Outputs {
		if o.Name == "OUTPUT0" {
			return o.Data, nil
		}
	}
	return nil, fmt.Errorf("no OUTPUT0 in the response")
}

// TestTransportsEcho checks that every variant of the transport
// comparison returns exactly what it sent.
func TestTransportsEcho(t *testing.T) {
	srv := benchServer(t)
	for _, c := range benchCases() {
		values := ramp(c.floats)
		for _, v := range transportVariants {
			got, err := v.make(t, srv, c)(context.Background(), values)
			if err != nil {
				t.Fatalf("%s n=%d: %v", v.name, c.floats, err)
			}
			if !slices.Equal(got, values) {
				t.Errorf("%s n=%d: echo differs from the input", v.name, c.floats)
			}
		}
	}
}

// BenchmarkTransport compares the generated client's transports on the
// same models of the same server (in a separate process): unary gRPC
// calls, the stream transport (WithStreamTransport), REST with JSON and
// with binary tensors, and a plain encoding/json + net/http client as the
// REST baseline. The stream transport is measured at 256 callers too,
// where it multiplexes most.
func BenchmarkTransport(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	for _, c := range benchCases() {
		values := ramp(c.floats)
		for _, concurrency := range []int{1, 16, 64, 256} {
			for _, v := range transportVariants {
				if concurrency == 256 && (v.name != "grpc" && v.name != "stream" || c.floats > 784) || c.floats > 784 && v.name == "stream" {
					continue
				}
				b.Run(fmt.Sprintf("%s/n=%d/c=%d", v.name, c.floats, concurrency), func(b *testing.B) {
					echo := v.make(b, srv, c)
					if _, err := echo(ctx, values); err != nil { // connect first
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.SetBytes(int64(8 * c.floats)) // sent and received
					runConcurrent(b, concurrency, srv, func() error {
						_, err := echo(ctx, values)
						return err
					})
				})
			}
		}
	}
}
