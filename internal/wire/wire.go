// Package wire holds the protocol-neutral form of what goai's transports
// carry: an inference request and response as lists of tensors, a model's
// metadata, and readiness. Each transport (the Open Inference Protocol over
// gRPC or REST, TF Serving's gRPC or REST API) translates between these
// and its own messages, and enforces its own protocol's rules while doing
// so, so that the generated mappers and the call path above it never see
// a protocol's peculiarities.
//
// Tensors are [tensor.Tensor]: a name, a datatype, the full shape on the
// wire (batch dimension included) and raw little-endian data (BYTES
// elements framed by 4-byte little-endian lengths), whatever form the
// protocol carried them in.
package wire

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc"
)

// Request is one inference request.
type Request struct {
	// Model and Version name the model; an empty Version lets the server
	// choose.
	Model, Version string
	// ID is the request's id, echoed by servers that support one; empty
	// for none.
	ID string
	// Inputs are the request's tensors, in the order the model declares
	// them.
	Inputs []tensor.Tensor
	// Outputs names the outputs wanted, in order; nil asks for all.
	Outputs []string
}

// Response is the answer to a [Request].
type Response struct {
	// Model and Version are the model that served the request, as the
	// server reports them; either may be empty.
	Model, Version string
	// ID is the request's id as echoed.
	ID string
	// Outputs are the response's tensors, each name at most once, with
	// data the transport has checked against the protocol's layout rules
	// (not yet against the declared contract: that is the caller's).
	Outputs []tensor.Tensor
	// Elements, when not nil, holds for each output of datatype BYTES that
	// the protocol carried element by element (typed contents, TF
	// Serving's string_val, JSON strings) its elements, unframed; that
	// output's Raw is then nil. It saves framing them only to unframe them
	// again: each element would cost its 4-byte length and a copy.
	Elements [][][]byte
}

// ModelMetadata is what a server reports of a model's contract.
type ModelMetadata struct {
	// Name is the model's name.
	Name string
	// Versions lists the versions the server has, in its order.
	Versions []string
	// Platform is the server's name for the model's framework, such as
	// "onnxruntime_onnx"; empty if unknown.
	Platform string
	// Inputs and Outputs are the model's tensors.
	Inputs, Outputs []TensorMetadata
}

// TensorMetadata describes one tensor of a model's metadata.
type TensorMetadata struct {
	// Name is the tensor's name.
	Name string
	// Datatype is the Open Inference Protocol's datatype name ("FP32",
	// "BYTES", ...), as the server reports it, or translated to those
	// names from another protocol's types; it may name a type goai does
	// not know.
	Datatype string
	// Shape is the tensor's full shape, batch dimension included; -1
	// marks a dimension of any size. Nil when the server reports none
	// (an unknown rank).
	Shape []int64
}

// Transport carries requests to one model server over one protocol. The
// call path above it makes each attempt of a call through one method of a
// Transport and decides on retries, the breaker and fallbacks from the
// error it returns, so every Transport reports failures the same way: as
// errors carrying a gRPC status code ([google.golang.org/grpc/status]),
// the server's errors mapped to the code a gRPC server would have sent
// (HTTP 400 → INVALID_ARGUMENT, 404 → NOT_FOUND, 503 → UNAVAILABLE, ...),
// and anything that went wrong on the client without a code left as a
// plain error. A Transport is safe for concurrent use.
type Transport interface {
	// Infer sends req and returns the server's response.
	Infer(ctx context.Context, req *Request, a *Attempt) (*Response, error)
	// ModelMetadata returns the metadata of version of model ("" for the
	// server's choice).
	ModelMetadata(ctx context.Context, model, version string, a *Attempt) (*ModelMetadata, error)
	// ModelReady reports whether version of model is ready to serve.
	ModelReady(ctx context.Context, model, version string, a *Attempt) (bool, error)
	// ServerReady reports whether the server is ready to serve.
	ServerReady(ctx context.Context, a *Attempt) (bool, error)
	// ServerLive reports whether the server is alive.
	ServerLive(ctx context.Context, a *Attempt) (bool, error)
	// Close releases what the Transport holds (connections it made).
	Close() error
}

