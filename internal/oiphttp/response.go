package oiphttp

import (
	"errors"

	"github.com/goai-dev/goai/internal/wire"
	"google.golang.org/grpc/codes"
)

// DecodeResponse decodes the body of an infer response, with the
// [HeaderLength] value headerLen (-1 when absent; see
// [ParseHeaderLength]): the JSON header of §A8, outputs as "data" (flat
// or nested in their shape) or as binary chunks after the header. Output
// data sent binary aliases body; JSON data is converted into new raw
// contents.
//
// A body that is not the protocol's JSON (broken, of the wrong JSON
// types, a tensor without a name, datatype or shape, chunks that do not
// add up) is an [*Error] with code INTERNAL wrapping [ErrMalformed], as
// grpc-go reports a response it cannot unmarshal. An output whose data
// does not fit it (a datatype goai does not know, data of another length
// or range than its shape and datatype hold, broken BYTES framing, no
// data at all) is a [*wire.TensorError] wrapping package tensor's
// sentinel, as the gRPC transport reports a response that breaks the
// protocol's layout rules: the server answered, so the call path neither
// retries it nor holds it against the breaker.
func DecodeResponse(body []byte, headerLen int) (*wire.Response, error) {
	r, err := decodeResponse(body, headerLen)
	if err != nil {
		var te *wire.TensorError
		if errors.As(err, &te) {
			return nil, te
		}
		return nil, decodeError(codes.Internal, "response body", err)
	}
	return r, nil
}

// outputFault is the error of output name whose data does not fit it;
// an error about the body's form stays as it is.
func outputFault(name string, err error, always bool) error {
	if !always && errors.Is(err, ErrMalformed) {
		return err
	}
	return &wire.TensorError{Tensor: echoed(name), Output: true, Message: err.Error(), Err: err}
}

func decodeResponse(body []byte, headerLen int) (*wire.Response, error) {
	js, chunks, err := splitBody(body, headerLen)
	if err != nil {
		return nil, err
	}
	r := &wire.Response{}
	var outputs []tensorJSON
	s := &scanner{buf: js, bodyLen: len(body)}
	err = s.members("response", false, []string{"model_name", "model_version", "id", "outputs"}, func(m int) error {
		var err error
		switch m {
		case 0:
			r.Model, err = s.optStr()
		case 1:
			r.Version, err = s.version()
		case 2:
			r.ID, err = s.optStr()
		default:
			err = s.array("response outputs", func(int) error {
				tj, err := s.tensorObject("output")
				outputs = append(outputs, tj)
				if err != nil {
					return outputFault(tj.t.Name, err, false)
				}
				return nil
			})
		}
		return err
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return nil, err
	}
	if err := attachChunks(outputs, chunks, headerLen); err != nil {
		return nil, err
	}
	fault := func(name string, err error) error { return outputFault(name, err, true) }
	if r.Outputs, err = finishTensors(outputs, "output", fault); err != nil {
		return nil, err
	}
	return r, nil
}

// version reads a model_version: a string as Triton sends it, or a
// number or null as some Python servers do.
func (s *scanner) version() (string, error) {
	switch c := s.ws(); {
	case c == '"':
		b, err := s.str(nil)
		return string(b), err
	case s.null():
		return "", nil
	}
	lit, _, err := s.number("model_version (a string)")
	return string(lit), err
}

// EncodeResponse appends the JSON header of resp's body to dst and the
// binary chunks to chunks, as [EncodeRequest] does for a request: an
// output travels binary when binary reports the client asked for it (see
// [ServerRequest.BinaryOutput]; nil asks for none), and also when JSON
// cannot carry it (FP16, BF16, NaN or infinity, BYTES that are not
// UTF-8), where Triton would fail the request instead. If chunks come
// back non-empty, the answer needs an [HeaderLength] header of
// len(header). An invalid output is an [*Error] with code INTERNAL: the
// server's own fault.
func EncodeResponse(dst []byte, chunks [][]byte, resp *wire.Response, binary func(name string) bool) (header []byte, bin [][]byte, err error) {
	dst = append(dst, `{"model_name":`...)
	dst = AppendJSONString(dst, toValidUTF8(resp.Model))
	if resp.Version != "" {
		dst = append(dst, `,"model_version":`...)
		dst = AppendJSONString(dst, toValidUTF8(resp.Version))
	}
	if resp.ID != "" {
		dst = append(dst, `,"id":`...)
		dst = AppendJSONString(dst, toValidUTF8(resp.ID))
	}
	dst = append(dst, `,"outputs":[`...)
	for i := range resp.Outputs {
		t := &resp.Outputs[i]
		if err := checkTensor(t); err != nil {
			return dst, chunks, newError(codes.Internal, err, "output %q: %v", t.Name, err)
		}
		bin := binary != nil && binary(t.Name) || !jsonable(t)
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTensor(dst, t, bin)
		if bin {
			chunks = append(chunks, t.Raw)
		}
	}
	return append(dst, "]}"...), chunks, nil
}
