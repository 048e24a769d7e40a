package main

import "regexp"

// comparison is one section of the report: benchmarks whose names match
// Pattern, grouped by the pattern's "key", and goai's variant (Subject)
// compared with every other variant of the same key.
//
// To add a comparison, append an entry to comparisons; its Command must
// write `go test -bench` output (-count for several rounds, whose medians
// the report shows) and File names where the report keeps it. Comparisons
// naming the same File and Command read one run of it, each comparing
// its own Subject with the variants its Pattern matches.
type comparison struct {
	Title   string
	File    string // output file in -dir
	Command string // what `make bench` runs to make File
	Pattern *regexp.Regexp
	Subject string // goai's variant, compared with each of the others
	// Aliases renames variants so that, say, binary_write and binary_read
	// share a column.
	Aliases map[string]string
	// Metric is the unit compared: "sec/op" (lower is better) or a custom
	// throughput unit such as "calls/s" (higher is better).
	Metric string
	// Extra lists further units shown as medians, such as "p99-ms".
	Extra []string
	// PerVariant lays the table out with one row per key and variant and
	// one column per unit, instead of one row per key and one column per
	// variant and unit: for comparisons of many variants and units.
	PerVariant bool
	Target     string // the target, in words
	Note       string // what to know when reading the figures, if anything
	Chart      bool   // draw this comparison as the report's chart
}

// transportCommand runs the transport comparison: 47 cases, bounded by
// time since a JSON call of 150528 floats takes milliseconds.
const transportCommand = "go -C bench test . -run '^$' -bench 'Transport/' -count 3 -benchtime 500ms"

