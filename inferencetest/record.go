package inferencetest

import (
	"maps"
	"sync"

	"github.com/goai-dev/goai/internal/oippb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// Stats is a snapshot of what a [Server] received, from [Server.Stats].
type Stats struct {
	// Calls counts the calls received by method name, such as
	// "ModelInfer", whatever became of them.
	Calls map[string]int
	// Models counts inference requests, ModelInfer calls and requests on
	// ModelStreamInfer streams, by the model name they asked for,
	// registered or not. Calls counts each stream once, as a call of
	// "ModelStreamInfer", however many requests it carries.
	Models map[string]ModelStats
	// Dropped counts inference requests received but no longer held by
	// [Server.Requests], because of the record limit.
	Dropped int
}

// ModelStats counts the inference requests for one model name.
type ModelStats struct {
	// Calls is the number of requests received.
	Calls int
	// Codes counts requests by the status code they ended with (for a
	// request on a stream, the code of the status it failed with before
	// its message went into an error_message); successes are under
	// codes.OK.
	Codes map[codes.Code]int
	// Injected counts calls ended by an injected fault (a failure, or a
	// hang or latency outlasting the caller) rather than by the model or
	// request validation.
	Injected int
}

// RecordedRequest is an inference request as the server received it,
// before faults or validation: what [Server.Requests] returns.
type RecordedRequest struct {
	// Model and Version are the model and version the request named.
	Model, Version string
	// ID is the request's id.
	ID string
	// Inputs are the request's input tensors as declared in it, in its
	// order: name, datatype and shape, checked or not.
	Inputs []RecordedTensor
	// Outputs names the outputs the request asked for, in its order.
	Outputs []string
	// RawInputs is the number of raw input contents the request carried
	// (raw_input_contents of the Open Inference Protocol, inputs in
	// tensor_content of TF Serving); over REST, the number of inputs whose
	// data came as binary chunks (Triton's binary tensor extension) rather
	// than JSON.
	RawInputs int
	// Stream is true for a request that arrived on a ModelStreamInfer
	// stream rather than as a ModelInfer call.
	Stream bool
	// REST is true for a request that came to the REST endpoints
	// ([Server.HTTPURL]), false for one over gRPC.
	REST bool
	// Message is the request as it arrived, in goai's private copy of
	// the protocol's messages: for goai's own tests, which read it through
	// its concrete type. A request over REST is there as the message a
	// gRPC client would have sent, every input's data raw. Do not modify
	// it.
	Message proto.Message
}

// RecordedTensor is one input tensor of a [RecordedRequest].
type RecordedTensor struct {
	// Name, Datatype and Shape are the tensor's, as the request gave
	// them.
	Name, Datatype string
	Shape          []int64
}

// recordStreamed returns req, which arrived on a stream, as a
// RecordedRequest.
func recordStreamed(req *oippb.ModelInferRequest) *RecordedRequest {
	r := recordInfer(req)
	r.Stream = true
	return r
}

// recordInfer returns req as a RecordedRequest.
func recordInfer(req *oippb.ModelInferRequest) *RecordedRequest {
	r := &RecordedRequest{
		Model:     req.GetModelName(),
		Version:   req.GetModelVersion(),
		ID:        req.GetId(),
		Inputs:    make([]RecordedTensor, len(req.GetInputs())),
		RawInputs: len(req.GetRawInputContents()),
		Message:   req,
	}
	for i, in := range req.GetInputs() {
		r.Inputs[i] = RecordedTensor{Name: in.GetName(), Datatype: in.GetDatatype(), Shape: in.GetShape()}
	}
	for _, out := range req.GetOutputs() {
		r.Outputs = append(r.Outputs, out.GetName())
	}
	return r
}

type recorder struct {
	mu      sync.Mutex
	limit   int
	ring    []*RecordedRequest // at most limit, oldest at next once full
	next    int
	dropped int
	calls   map[string]int
	models  map[string]*ModelStats
}

func (r *recorder) call(method string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.calls == nil {
		r.calls = map[string]int{}
	}
	r.calls[method]++
}

func (r *recorder) request(req *RecordedRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.limit == 0:
		r.dropped++
	case len(r.ring) < r.limit:
		r.ring = append(r.ring, req)
	default:
		r.ring[r.next] = req
		r.next = (r.next + 1) % r.limit
		r.dropped++
	}
}

func (r *recorder) outcome(model string, code codes.Code, injected bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.models == nil {
		r.models = map[string]*ModelStats{}
	}
	ms := r.models[model]
	if ms == nil {
		ms = &ModelStats{Codes: map[codes.Code]int{}}
		r.models[model] = ms
	}
	ms.Calls++
	ms.Codes[code]++
	if injected {
		ms.Injected++
	}
}

// Requests returns the inference requests received, oldest first: all of
// them, or the most recent ones up to the record limit (see
// [WithRecordLimit]). Requests are recorded on arrival, before faults or
// validation, so retried and rejected attempts are there too. They are
// the server's own: do not modify them.
func (s *Server) Requests() []*RecordedRequest {
	r := &s.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*RecordedRequest, 0, len(r.ring))
	out = append(out, r.ring[r.next:]...)
	return append(out, r.ring[:r.next]...)
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	r := &s.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Stats{
		Calls:   maps.Clone(r.calls),
		Models:  make(map[string]ModelStats, len(r.models)),
		Dropped: r.dropped,
	}
	if st.Calls == nil {
		st.Calls = map[string]int{}
	}
	for name, ms := range r.models {
		c := *ms
		c.Codes = maps.Clone(ms.Codes)
		st.Models[name] = c
	}
	return st
}

// ResetRecords forgets the recorded requests and zeroes the counters, such
// as between the phases of a test. Faults and models are kept.
func (s *Server) ResetRecords() {
	r := &s.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.ring)
	r.ring, r.next, r.dropped = r.ring[:0], 0, 0
	r.calls, r.models = nil, nil
}
