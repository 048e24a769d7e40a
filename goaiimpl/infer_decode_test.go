package goaiimpl

import (
	"context"
	"errors"
	"fmt"
	"github.com/goai-dev/goai"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/testalloc"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// bytesResponse is the answer to a batch of one holding one BYTES output
// "s" of elems, raw or typed.
func bytesResponse(elems [][]byte, typed bool) *oippb.ModelInferResponse {
	out := &oippb.ModelInferResponse_InferOutputTensor{Name: "s", Datatype: "BYTES", Shape: []int64{1, int64(len(elems))}}
	resp := &oippb.ModelInferResponse{Outputs: []*oippb.ModelInferResponse_InferOutputTensor{out}}
	if typed {
		out.Contents = &oippb.InferTensorContents{BytesContents: elems}
	} else {
		resp.RawOutputContents = [][]byte{tensor.AppendBytesElements(nil, elems)}
	}
	return resp
}

var bytesTensors = []goai.TensorDesc{{Name: "s", DType: tensor.Bytes, Shape: []int64{-1}}}

// decodeCost returns what decoding resp's output "s" into a repeated
// field of E costs, measured until within limit.
func decodeCost[E string | []byte](t testing.TB, resp *oippb.ModelInferResponse, limit uint64) uint64 {
	want := int(resp.Outputs[0].Shape[1])
	return testalloc.Least(func() {
		d, err := decodeOIP(bytesTensors, 1, true, resp)
		if err != nil {
			t.Fatal(err)
		}
		if got := DecodeStrings[E](d.Tensor(0), 0); len(got) != want || d.err != nil {
			t.Fatalf("decoded %d elements, %v; want %d", len(got), d.err, want)
		}
	}, limit)
}

// TestDecodeBytesCost checks what decoding many empty BYTES elements, the
// most per byte received, costs: a string or slice header each and no
// copy of the data's framing. A response of 15M of them, 60 MB, cost 300
// MB in the decoder; now the 240 MB of string headers, 4 bytes per byte.
func TestDecodeBytesCost(t *testing.T) {
	const n = 1 << 16
	elems := make([][]byte, n)
	const slack = 4 << 10 // the Decoder itself and the allocator's rounding
	stringHeader, sliceHeader := uint64(unsafe.Sizeof("")), uint64(unsafe.Sizeof([]byte(nil)))
	for _, tt := range []struct {
		name   string
		typed  bool
		decode func(testing.TB, *oippb.ModelInferResponse, uint64) uint64
		limit  uint64
	}{
		{"raw into strings", false, decodeCost[string], stringHeader*n + slack},
		{"raw into byte slices", false, decodeCost[[]byte], sliceHeader*n + slack},
		// Typed contents arrive unframed: the elements are the message's own.
		{"typed into strings", true, decodeCost[string], stringHeader*n + slack},
		{"typed into byte slices", true, decodeCost[[]byte], slack},
	} {
		if got := tt.decode(t, bytesResponse(elems, tt.typed), tt.limit); got > tt.limit {
			t.Errorf("%s: %d empty elements cost %d bytes, want at most %d", tt.name, n, got, tt.limit)
		}
	}
}

// decodeText decodes tensor "s" as a generated fake does for a string
// field of proto3, here the name of an InferOutputTensor, which protobuf
// will not marshal unless it is UTF-8.
func decodeText(d *Decoder, batch []*oippb.ModelInferResponse_InferOutputTensor) {
	for i := range batch {
		batch[i] = &oippb.ModelInferResponse_InferOutputTensor{Name: strings.Join(DecodeUTF8Strings(d.Tensor(0), i), ",")}
	}
}

func TestDecodeUTF8(t *testing.T) {
	for _, typed := range []bool{false, true} {
		resp := bytesResponse([][]byte{[]byte("ok"), []byte("日本"), []byte("a\xffb")}, typed)
		resp.Outputs[0].Shape = []int64{3, 1}
		d, err := decodeOIP(bytesTensors, 3, true, resp)
		if err != nil {
			t.Fatal(err)
		}
		d.index = []int{5, 6, 7} // the items' places in the caller's batch
		if got := DecodeStrings[string](d.Tensor(0), 0); !slices.Equal(got, []string{"ok"}) || d.err != nil {
			t.Fatalf("DecodeStrings = %q, %v; want it unchecked", got, d.err)
		}
		got := DecodeUTF8Strings(d.Tensor(0), 0)
		var te *goai.TensorError
		switch err := d.err; {
		case got != nil:
			t.Errorf("typed %v: decoded %q, want nothing", typed, got)
		case !errors.As(err, &te) || te.Tensor != "s" || te.Item != 7 || !te.Output:
			t.Errorf("typed %v: err = %v, want output s of item 7", typed, err)
		case !errors.Is(err, tensor.ErrUTF8) || !errors.Is(err, goai.ErrBadTensor) || status.Code(err) != codes.Internal:
			t.Errorf("typed %v: err = %v, want Internal matching tensor.ErrUTF8", typed, err)
		case !strings.Contains(err.Error(), "element 0 is not valid UTF-8"):
			t.Errorf("typed %v: err = %v", typed, err)
		}
	}

	d, err := decodeOIP(bytesTensors[:1], 1, true, bytesResponse([][]byte{[]byte("é")}, false))
	if err != nil {
		t.Fatal(err)
	}
	if got := DecodeUTF8String(d.Tensor(0), 0); got != "é" || d.err != nil {
		t.Errorf("DecodeUTF8String = %q, %v", got, d.err)
	}
}

// TestServeFakeUTF8 sends a fake text that its string field cannot hold:
// the fake refuses the request, as proto.Unmarshal refuses such a message.
func TestServeFakeUTF8(t *testing.T) {
	desc := &goai.ModelDesc{Model: goai.ModelRef{Name: "m"}, Methods: []goai.MethodDesc{{Name: "M", Inputs: bytesTensors, Outputs: bytesTensors}}}
	encode := func(e *Encoder, batch []*oippb.ModelInferResponse_InferOutputTensor) {
		for _, x := range batch {
			AppendStrings(e.Tensor(0), strings.Split(x.GetName(), ","))
		}
	}
	for _, tt := range []struct {
		text string
		code codes.Code
	}{{"fine,text", codes.OK}, {"bad,\xc3", codes.InvalidArgument}} {
		in := []tensor.Tensor{{Name: "s", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, strings.Split(tt.text, ","))}}
		_, err := ServeFake(t.Context(), desc, &desc.Methods[0], in, 0, decodeText, encode,
			func(_ context.Context, x *oippb.ModelInferResponse_InferOutputTensor) (*oippb.ModelInferResponse_InferOutputTensor, error) {
				if _, err := proto.Marshal(x); err != nil {
					t.Errorf("the fake was given a message it cannot marshal: %v", err)
				}
				return x, nil
			})
		if status.Code(err) != tt.code || tt.code != codes.OK && !errors.Is(err, tensor.ErrUTF8) {
			t.Errorf("%q: err = %v, want %v", tt.text, err, tt.code)
		}
	}
}