// Attempt carries one attempt's settings to a [Transport], and back what
// the server said about retrying. A nil *Attempt means no settings and no
// report.
type Attempt struct {
	// GRPC are call options for the RPC of a gRPC transport; other
	// transports ignore them.
	GRPC []grpc.CallOption

	// Set by the Transport from the server's answer.

	// Pushback is the delay the server asked for before a retry (gRPC's
	// grpc-retry-pushback-ms trailer, HTTP's Retry-After); valid when
	// HasPushback is true.
	Pushback    time.Duration
	HasPushback bool
	// NoRetry is true when the server asked the client not to retry (for
	// instance with a negative or malformed pushback).
	NoRetry bool
}

// Errors a Transport wraps, alongside its gRPC code, for a message over a
// size limit of the client's own: it says nothing of the server's health,
// and sending the same message again cannot help, so the call path neither
// retries it nor holds it against the server's breaker. A server's
// refusal of a message over its own limit (gRPC's RESOURCE_EXHAUSTED
// status, HTTP 413) wraps neither: it is the server's answer.
var (
	// ErrRequestTooLarge is wrapped by the error for a request over the
	// client's send limit, which the Transport did not send. The call
	// path reports it as goai's ErrMessageTooLarge.
	ErrRequestTooLarge = errors.New("request larger than the client's send limit")
	// ErrResponseTooLarge is wrapped by the error for a response over the
	// client's receive limit, which the Transport stopped reading. The
	// gRPC transport cannot wrap it, grpc-go reading the response
	// itself; the call path tells grpc-go's error from a server's by the
	// trailer instead.
	ErrResponseTooLarge = errors.New("response larger than the client's receive limit")
)

// TensorError is a tensor that a transport could not carry between its
// protocol's form and the neutral one, such as a response whose outputs
// break the protocol's layout rules. The call path reports it to the
// caller as goai's own TensorError; it counts as the server having
// answered, so it is neither retried nor held against the breaker, as an
// answer that does not match the declared contract is not.
type TensorError struct {
	// Tensor is the tensor's name, cut short if the server's was long.
	Tensor string
	// Output is true for a response's tensor.
	Output bool
	// Message says what is wrong.
	Message string
	// Err is the error of package tensor beneath, or nil.
	Err error
}

// Error returns the message, naming the tensor.
func (e *TensorError) Error() string {
	kind := "input"
	if e.Output {
		kind = "output"
	}
	return "goai: " + kind + " " + strconv.Quote(e.Tensor) + ": " + e.Message
}

// Unwrap returns e.Err.
func (e *TensorError) Unwrap() error { return e.Err }

// StreamTransport is a [Transport] that can also send a request to a
// decoupled model, one that answers a request with any number of
// responses (an LLM's tokens, say), such as Triton's over ModelStreamInfer.
type StreamTransport interface {
	Transport
	// InferStream sends req and returns the stream of its responses.
	// ctx bounds the stream: when it is done, the stream ends and the
	// server is told to cancel the request. Failures are reported as by
	// Infer, from InferStream or from the stream's Recv.
	InferStream(ctx context.Context, req *Request, a *Attempt) (Stream, error)
}

// Stream is the responses to one request of a [StreamTransport]. It is not
// safe for concurrent use.
type Stream interface {
	// Recv waits for the next response. final is true when the request
	// is complete: resp is then its last response, or nil when the server
	// marked the end with an empty response (Triton's
	// triton_enable_empty_final_response) or by ending the stream. A
	// request the server failed ends with an error, a
	// [*ResponseError] when the server reported it in band. After final
	// or an error, Recv must not be called again.
	Recv() (resp *Response, final bool, err error)
	// Close ends the stream, telling the server to cancel the request if
	// it is not complete, and releases what the stream holds. It may be
	// called more than once, and after the request is complete.
	Close()
}

// ResponseError is a failure that a server reported for one request in
// band, as a response of a stream rather than as the stream's status:
// Triton's ModelStreamInferResponse.error_message, which keeps the stream
// open for its other requests. It carries the server's message alone: the
// protocol gives it no status code.
type ResponseError struct {
	// Message is the server's message, cut short if it was long.
	Message string
}

// Error returns the server's message.
func (e *ResponseError) Error() string { return e.Message }
