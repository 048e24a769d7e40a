package tfs

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/protobuf/proto"
)

// fuzzLimit bounds what one fuzzed message may decode to, so that the
// fuzzer explores shapes, not memory.
const fuzzLimit = 1 << 16

// FuzzDecodeTensor feeds arbitrary bytes as a TensorProto: DecodeTensor
// must not panic, must stay within its limit, must return a tensor that
// validates and that survives a round trip, or one of its sentinels.
func FuzzDecodeTensor(f *testing.F) {
	for _, s := range sampleTensors() {
		for _, enc := range []func(tensor.Tensor) (*tfspb.TensorProto, error){EncodeTensor, EncodeTensorTyped, EncodeTensorContent} {
			p, err := enc(s)
			if err != nil {
				f.Fatal(err)
			}
			b, _ := proto.Marshal(p)
			f.Add(b)
		}
	}
	for _, p := range []*tfspb.TensorProto{
		{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(1 << 30), FloatVal: []float32{1}},
		{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(3), StringVal: [][]byte{[]byte("ab")}},
		{Dtype: tfspb.DataType_DT_HALF, TensorShape: shape(2, 2), HalfVal: []int32{0x3c00, 0x10000}},
		{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(2), TensorContent: []byte{1, 0x81, 0x01, 'a'}},
		{Dtype: tfspb.DataType_DT_INT8, TensorShape: shape(-1), IntVal: []int32{1}},
	} {
		b, _ := proto.Marshal(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p tfspb.TensorProto
		if proto.Unmarshal(b, &p) != nil {
			return
		}
		got, err := DecodeTensor("x", &p, fuzzLimit)
		if err != nil {
			if !errors.Is(err, tensor.ErrShape) && !errors.Is(err, tensor.ErrLength) && !errors.Is(err, tensor.ErrDType) &&
				!errors.Is(err, tensor.ErrRange) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if len(got.Raw) > fuzzLimit {
			t.Fatalf("%d bytes decoded over a limit of %d", len(got.Raw), fuzzLimit)
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("decoded an invalid tensor: %v", err)
		}
		for _, enc := range []func(tensor.Tensor) (*tfspb.TensorProto, error){EncodeTensor, EncodeTensorTyped, EncodeTensorContent} {
			q, err := enc(got)
			if err != nil {
				t.Fatal(err)
			}
			again, err := DecodeTensor("x", q, fuzzLimit)
			if err != nil {
				t.Fatal(err)
			}
			if again.DType != got.DType || !equalShape(again.Shape, got.Shape) || !sameBits(got.DType, again.Raw, got.Raw) {
				t.Fatalf("round trip changed %v %v %x into %v %v %x", got.DType, got.Shape, got.Raw, again.DType, again.Shape, again.Raw)
			}
		}
	})
}

func equalShape(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// sameBits compares raw contents, reading BOOL as C does (any non-zero
// byte is true, and true comes back as 1).
func sameBits(dt tensor.DType, a, b []byte) bool {
	if dt != tensor.Bool {
		return bytes.Equal(a, b)
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if (a[i] != 0) != (b[i] != 0) {
			return false
		}
	}
	return true
}

// fuzzSig is the signature the JSON fuzzers read against: one output of
// each kind of JSON value.
var fuzzSig = []TensorSpec{
	{Name: "b", DType: tensor.Bool}, {Name: "f", DType: tensor.FP32}, {Name: "i", DType: tensor.Int8},
	{Name: "s", DType: tensor.Bytes}, {Name: "u", DType: tensor.Uint64},
}

// FuzzDecodePredictResponse feeds arbitrary bodies as REST predict
// answers, against a signature of one output and of several.
func FuzzDecodePredictResponse(f *testing.F) {
	for _, seed := range []string{
		`{"predictions": [3.5, 4.0, 5.5]}`,
		`{"outputs": {"b": [true], "f": [[NaN, -Infinity]], "i": -3, "s": [{"b64": "AA=="}, "x"], "u": []}}`,
		`{"predictions": [{"b": true, "f": [1.0], "i": 1, "s": "é", "u": 18446744073709551615}]}`,
		`{"outputs": [[[]], [[]]]}`,
		`{"outputs": {"b64": "aGk="}}`,
		`{"outputs": [[1, 2], [3]]}`,
		`{"error": "Servable not found"}`,
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, one bool) {
		sig := fuzzSig
		if one {
			sig = fuzzSig[3:4]
		}
		ts, err := DecodePredictResponse(body, sig, fuzzLimit)
		if err != nil {
			return
		}
		total := 0
		for _, tt := range ts {
			if err := tt.Validate(); err != nil {
				t.Fatalf("decoded an invalid tensor: %v", err)
			}
			total += len(tt.Raw)
		}
		if total > fuzzLimit {
			t.Fatalf("%d bytes decoded over a limit of %d", total, fuzzLimit)
		}
		// What was read writes back as an answer that reads the same.
		if len(ts) != len(sig) {
			return
		}
		again, err := EncodePredictResponse(ts, Columnar)
		if err != nil {
			return // rows of several sizes, and the like
		}
		back, err := DecodePredictResponse(again, sig, fuzzLimit)
		if err != nil {
			t.Fatalf("re-encoded answer does not decode: %v\n%s", err, again)
		}
		for i := range back {
			if !equalShape(back[i].Shape, ts[i].Shape) || !sameBits(ts[i].DType, back[i].Raw, ts[i].Raw) && !nanBits(ts[i], back[i]) {
				t.Fatalf("round trip changed %s: %v %x into %v %x", ts[i].Name, ts[i].Shape, ts[i].Raw, back[i].Shape, back[i].Raw)
			}
		}
	})
}

// nanBits reports whether a and b differ only in NaN payloads, which JSON
// cannot carry.
func nanBits(a, b tensor.Tensor) bool {
	if a.DType != tensor.FP32 {
		return false
	}
	fa, _ := tensor.DecodeFloat32(nil, a.Raw)
	fb, _ := tensor.DecodeFloat32(nil, b.Raw)
	for i := range fa {
		if fa[i] != fb[i] && !(fa[i] != fa[i] && fb[i] != fb[i]) {
			return false
		}
	}
	return true
}

// FuzzDecodePredictRequest feeds arbitrary bodies as REST predict
// requests, as a server reads them.
func FuzzDecodePredictRequest(f *testing.F) {
	for _, seed := range []string{
		`{"instances": ["foo", "bar", "baz"]}`,
		`{"signature_name": "many", "instances": [{"b": true, "f": [1.0], "i": 1, "s": "x", "u": 2}]}`,
		`{"inputs": {"b": [true], "f": [[NaN]], "i": [-3], "s": ["x"], "u": [1]}, "signature_name": "many"}`,
		`{"inputs": {"b64": "aGk="}}`,
		`{"instances": [{"s": {"b64": "aGk="}}]}`,
		`{"inputs": [1], "instances": [1]}`,
	} {
		f.Add([]byte(seed))
	}
	inputs := func(sig string) ([]TensorSpec, error) {
		if sig == "many" {
			return fuzzSig, nil
		}
		return fuzzSig[3:4], nil
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _, ts, err := DecodePredictRequest(body, inputs, fuzzLimit)
		if err != nil {
			return
		}
		total := 0
		for _, tt := range ts {
			if err := tt.Validate(); err != nil {
				t.Fatalf("decoded an invalid tensor: %v", err)
			}
			total += len(tt.Raw)
		}
		if total > fuzzLimit {
			t.Fatalf("%d bytes decoded over a limit of %d", total, fuzzLimit)
		}
	})
}

// FuzzQuoteNonFinite checks the rewrite against encoding/json: valid JSON
// comes back unchanged, since it holds no bare token, and a rewritten body
// holds none either, so a second pass changes nothing (which fails if
// the first lost track of where strings start and end).
func FuzzQuoteNonFinite(f *testing.F) {
	for _, seed := range []string{`[NaN, "NaN", -Infinity]`, `{"a\"": Inf}`, `["\\", NaN]`, `[1, -2]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := quoteNonFinite(b)
		if json.Valid(b) && !bytes.Equal(out, b) {
			t.Fatalf("valid JSON changed: %s -> %s", b, out)
		}
		if again := quoteNonFinite(out); !bytes.Equal(again, out) {
			t.Fatalf("second pass changed %s into %s", out, again)
		}
	})
}
