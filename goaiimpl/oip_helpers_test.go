package goaiimpl

import (
	"errors"

	"github.com/goai-dev/goai"
	"github.com/goai-dev/goai/internal/oip"
	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/wire"
)

// decodeOIP decodes resp as a client of the Open Inference Protocol over
// gRPC does: the transport reads it by the protocol's layout rules, asking
// for the declared outputs, then the Decoder checks it against descs. A
// transport's error comes back as the call path reports it, a
// *goai.TensorError.
func decodeOIP(descs []goai.TensorDesc, batch int, batched bool, resp *oippb.ModelInferResponse) (*Decoder, error) {
	names := make([]string, len(descs))
	for i := range descs {
		names[i] = descs[i].Name
	}
	r, err := oip.Response(resp, names)
	if err != nil {
		var te *wire.TensorError
		if errors.As(err, &te) {
			return nil, &goai.TensorError{Tensor: te.Tensor, Output: te.Output, Item: -1, Message: te.Message, Err: te.Err}
		}
		return nil, err
	}
	return decodeResponse(descs, batch, batched, r)
}
