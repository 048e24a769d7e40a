package oiphttp

import (
	"fmt"
	"unicode/utf8"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
)

// HeaderLength is the header of Triton's binary extension that gives the
// byte length of the JSON part of a body whose binary chunks follow it.
const HeaderLength = "Inference-Header-Content-Length"

// EncodeOptions are a client's choices in encoding a request. The zero
// value is the default: binary chunks for inputs from
// [DefaultBinaryThreshold] bytes, outputs asked for binary.
type EncodeOptions struct {
	// BinaryThreshold is the raw size in bytes from which an input is
	// sent as a binary chunk; 0 means [DefaultBinaryThreshold], 1 sends
	// every non-empty input binary. A negative value never sends binary,
	// for servers without the extension: an input JSON cannot carry
	// (FP16, BF16, NaN or infinity, BYTES that are not UTF-8) is then an
	// error.
	BinaryThreshold int
	// JSONOutputs asks for outputs as JSON data rather than binary
	// chunks, for servers without the extension. Triton cannot send FP16
	// or BF16 outputs that way.
	JSONOutputs bool
}

func (o EncodeOptions) threshold() int {
	if o.BinaryThreshold == 0 {
		return DefaultBinaryThreshold
	}
	return o.BinaryThreshold
}

// EncodeRequest appends the JSON header of req's body (§A8 of the
// protocol notes: "id", "parameters", "inputs", "outputs") to dst, and
// the binary chunks of the inputs sent binary to chunks, in input order;
// the body is the header followed by the chunks, which alias the inputs'
// Raw: nothing is copied (a zero-size input sent binary has a chunk of
// no bytes). If chunks come back non-empty, the request needs an
// [HeaderLength] header of len(header). The model and version travel in
// the URL, not the body.
//
// Inputs must be valid tensors ([tensor.Tensor.Validate]) with UTF-8
// names, and the id and output names UTF-8; otherwise the error is an
// [*Error] with code INVALID_ARGUMENT, as a gRPC client reports a
// request it refuses to send.
func EncodeRequest(dst []byte, chunks [][]byte, req *wire.Request, opts EncodeOptions) (header []byte, binary [][]byte, err error) {
	threshold := opts.threshold()
	if !utf8.ValidString(req.ID) {
		return dst, chunks, newError(codes.InvalidArgument, nil, "request id %q is not valid UTF-8", req.ID)
	}
	dst = append(dst, '{')
	if req.ID != "" {
		dst = append(dst, `"id":`...)
		dst = AppendJSONString(dst, req.ID)
		dst = append(dst, ',')
	}
	if !opts.JSONOutputs && len(req.Outputs) == 0 {
		// All outputs, all binary: the request-level switch. Named
		// outputs get theirs one by one below.
		dst = append(dst, `"parameters":{"binary_data_output":true},`...)
	}
	dst = append(dst, `"inputs":[`...)
	for i := range req.Inputs {
		t := &req.Inputs[i]
		if err := checkTensor(t); err != nil {
			return dst, chunks, newError(codes.InvalidArgument, err, "input %q: %v", t.Name, err)
		}
		bin, err := binaryFor(t, threshold)
		if err != nil {
			return dst, chunks, newError(codes.InvalidArgument, err, "%v", err)
		}
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTensor(dst, t, bin)
		if bin {
			chunks = append(chunks, t.Raw)
		}
	}
	dst = append(dst, ']')
	if len(req.Outputs) > 0 {
		dst = append(dst, `,"outputs":[`...)
		for i, name := range req.Outputs {
			if !utf8.ValidString(name) {
				return dst, chunks, newError(codes.InvalidArgument, nil, "output name %q is not valid UTF-8", name)
			}
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"name":`...)
			dst = AppendJSONString(dst, name)
			if !opts.JSONOutputs {
				dst = append(dst, `,"parameters":{"binary_data":true}`...)
			}
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}'), chunks, nil
}

// ParseHeaderLength reads the value of an [HeaderLength] header: -1 when
// absent (the whole body is JSON), else a byte count. A value that is not
// a non-negative decimal integer, or exceeds bodyLen, is an error
// wrapping [ErrMalformed].
func ParseHeaderLength(values []string, bodyLen int) (int, error) {
	switch len(values) {
	case 0:
		return -1, nil
	case 1:
	default:
		return 0, malformed("%s given %d times", HeaderLength, len(values))
	}
	n, ok := parseDigits(values[0])
	if !ok || values[0] == "" {
		return 0, malformed("%s %q is not a byte count", HeaderLength, clip([]byte(values[0])))
	}
	if n > uint64(bodyLen) {
		return 0, malformed("%s %d exceeds the body's %d bytes", HeaderLength, n, bodyLen)
	}
	return int(n), nil
}

// splitBody returns the JSON part of body and its binary chunks, given
// the [HeaderLength] value (-1 for none).
func splitBody(body []byte, headerLen int) (js, chunks []byte, err error) {
	switch {
	case headerLen < 0:
		return body, nil, nil
	case headerLen > len(body):
		return nil, nil, malformed("%s %d exceeds the body's %d bytes", HeaderLength, headerLen, len(body))
	}
	return body[:headerLen:headerLen], body[headerLen:], nil
}

// attachChunks gives each tensor sent binary its chunk from chunks, in
// order, aliasing it, and checks that the chunks are exactly used up.
func attachChunks(ts []tensorJSON, chunks []byte, headerLen int) error {
	off := 0
	for i := range ts {
		tj := &ts[i]
		if tj.binSize < 0 {
			continue
		}
		if tj.binSize > int64(len(chunks)-off) {
			if headerLen < 0 {
				return malformed("tensor %q has binary_data_size %d but the body has no %s", tj.t.Name, tj.binSize, HeaderLength)
			}
			return malformed("binary_data_size %d of tensor %q runs past the end of the body (%d bytes left)", tj.binSize, tj.t.Name, len(chunks)-off)
		}
		end := off + int(tj.binSize)
		// Full slice expression: appending to one tensor's Raw must not
		// overwrite the next tensor's bytes.
		tj.t.Raw = chunks[off:end:end]
		off = end
	}
	if off != len(chunks) {
		return malformed("the binary_data_size values add up to %d bytes, the body holds %d after the JSON header", off, len(chunks))
	}
	return nil
}

// finishTensors checks each decoded tensor: data from somewhere (a
// tensor without any must hold no elements), contents matching the
// shape, and names unique. A tensor that fails is passed to fault, if
// set, for the error to return.
func finishTensors(ts []tensorJSON, kind string, fault func(name string, err error) error) ([]tensor.Tensor, error) {
	if fault == nil {
		fault = func(_ string, err error) error { return err }
	}
	out := make([]tensor.Tensor, len(ts))
	for i := range ts {
		tj := &ts[i]
		if !tj.hasData && tj.binSize < 0 {
			if tj.n != 0 {
				return nil, fault(tj.t.Name, malformed("%s %q has neither data nor binary_data_size", kind, tj.t.Name))
			}
			tj.t.Raw = []byte{}
		}
		if err := tj.t.Validate(); err != nil {
			return nil, fault(tj.t.Name, fmt.Errorf("%s: %w", kind, err))
		}
		out[i] = tj.t
	}
	if err := uniqueNames(out, kind); err != nil {
		return nil, err
	}
	return out, nil
}

// uniqueNames refuses two tensors of one name.
func uniqueNames(ts []tensor.Tensor, kind string) error {
	if name, dup := firstDup(len(ts), func(i int) string { return ts[i].Name }); dup {
		return malformed("%s %q appears twice", kind, name)
	}
	return nil
}

// firstDup returns a name that occurs twice among n names. A set only
// from a dozen names on: comparing pairs is quicker below that, and a
// hostile body of a million names must not cost a million squared.
func firstDup(n int, name func(int) string) (string, bool) {
	if n <= 12 {
		for i := range n {
			for j := range i {
				if name(i) == name(j) {
					return name(i), true
				}
			}
		}
		return "", false
	}
	seen := make(map[string]struct{}, n)
	for i := range n {
		if _, dup := seen[name(i)]; dup {
			return name(i), true
		}
		seen[name(i)] = struct{}{}
	}
	return "", false
}

// ServerRequest is an inference request as a server decodes it: the
// request, and how each output is wanted.
type ServerRequest struct {
	// Request is the request, its Model and Version from the URL; input
	// data sent binary aliases the body.
	Request wire.Request
	// BinaryOutputs is the request's binary_data_output parameter: the
	// default for outputs without their own binary_data.
	BinaryOutputs bool
	// BinaryInputs is the number of inputs whose data came as binary
	// chunks rather than JSON data.
	BinaryInputs int
	// outputBinary is each named output's binary_data, if it has one.
	outputBinary map[string]bool
}

// BinaryOutput reports whether the client asked for the output name as a
// binary chunk: its own binary_data parameter if it was named with one,
// else the request's binary_data_output.
func (r *ServerRequest) BinaryOutput(name string) bool {
	if b, ok := r.outputBinary[name]; ok {
		return b
	}
	return r.BinaryOutputs
}

// DecodeRequest decodes the body of an infer request to model and
// version (from the URL path), with the [HeaderLength] value headerLen
// (-1 when absent; see [ParseHeaderLength]). Errors are [*Error]s with
// code INVALID_ARGUMENT. Triton's raw mode (a header length of 0: the
// body is the one input's bytes, its name and type from the model's
// configuration) is not supported.
func DecodeRequest(body []byte, headerLen int, model, version string) (*ServerRequest, error) {
	r, err := decodeRequest(body, headerLen)
	if err != nil {
		return nil, decodeError(codes.InvalidArgument, "request body", err)
	}
	r.Request.Model, r.Request.Version = model, version
	return r, nil
}

func decodeRequest(body []byte, headerLen int) (*ServerRequest, error) {
	if headerLen == 0 {
		return nil, malformed("%s: 0 (raw binary request) is not supported", HeaderLength)
	}
	js, chunks, err := splitBody(body, headerLen)
	if err != nil {
		return nil, err
	}
	r := &ServerRequest{}
	var inputs []tensorJSON
	hasInputs := false
	s := &scanner{buf: js, bodyLen: len(body)}
	err = s.members("request", false, []string{"id", "parameters", "inputs", "outputs"}, func(m int) error {
		switch m {
		case 0:
			id, err := s.optStr()
			r.Request.ID = id
			return err
		case 1:
			return s.members("request parameters", true, []string{"binary_data_output"}, func(int) error {
				b, err := s.boolean("binary_data_output")
				r.BinaryOutputs = b
				return err
			})
		case 2:
			hasInputs = true
			return s.array("request inputs", func(int) error {
				tj, err := s.tensorObject("input")
				inputs = append(inputs, tj)
				return err
			})
		}
		return s.array("request outputs", func(int) error {
			name, bin, err := s.requestedOutput()
			r.Request.Outputs = append(r.Request.Outputs, name)
			if bin >= 0 {
				if r.outputBinary == nil {
					r.outputBinary = map[string]bool{}
				}
				r.outputBinary[name] = bin == 1
			}
			return err
		})
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, err
	}
	if !hasInputs {
		return nil, malformed("request has no inputs")
	}
	if err := attachChunks(inputs, chunks, headerLen); err != nil {
		return nil, err
	}
	for i := range inputs {
		if inputs[i].binSize >= 0 {
			r.BinaryInputs++
		}
	}
	if r.Request.Inputs, err = finishTensors(inputs, "input", nil); err != nil {
		return nil, err
	}
	outs := r.Request.Outputs
	if name, dup := firstDup(len(outs), func(i int) string { return outs[i] }); dup {
		return nil, malformed("output %q requested twice", name)
	}
	return r, nil
}

// requestedOutput reads one entry of a request's "outputs": its name and
// binary_data parameter (-1 when unset).
func (s *scanner) requestedOutput() (name string, binary int8, err error) {
	binary = -1
	hasName := false
	err = s.members("requested output", false, []string{"name", "parameters"}, func(m int) error {
		if m == 0 {
			hasName = true
			b, err := s.str(nil)
			name = string(b)
			return err
		}
		return s.members("requested output parameters", true, []string{"binary_data"}, func(int) error {
			b, err := s.boolean("binary_data")
			binary = 0
			if b {
				binary = 1
			}
			return err
		})
	})
	if err == nil && !hasName {
		err = malformed("requested output has no name")
	}
	return name, binary, err
}