var comparisons = []comparison{
	{
		Title:   "Tensor codec: FP32 encode and decode",
		File:    "codec.txt",
		Command: "go test ./tensor -run '^$' -bench '(Encode|Decode)/FP32/' -count 5 -benchtime 200ms",
		Pattern: regexp.MustCompile(`^(?P<key>(?:Encode|Decode)/FP32/\d+)/(?P<variant>\w+)$`),
		Subject: "goai",
		Aliases: map[string]string{"binary_write": "binary", "binary_read": "binary"},
		Metric:  "sec/op",
		Target:  "goai ≥ 0.8× memcpy at 150528 and 1048576 elements, within 50 ns of memcpy at 784; ≥ 10× binary_write/binary_read everywhere",
	},
	{
		Title:      "Generated client against the clients users write (server in a separate process)",
		File:       "client.txt",
		Command:    "go -C bench test . -run '^$' -bench 'Client/' -count 5 -benchtime 2s",
		Pattern:    regexp.MustCompile(`^Client/(?P<variant>\w+)/(?P<key>n=\d+/c=\d+)$`),
		Subject:    "goai",
		Metric:     "calls/s",
		Extra:      []string{"cpu-µs/call", "allocs/op", "B/op", "server-cpu-µs/call", "p50-ms", "p99-ms"},
		PerVariant: true,
		Target: "784 floats: ≥ 1.15× nvidia at c=1 and ≥ 1.3× at c=64, ≤ 100 allocs/call; 150528 floats: ≥ 4× nvidia at c=64; " +
			"bytes allocated per call about the payload (the answer's values), not 2–3× it",
		Note: "An FP32 identity model echoes n floats; c callers call at once. The server is the bench test binary run again " +
			"as a child process (bench/internal/benchserver, goai's wire codec, no recording), so this process's figures are the " +
			"client's own: cpu-µs/call is getrusage(RUSAGE_SELF) user+system time per call, allocs/op and B/op the Go runtime's " +
			"counts per call; server-cpu-µs/call is the server process's. Each -count round runs every client in turn. " +
			"nvidia: Triton's generated stubs on a plain grpc.ClientConn, encoded as Triton's Go example does " +
			"(PutUint32 into a scratch appended to a growing slice) and decoded with a binary.LittleEndian loop " +
			"(the example's binary.Read per element would allocate twice per element). trendyol: written by goai from the " +
			"README of Trendyol/go-triton-client (inputs with parameter maps, SetData with one binary.Write per element, " +
			"results gathered into one buffer and converted element by element), on the same stubs. " +
			"Both machine cores serve client and server alike, so calls/s is bounded by their sum; the CPU column shows the client's share",
		Chart: true,
	},
	{
		Title:      "gRPC against REST (JSON and binary tensors) through the same generated client, and a plain encoding/json + net/http client",
		File:       "transport.txt",
		Command:    transportCommand,
		Pattern:    regexp.MustCompile(`^Transport/(?P<variant>grpc|rest_binary|rest_json|plain_json)/(?P<key>n=\d+/c=(?:1|16|64))$`),
		Subject:    "grpc",
		Metric:     "calls/s",
		Extra:      []string{"cpu-µs/call", "allocs/op", "B/op", "server-cpu-µs/call", "p50-ms", "p99-ms"},
		PerVariant: true,
		Target:     "rest_binary within 1.5× of grpc at 784 floats and c=64 (grpc vs rest_binary ≤ 1.50×)",
		Note: "An FP32 identity model echoes n floats; c callers call at once; the server (bench/internal/benchserver, " +
			"inferencetest serving gRPC and REST from one process, separate from the client's) is the same for every variant. " +
			"grpc, rest_binary and rest_json are the same generated client, made with the server's gRPC target or with its " +
			"http:// URL and goai.WithRESTEncoding(RESTBinary) (every tensor a binary chunk of Triton's binary tensor extension) or " +
			"(RESTJSON) (JSON data arrays both ways). plain_json is the REST baseline written the obvious way: structs, json.Marshal, " +
			"http.DefaultClient, json.NewDecoder on the body. cpu-µs/call is the client process's CPU per call, server-cpu-µs/call " +
			"the server's: on 2 cores both share the machine, so calls/s is bounded by their sum",
	},
	{
		Title:      "REST-JSON: the generated client against a plain encoding/json + net/http client",
		File:       "transport.txt",
		Command:    transportCommand,
		Pattern:    regexp.MustCompile(`^Transport/(?P<variant>rest_json|plain_json)/(?P<key>n=\d+/c=\d+)$`),
		Subject:    "rest_json",
		Metric:     "calls/s",
		Extra:      []string{"cpu-µs/call", "allocs/op", "B/op", "server-cpu-µs/call"},
		PerVariant: true,
		Target:     "rest_json ≥ 3× plain_json",
		Note: "The same run as the table above, its JSON rows alone. Both clients send JSON data arrays to the same server, whose " +
			"JSON decoding and encoding (server-cpu-µs/call) then bounds calls/s alike: the client's own cost is cpu-µs/call",
	},
	{
		Title:      "Stream transport against unary calls (WithStreamTransport(4), server in a separate process)",
		File:       "transport.txt",
		Command:    transportCommand,
		Pattern:    regexp.MustCompile(`^Transport/(?P<variant>grpc|stream)/(?P<key>n=(?:16|784)/c=\d+)$`),
		Subject:    "stream",
		Metric:     "calls/s",
		Extra:      []string{"cpu-µs/call", "allocs/op", "server-cpu-µs/call", "p99-ms"},
		PerVariant: true,
		Target:     "stream ≥ 1.5× unary calls/s at 784 floats and c=64",
		Note: "The same run as the transport table above, its gRPC rows. The generated client of an FP32 identity model of n floats, " +
			"c callers at once. grpc (unary): one ModelInfer call, one HTTP/2 stream, per request. stream: requests multiplexed as messages, " +
			"matched by request id, over 4 long-lived ModelStreamInfer streams spread over the pool's connections. " +
			"Triton answers a stream's requests in order, so at c=1 the stream transport saves the stream's setup only",
	},
	{
		Title:   "Streaming decode: a decoupled model's 1000-response token stream",
		File:    "streamdecode.txt",
		Command: "go -C bench test . -run '^$' -bench 'StreamDecode' -benchmem -count 5",
		Pattern: regexp.MustCompile(`^StreamDecode/(?P<variant>\w+)(?P<key>)$`),
		Subject: "goai",
		Metric:  "sec/op",
		Extra:   []string{"allocs/response", "B/response"},
		Target:  "a few allocations per response",
		Note:    "One op is one call of 1000 responses (INT64 [1] each) through goaiimpl.Generate; allocs/response is the client's allocations per response",
	},
	{
		Title:      "TF Serving: the generated client against a hand-written TF Serving client (server in a separate process)",
		File:       "tfserving.txt",
		Command:    "go -C bench test . -run '^$' -bench 'TFServingClient/' -count 5 -benchtime 2s",
		Pattern:    regexp.MustCompile(`^TFServingClient/(?P<variant>\w+)/(?P<key>n=\d+/c=\d+)$`),
		Subject:    "goai",
		Metric:     "calls/s",
		Extra:      []string{"cpu-µs/call", "allocs/op", "B/op", "server-cpu-µs/call", "p50-ms", "p99-ms"},
		PerVariant: true,
		Target:     "goai ≥ the hand-written client at every size and concurrency, with fewer allocations and bytes per call",
		Note: "The same identity models and server process as the client comparison, called through TF Serving's " +
			"PredictionService.Predict, which the server answers in float_val as TF Serving does by default. goai sends " +
			"tensor_content from the message's values and reads the packed float_val. handwritten: stubs generated from the " +
			"real tensorflow_serving/apis protos on a plain grpc.ClientConn, a TensorProto filled by appending each value to " +
			"float_val, and the answer's float_val copied out element by element, as TF Serving Go clients are usually written",
	},
	{
		Title:   "Micro-batching against single-item calls (server cost 1 ms per request, concurrency 256)",
		File:    "microbatch.txt",
		Command: "go test . -run '^$' -bench 'MicroBatch' -benchtime 2000x -count 3",
		Pattern: regexp.MustCompile(`^MicroBatch/(?P<variant>\w+)(?P<key>)$`),
		Subject: "batched",
		Metric:  "calls/s",
		Extra:   []string{"p50-ms", "p99-ms"},
		Target:  "≥ 5× throughput; p99 ≤ max_delay + 2 × the server's batch time",
	},
	{
		Title:   "Connection pool: 4 connections against 1 (server capped at 100 streams per connection, fixed cost per call, concurrency 512)",
		File:    "pool.txt",
		Command: "go -C bench test . -run '^$' -bench 'Pool/' -count 3 -benchtime 3000x",
		Pattern: regexp.MustCompile(`^Pool/(?P<key>cost=\w+)/(?P<variant>conns=\d+)$`),
		Subject: "conns=4",
		Metric:  "calls/s",
		Extra:   []string{"p99-ms"},
		Target:  "≥ 1.5× with 4 connections at 2 ms per call. On 2 cores loopback gRPC is CPU-bound below the stream cap at 2 ms, so the 20 ms row shows where a pool pays",
	},
	{
		Title:   "Resilient call path against the bare client (pool, breaker, retry, budget, limits idle)",
		File:    "callpath.txt",
		Command: "go test . -run '^$' -bench 'CallPath' -benchmem -count 5",
		Pattern: regexp.MustCompile(`^CallPath/(?P<variant>\w+)/(?P<key>c=\d+)$`),
		Subject: "goai",
		Metric:  "sec/op",
		Extra:   []string{"allocs/op"},
		Target:  "≥ 0.97× throughput, at most 5 extra allocations per call",
	},
	{
		Title:   "Observability: the generated client with Prometheus metrics and OpenTelemetry tracing against without (server in a separate process)",
		File:    "observability.txt",
		Command: "go -C bench test . -run '^$' -bench 'Observability/' -count 5 -benchtime 20000x",
		Pattern: regexp.MustCompile(`^Observability/(?P<key>c=\d+)(?P<variant>)$`),
		Metric:  "throughput-ratio",
		Extra: []string{"cpu-ratio", "extra-allocs/call", "off-calls/s", "observed-calls/s", "off-cpu-µs/call", "observed-cpu-µs/call",
			"off-allocs/call"},
		Target: "throughput-ratio ≥ 0.97 (within 3% of the client without them), extra-allocs/call ≤ 2",
		Note: "The client of the client comparison at 784 floats, without observability (off) and with the two options " +
			"the README's Observability section adds (observed): goaiprom's metrics on a registry and goaiotel's tracing " +
			"through OpenTelemetry's no-op tracer provider, which is what tracing costs goai when the provider's exporter " +
			"sends nowhere. The two clients take turns in blocks of calls in one benchmark, so that both see the same load: " +
			"throughput-ratio is observed's calls/s over off's and cpu-ratio observed's client CPU per call over off's, " +
			"each the median over the pairs of blocks; extra-allocs/call is what the options add to the client's allocations " +
			"per call (off-allocs/call). The calls/s and CPU columns are each client's totals over the run",
	},
}