// FuzzDecodeResponseLayout decodes responses of any layout: outputs named
// a, b (declared FP32), s (declared BYTES), x (undeclared) or "", each
// raw or typed, and any number of raw entries, among them the layout
// Triton uses for inputs, raw entries only for the outputs without typed
// contents. Every value tells the output it was sent for, so the decoder
// must either refuse the response or return each declared output's own
// data; and it must refuse exactly the responses the protocol does.
func FuzzDecodeResponseLayout(f *testing.F) {
	// layout: 2 bytes per output (name and typed flag, element count),
	// then the raw mode: 0xff one entry per untyped output, else a count.
	// The seeds of the bugs found are in testdata/fuzz.
	f.Add([]byte{0, 2, 1, 1, 2, 3, 3})                   // raw, one entry per output
	f.Add([]byte{0x80, 2, 0x81, 1, 0x82, 3, 0})          // typed
	f.Add([]byte{0x80, 2, 0x81, 1, 0x82, 3, 0x84, 0, 0}) // typed, and an unnamed output
	f.Fuzz(func(t *testing.T, layout []byte) {
		names := []string{"a", "b", "s", "x", ""}
		resp := &oippb.ModelInferResponse{}
		var typed []bool
		var data [][]byte // each output's raw data
		for j := 0; len(layout) >= 3 && j < 8; j++ {
			name, count := int(layout[0]&0x7f)%len(names), int(layout[1]%4)
			isTyped := layout[0]&0x80 != 0
			layout = layout[2:]
			out := &oippb.ModelInferResponse_InferOutputTensor{Name: names[name], Datatype: "FP32", Shape: []int64{1, int64(count)}}
			var raw []byte
			if names[name] == "s" {
				out.Datatype = "BYTES"
				elems := make([][]byte, count)
				for k := range elems {
					elems[k] = fmt.Appendf(nil, "%d/%d", j, k)
				}
				raw = tensor.AppendBytesElements(nil, elems)
				if isTyped {
					out.Contents = &oippb.InferTensorContents{BytesContents: elems}
				}
			} else {
				v := make([]float32, count)
				for k := range v {
					v[k] = float32(100*j + k)
				}
				raw = tensor.AppendFloat32(nil, v)
				if isTyped {
					out.Contents = &oippb.InferTensorContents{Fp32Contents: v}
				}
			}
			resp.Outputs = append(resp.Outputs, out)
			typed = append(typed, isTyped)
			data = append(data, raw)
		}
		if len(layout) > 0 {
			if mode := layout[0]; mode == 0xff {
				for j := range resp.Outputs {
					if !typed[j] {
						resp.RawOutputContents = append(resp.RawOutputContents, data[j])
					}
				}
			} else {
				for i := range int(mode % 10) {
					// A typed output's raw entry, or one past the outputs,
					// holds the data of no output.
					raw := tensor.AppendFloat32(nil, []float32{-1})
					if i < len(data) && !typed[i] {
						raw = data[i]
					}
					resp.RawOutputContents = append(resp.RawOutputContents, raw)
				}
			}
		}

		// What the protocol accepts: raw entries one per output and no
		// typed contents, or typed contents alone; each declared output
		// once, with the data its shape needs.
		descs := []goai.TensorDesc{{Name: "a", DType: tensor.FP32}, {Name: "b", DType: tensor.FP32}, {Name: "s", DType: tensor.Bytes}}
		raws := len(resp.RawOutputContents)
		valid := raws == 0 || raws == len(resp.Outputs) && !slices.Contains(typed, true)
		at := map[string]int{}
		for j, o := range resp.Outputs {
			if _, dup := at[o.Name]; dup && slices.ContainsFunc(descs, func(d goai.TensorDesc) bool { return d.Name == o.Name }) {
				valid = false
			}
			if _, dup := at[o.Name]; !dup {
				at[o.Name] = j
			}
		}
		for _, desc := range descs {
			j, ok := at[desc.Name]
			// An output without data is one of no elements.
			valid = valid && ok && (raws > 0 || typed[j] || resp.Outputs[j].Shape[1] == 0)
		}

		d, err := decodeOIP(descs, 1, true, resp)
		if err != nil {
			var te *goai.TensorError
			if !errors.As(err, &te) || !te.Output || status.Code(err) != codes.Internal {
				t.Fatalf("err = %v, want a *TensorError of an output", err)
			}
			if valid {
				t.Fatalf("refused a valid response: %v\n%v", err, resp)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted a response the protocol refuses:\n%v", resp)
		}
		a, b := DecodeTensor[float32](d.Tensor(0), 0), DecodeTensor[float32](d.Tensor(1), 0)
		s := DecodeStrings[string](d.Tensor(2), 0)
		if d.err != nil {
			t.Fatalf("decoding a valid response: %v", d.err)
		}
		for k, v := range [][]float32{a, b} {
			j := at[descs[k].Name]
			want, _ := tensor.DecodeFloat32(nil, data[j])
			if !slices.Equal(v, want) {
				t.Fatalf("output %s = %v, the data of another output: want %v", descs[k].Name, v, want)
			}
		}
		if want, _ := tensor.DecodeStringElements(data[at["s"]], -1); !slices.Equal(s, want) {
			t.Fatalf("output s = %q, the data of another output: want %q", s, want)
		}
	})
}

// FuzzDecodeBytesCost decodes a BYTES output of n (at most 1024)
// elements, whose lengths repeat lens, into strings and byte slices: what
// it allocates must stay within a header per element and the text, so
// within 4 bytes (strings) or 6 (slices) per byte of raw data, whatever
// the layout. Copying the framing too, or framing typed contents first,
// goes beyond.
func FuzzDecodeBytesCost(f *testing.F) {
	// The worst case, empty elements, is in testdata/fuzz.
	f.Add(uint16(300), []byte{0, 1, 7, 0}, false)
	f.Add(uint16(300), []byte{0, 1, 7, 0}, true)
	f.Fuzz(func(t *testing.T, n uint16, lens []byte, typed bool) {
		n %= 1025
		if len(lens) == 0 {
			lens = []byte{0}
		}
		elems := make([][]byte, n)
		size := uint64(0)
		for i := range elems {
			elems[i] = make([]byte, lens[i%len(lens)]%64)
			size += uint64(len(elems[i]))
		}
		resp := bytesResponse(elems, typed)
		const slack = 2 << 10 // the Decoder, and the transport's neutral response
		// rounded is the most the allocator gives for x bytes: an eighth
		// more for small objects, a page more for large ones.
		rounded := func(x uint64) uint64 {
			if x <= 32<<10 {
				return x + x/8
			}
			return x + 8<<10
		}
		m := uint64(n)
		limit := rounded(16*m) + rounded(size) + slack
		if got := decodeCost[string](t, resp, limit); got > limit {
			t.Fatalf("%d elements of %d bytes in all into strings: %d bytes allocated, above %d", n, size, got, limit)
		}
		limit = slack
		if !typed {
			limit += rounded(24 * m) // typed elements are the message's own
		}
		if got := decodeCost[[]byte](t, resp, limit); got > limit {
			t.Fatalf("%d elements of %d bytes in all into byte slices: %d bytes allocated, above %d", n, size, got, limit)
		}
	})
}
