package wirecodec

import (
	"bytes"
	"testing"
	"unsafe"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/internal/testalloc"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// split cuts b into buffers of at most n bytes, as grpc delivers a
// message's HTTP/2 frames.
func split(b []byte, n int) mem.BufferSlice {
	var s mem.BufferSlice
	for len(b) > n {
		s = append(s, mem.SliceBuffer(bytes.Clone(b[:n])))
		b = b[n:]
	}
	return append(s, mem.SliceBuffer(bytes.Clone(b)))
}

func testResponse(n int) *oippb.ModelInferResponse {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return &oippb.ModelInferResponse{
		ModelName: "resnet",
		Id:        "42",
		Parameters: map[string]*oippb.InferParameter{
			"p": {ParameterChoice: &oippb.InferParameter_StringParam{StringParam: "v"}},
		},
		Outputs: []*oippb.ModelInferResponse_InferOutputTensor{
			{Name: "probs", Datatype: "FP32", Shape: []int64{1, int64(n)}},
			{Name: "label", Datatype: "BYTES", Shape: []int64{1}},
			{Name: "empty", Datatype: "FP32", Shape: []int64{0}},
		},
		RawOutputContents: [][]byte{
			tensor.AppendFloat32(nil, v),
			tensor.AppendStringElements(nil, []string{"cat"}),
			{},
		},
	}
}

// within reports whether s lies inside b's memory.
func within(s, b []byte) bool {
	if len(s) == 0 || len(b) == 0 {
		return false
	}
	p, lo := uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

func TestUnmarshalMatchesProto(t *testing.T) {
	stream := &oippb.ModelStreamInferResponse{InferResponse: testResponse(100)}
	req := &oippb.ModelInferRequest{
		ModelName:        "m",
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "x", Datatype: "UINT8", Shape: []int64{3}}},
		RawInputContents: [][]byte{{1, 2, 3}},
	}
	typed := &oippb.ModelInferResponse{Outputs: []*oippb.ModelInferResponse_InferOutputTensor{{
		Name: "s", Datatype: "BYTES", Shape: []int64{2},
		Contents: &oippb.InferTensorContents{BytesContents: [][]byte{[]byte("a"), []byte("bc")}},
	}}}
	plain := &oippb.ModelMetadataResponse{Name: "m", Versions: []string{"1"}}
	other, _ := structpb.NewStruct(map[string]any{"a": 1.0, "b": []any{"x"}})
	for _, tc := range []struct {
		name string
		msg  proto.Message
	}{
		{"response", testResponse(1000)},
		{"stream response", stream},
		{"request", req},
		{"typed contents", typed},
		{"contents", &oippb.InferTensorContents{BytesContents: [][]byte{[]byte("a"), {}}}},
		{"no bytes fields", plain},
		{"other package", other},
		{"empty", &oippb.ModelInferResponse{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wire, err := proto.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			for _, frame := range []int{len(wire) + 1, 7, 1024} {
				got := tc.msg.ProtoReflect().New().Interface()
				// Stale contents must be replaced, as proto.Unmarshal does.
				proto.Merge(got, tc.msg)
				data := split(wire, frame)
				if err := (Codec{}).Unmarshal(data, got); err != nil {
					t.Fatalf("frames of %d: %v", frame, err)
				}
				if !proto.Equal(got, tc.msg) {
					t.Fatalf("frames of %d: got %v, want %v", frame, got, tc.msg)
				}
				if frame > len(wire) && tc.name == "response" {
					// One buffer: the tensors point into it, capped.
					raw := got.(*oippb.ModelInferResponse).RawOutputContents
					if !within(raw[0], data[0].ReadOnlyData()) || cap(raw[0]) != len(raw[0]) {
						t.Errorf("raw_output_contents[0] does not alias the received buffer, or is not capped")
					}
				}
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	wire, _ := proto.Marshal(testResponse(10))
	for _, bad := range [][]byte{
		wire[:len(wire)-1],         // raw field cut short
		append([]byte{0}, wire...), // field number 0
		{0x32, 0x80},               // field 6, truncated length varint
		{0x32, 0x05, 1, 2},         // field 6, length past the end
		{0x0a, 0x02, 0xff, 0xfe},   // model_name with invalid UTF-8
	} {
		var got oippb.ModelInferResponse
		if err := (Codec{}).Unmarshal(split(bad, 5), &got); err == nil {
			t.Errorf("Unmarshal(% x) succeeded", bad)
		}
		if err := proto.Unmarshal(bad, &oippb.ModelInferResponse{}); err == nil {
			t.Errorf("proto.Unmarshal(% x) succeeded: test case is not invalid", bad)
		}
	}
	if err := (Codec{}).Unmarshal(nil, "not a message"); err == nil {
		t.Error("Unmarshal into a string succeeded")
	}
	if _, err := (Codec{}).Marshal(42); err == nil {
		t.Error("Marshal of an int succeeded")
	}
}

func TestMarshal(t *testing.T) {
	for _, msg := range []proto.Message{testResponse(10), testResponse(100000), &oippb.ServerLiveRequest{}} {
		data, err := (Codec{}).Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		b := data.Materialize()
		data.Free()
		got := msg.ProtoReflect().New().Interface()
		if err := proto.Unmarshal(b, got); err != nil || !proto.Equal(got, msg) {
			t.Fatalf("Marshal output does not decode to the message: %v", err)
		}
		if len(b) != proto.Size(msg) {
			t.Errorf("Marshal wrote %d bytes, proto.Size says %d", len(b), proto.Size(msg))
		}
	}
}

func TestRegister(t *testing.T) {
	defer encoding.RegisterCodecV2(encoding.GetCodecV2(Name))
	Register()
	if _, ok := encoding.GetCodecV2(Name).(Codec); !ok {
		t.Fatalf("codec %q is %T after Register", Name, encoding.GetCodecV2(Name))
	}
}

// unmarshalCosts returns what decoding wire into a ModelInferResponse
// costs with proto.Unmarshal and with Codec (in one buffer, as grpc hands
// over a small message), the Codec's measured until within limit of
// proto.Unmarshal's.
func unmarshalCosts(t testing.TB, wire []byte, over func(protoCost uint64) uint64) (protoCost, codecCost uint64) {
	protoCost = testalloc.Least(func() {
		if err := proto.Unmarshal(wire, &oippb.ModelInferResponse{}); err != nil {
			t.Fatal(err)
		}
	}, 0)
	codecCost = testalloc.Least(func() {
		if err := (Codec{}).Unmarshal(mem.BufferSlice{mem.SliceBuffer(wire)}, &oippb.ModelInferResponse{}); err != nil {
			t.Fatal(err)
		}
	}, over(protoCost))
	return protoCost, codecCost
}

// TestUnmarshalCost decodes many short raw entries, which aliasing would
// make dearer than copying: the Codec costs no more than proto.Unmarshal.
// Setting each through protoreflect cost 1.75 times as much.
func TestUnmarshalCost(t *testing.T) {
	resp := &oippb.ModelInferResponse{RawOutputContents: make([][]byte, 1<<16)}
	for i := range resp.RawOutputContents {
		resp.RawOutputContents[i] = make([]byte, i%16)
	}
	wire, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	within := func(p uint64) uint64 { return p + p/16 }
	if p, c := unmarshalCosts(t, wire, within); c > within(p) {
		t.Errorf("%d short entries, %d bytes: the Codec allocated %d bytes, proto.Unmarshal %d", len(resp.RawOutputContents), len(wire), c, p)
	}

	// Long entries are aliased, not copied: the Codec costs less.
	big := testResponse(1 << 16)
	if wire, err = proto.Marshal(big); err != nil {
		t.Fatal(err)
	}
	if p, c := unmarshalCosts(t, wire, func(p uint64) uint64 { return p / 2 }); c > p/2 {
		t.Errorf("a tensor of %d bytes: the Codec allocated %d bytes, proto.Unmarshal %d", len(big.RawOutputContents[0]), c, p)
	}
}

// TestUnmarshalAllocs checks that reading a tensor in place costs no more
// allocations than proto.Unmarshal's copy of it: a response of 784 floats
// is common, and setting its aliased field by reflection would cost more
// than the copy it saves.
func TestUnmarshalAllocs(t *testing.T) {
	wire, err := proto.Marshal(&oippb.ModelInferResponse{
		ModelName:         "mnist",
		Outputs:           []*oippb.ModelInferResponse_InferOutputTensor{{Name: "y", Datatype: "FP32", Shape: []int64{1, 784}}},
		RawOutputContents: [][]byte{make([]byte, 4*784)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var m oippb.ModelInferResponse
	data := mem.BufferSlice{mem.SliceBuffer(wire)}
	codec := testing.AllocsPerRun(100, func() {
		if err := (Codec{}).Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
	})
	plain := testing.AllocsPerRun(100, func() {
		if err := proto.Unmarshal(wire, &m); err != nil {
			t.Fatal(err)
		}
	})
	if codec > plain {
		t.Errorf("the Codec made %v allocations, proto.Unmarshal %v", codec, plain)
	}
}