// profile is a section of the report that runs a benchmark under the CPU
// profiler and reports which share of the process's samples each of
// Shares selects, with pprof's -focus and -ignore: the cost of a layer of
// the client, which throughput alone hides behind the server's.
type profile struct {
	Title string
	File  string // the profile, in -dir
	// Command writes File; "{dir}" in it stands for -dir (an absolute
	// path when run).
	Command string
	Shares  []share
	Target  string
	Note    string
}

// share is a part of a profile: the samples with a frame matching Focus
// and none matching Ignore (regular expressions of function names, as
// pprof takes them).
type share struct {
	Name          string
	Focus, Ignore string
}

var profiles = []profile{
	{
		Title: "Client CPU by layer: the generated client at 784 floats, 64 callers",
		File:  "cpu784.pprof",
		Command: "go -C bench test . -run '^$' -bench 'Client/goai/n=784/c=64$' -benchtime 100000x " +
			"-cpuprofile {dir}/cpu784.pprof -o {dir}/bench.test",
		Shares: []share{
			{Name: "resilience: breaker, retry, budget, limits, hooks, timeouts (the call path outside its attempt)",
				Focus: `goai\.\(\*Client\)\.invokeWith$`, Ignore: `goai\.\(\*inferAttempts\)\.attempt$`},
			{Name: "resilience: the pool's send-size check and connection pick",
				Focus: `goai\.\(\*Pool\)\.Invoke$`, Ignore: `grpc\.\(\*ClientConn\)\.Invoke$`},
			{Name: "encoding and decoding the messages' tensors (goaiimpl, generated mappers)",
				Focus: `goaiimpl\.Infer\[`, Ignore: `goai\.\(\*Client\)\.infer$`},
			{Name: "the request and response as OIP messages (internal/oip)",
				Focus: `oip\.Request$|oip\.Response$`},
			{Name: "the wire codec (marshal and unmarshal)",
				Focus: `wirecodec\.Codec\.(Marshal|Unmarshal)$`},
			{Name: "grpc-go's call, transport and HTTP/2, and the runtime under them",
				Focus: `grpc\.\(\*ClientConn\)\.Invoke$|transport\.|http2\.`, Ignore: `wirecodec\.`},
		},
		Target: "the resilience layers (both first rows) ≤ 3% of client CPU per call",
		Note: "Shares of all samples of the benchmark process, which holds only the client (the server runs in its own); " +
			"rows may overlap where one layer calls another, and the rest is the scheduler, the garbage collector and the benchmark's loop",
	},
}

// missing lists the comparisons the report owes but cannot measure yet.
var missing []struct{ Title, Why string }
