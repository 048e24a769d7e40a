// FuzzUnmarshal checks the hand decoder against proto.Unmarshal on any
// input: the same message, or an error from both, at about the same cost. Seeds are in testdata/fuzz/FuzzUnmarshal; to fuzz:
//
//	go test ./runtime/wirecodec -run '^$' -fuzz '^FuzzUnmarshal$' -fuzztime 20s
package wirecodec

import (
	"testing"

	"github.com/goai-dev/goai/internal/oippb"
	"google.golang.org/protobuf/proto"
)

func FuzzUnmarshal(f *testing.F) {
	for _, m := range []proto.Message{
		testResponse(3),
		&oippb.ModelStreamInferResponse{InferResponse: testResponse(2), ErrorMessage: "x"},
		testRequest(),
	} {
		b, _ := proto.Marshal(m)
		if len(b) < 4096 {
			f.Add(b, uint8(5))
		}
	}
	f.Fuzz(func(t *testing.T, wire []byte, frame uint8) {
		for _, newMsg := range []func() proto.Message{
			func() proto.Message { return &oippb.ModelInferResponse{} },
			func() proto.Message { return &oippb.ModelInferRequest{} },
			func() proto.Message { return &oippb.ModelStreamInferResponse{} },
			func() proto.Message { return &oippb.InferTensorContents{} },
		} {
			want, got := newMsg(), newMsg()
			werr := proto.Unmarshal(wire, want)
			gerr := (Codec{}).Unmarshal(split(wire, int(frame)+1), got)
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("%T: proto.Unmarshal: %v; Codec: %v", want, werr, gerr)
			}
			if werr == nil && !proto.Equal(got, want) {
				t.Fatalf("%T: Codec decoded %v, proto.Unmarshal %v", want, got, want)
			}
		}
		// What the Codec allocates stays within what proto.Unmarshal does,
		// but for a small share of the bytes received.
		if proto.Unmarshal(wire, &oippb.ModelInferResponse{}) == nil {
			over := func(p uint64) uint64 { return p + uint64(len(wire))/8 + 1024 }
			if p, c := unmarshalCosts(t, wire, over); c > over(p) {
				t.Fatalf("%d bytes: the Codec allocated %d bytes, proto.Unmarshal %d", len(wire), c, p)
			}
		}
	})
}
