package oiphttp

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// samples returns a tensor of each datatype holding the edge values of
// its type, so that a round trip exercises every branch of the number
// writers and readers.
func samples() []tensor.Tensor {
	f32 := []float32{0, float32(math.Copysign(0, -1)), 1, -1.5, math.MaxFloat32, -math.MaxFloat32,
		math.SmallestNonzeroFloat32, 1e-7, 123456789, 0.1, 3.4028235e38, 1e21, 1e-45}
	f64 := []float64{0, math.Copysign(0, -1), math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1, 1e300, -2.5e-300, 1 << 53}
	return []tensor.Tensor{
		{Name: "bool", DType: tensor.Bool, Shape: []int64{2, 2}, Raw: tensor.AppendBool(nil, []bool{true, false, false, true})},
		{Name: "u8", DType: tensor.Uint8, Shape: []int64{3}, Raw: tensor.AppendUint8(nil, []uint8{0, 1, 255})},
		{Name: "u16", DType: tensor.Uint16, Shape: []int64{3}, Raw: tensor.AppendUint16(nil, []uint16{0, 1, math.MaxUint16})},
		{Name: "u32", DType: tensor.Uint32, Shape: []int64{3}, Raw: tensor.AppendUint32(nil, []uint32{0, 1, math.MaxUint32})},
		{Name: "u64", DType: tensor.Uint64, Shape: []int64{3}, Raw: tensor.AppendUint64(nil, []uint64{0, 1 << 53, math.MaxUint64})},
		{Name: "i8", DType: tensor.Int8, Shape: []int64{1, 4}, Raw: tensor.AppendInt8(nil, []int8{math.MinInt8, -1, 0, math.MaxInt8})},
		{Name: "i16", DType: tensor.Int16, Shape: []int64{4}, Raw: tensor.AppendInt16(nil, []int16{math.MinInt16, -1, 0, math.MaxInt16})},
		{Name: "i32", DType: tensor.Int32, Shape: []int64{4}, Raw: tensor.AppendInt32(nil, []int32{math.MinInt32, -1, 0, math.MaxInt32})},
		{Name: "i64", DType: tensor.Int64, Shape: []int64{2, 2}, Raw: tensor.AppendInt64(nil, []int64{math.MinInt64, -1, 0, math.MaxInt64})},
		{Name: "fp16", DType: tensor.FP16, Shape: []int64{3}, Raw: tensor.AppendFP16(nil, []float32{1, -0.5, 65504})},
		{Name: "bf16", DType: tensor.BF16, Shape: []int64{3}, Raw: tensor.AppendBF16(nil, []float32{1, -0.5, 3e38})},
		{Name: "fp32", DType: tensor.FP32, Shape: []int64{int64(len(f32))}, Raw: tensor.AppendFloat32(nil, f32)},
		{Name: "fp64", DType: tensor.FP64, Shape: []int64{2, 4}, Raw: tensor.AppendFloat64(nil, f64)},
		{Name: "bytes", DType: tensor.Bytes, Shape: []int64{6}, Raw: tensor.AppendStringElements(nil,
			[]string{"", "hello", `quote " back \ slash`, "ctl \x00\x01\x1f\n\t", "ünïcödé ✓ 😀", "</script>&"})},
		{Name: "scalar", DType: tensor.Int32, Shape: []int64{}, Raw: tensor.AppendInt32(nil, []int32{7})},
		{Name: "empty", DType: tensor.FP32, Shape: []int64{0, 3}, Raw: []byte{}},
		{Name: "empty-bytes", DType: tensor.Bytes, Shape: []int64{2, 0}, Raw: []byte{}},
		{Name: "name \"with\" ünïcode", DType: tensor.Uint8, Shape: []int64{1}, Raw: []byte{9}},
	}
}

// sameTensors compares tensors exactly, raw bytes included.
func sameTensors(t *testing.T, got, want []tensor.Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Raw, w.Raw) {
			t.Errorf("tensor %d:\n got %q %v %v % x\nwant %q %v %v % x", i, g.Name, g.DType, g.Shape, g.Raw, w.Name, w.DType, w.Shape, w.Raw)
		}
	}
}

// body joins a header and chunks as they travel.
func joinBody(header []byte, chunks [][]byte) []byte {
	return slices.Concat(append([][]byte{header}, chunks...)...)
}

func TestRequestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name      string
		threshold int
		binary    int // tensors expected binary
	}{
		// FP16 and BF16 always go binary.
		{"json", math.MaxInt32, 2},
		{"binary", 1, 16}, // every non-empty tensor
		{"default", 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := samples()
			req := &wire.Request{Model: "m", Version: "3", ID: "req-1", Inputs: in, Outputs: []string{"a", "b"}}
			header, chunks, err := EncodeRequest(nil, nil, req, EncodeOptions{BinaryThreshold: tc.threshold})
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != tc.binary {
				t.Errorf("%d binary chunks, want %d", len(chunks), tc.binary)
			}
			if !json.Valid(header) {
				t.Fatalf("header is not valid JSON: %s", header)
			}
			hl := -1
			if len(chunks) > 0 {
				hl = len(header)
			}
			got, err := DecodeRequest(joinBody(header, chunks), hl, "m", "3")
			if err != nil {
				t.Fatalf("%v\n%s", err, header)
			}
			sameTensors(t, got.Request.Inputs, in)
			if got.Request.ID != "req-1" || got.Request.Model != "m" || got.Request.Version != "3" ||
				!slices.Equal(got.Request.Outputs, []string{"a", "b"}) {
				t.Errorf("request = %+v", got.Request)
			}
			if got.BinaryInputs != tc.binary {
				t.Errorf("BinaryInputs = %d, want %d", got.BinaryInputs, tc.binary)
			}
			if !got.BinaryOutput("a") || !got.BinaryOutput("b") || got.BinaryOutputs {
				t.Errorf("binary outputs: a %v b %v all %v, want per-output true", got.BinaryOutput("a"), got.BinaryOutput("b"), got.BinaryOutputs)
			}
		})
	}
}

func TestResponseRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		binary func(string) bool
		chunks int
	}{
		{"json", nil, 2},
		{"binary", func(string) bool { return true }, 18}, // zero-size outputs too, as chunks of no bytes
		{"some", func(n string) bool { return strings.HasPrefix(n, "i") }, 2 + 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := samples()
			resp := &wire.Response{Model: "m", Version: "1", ID: "x", Outputs: out}
			header, chunks, err := EncodeResponse(nil, nil, resp, tc.binary)
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != tc.chunks {
				t.Errorf("%d binary chunks, want %d", len(chunks), tc.chunks)
			}
			if !json.Valid(header) {
				t.Fatalf("header is not valid JSON: %s", header)
			}
			got, err := DecodeResponse(joinBody(header, chunks), len(header))
			if err != nil {
				t.Fatalf("%v\n%s", err, header)
			}
			sameTensors(t, got.Outputs, out)
			if got.Model != "m" || got.Version != "1" || got.ID != "x" {
				t.Errorf("response = %q %q %q", got.Model, got.Version, got.ID)
			}
		})
	}
}

// TestDecodeAliasesBody checks that binary outputs are not copied, and
// cannot be appended into their neighbours.
func TestDecodeAliasesBody(t *testing.T) {
	a := tensor.AppendFloat32(nil, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	resp := &wire.Response{Model: "m", Outputs: []tensor.Tensor{
		{Name: "a", DType: tensor.FP32, Shape: []int64{8}, Raw: a},
		{Name: "b", DType: tensor.FP32, Shape: []int64{8}, Raw: a},
	}}
	header, chunks, err := EncodeResponse(nil, nil, resp, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	body := joinBody(header, chunks)
	got, err := DecodeResponse(body, len(header))
	if err != nil {
		t.Fatal(err)
	}
	if &got.Outputs[0].Raw[0] != &body[len(header)] {
		t.Error("output a does not alias the body")
	}
	if cap(got.Outputs[0].Raw) != len(a) {
		t.Errorf("output a has capacity %d, want %d: an append would overwrite b", cap(got.Outputs[0].Raw), len(a))
	}
}

func TestEncodeRequestForm(t *testing.T) {
	f := tensor.Tensor{Name: "x", DType: tensor.FP32, Shape: []int64{1, 2}, Raw: tensor.AppendFloat32(nil, []float32{1.5, -2})}
	for _, tc := range []struct {
		name string
		req  wire.Request
		opts EncodeOptions
		want string
	}{
		{"all outputs binary", wire.Request{Inputs: []tensor.Tensor{f}}, EncodeOptions{},
			`{"parameters":{"binary_data_output":true},"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1.5,-2]}]}`},
		{"json outputs", wire.Request{ID: "7", Inputs: []tensor.Tensor{f}}, EncodeOptions{JSONOutputs: true},
			`{"id":"7","inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1.5,-2]}]}`},
		{"named outputs", wire.Request{Inputs: []tensor.Tensor{f}, Outputs: []string{"o"}}, EncodeOptions{BinaryThreshold: 1},
			`{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}}],"outputs":[{"name":"o","parameters":{"binary_data":true}}]}`},
		{"named json outputs", wire.Request{Inputs: []tensor.Tensor{f}, Outputs: []string{"o"}}, EncodeOptions{JSONOutputs: true},
			`{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1.5,-2]}],"outputs":[{"name":"o"}]}`},
		// An empty list asks for all outputs, as nil does.
		{"empty outputs", wire.Request{Inputs: []tensor.Tensor{f}, Outputs: []string{}}, EncodeOptions{},
			`{"parameters":{"binary_data_output":true},"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1.5,-2]}]}`},
		// A zero-size FP16 input must go binary: a chunk of no bytes.
		{"empty binary", wire.Request{Inputs: []tensor.Tensor{{Name: "h", DType: tensor.FP16, Shape: []int64{0}, Raw: []byte{}}}}, EncodeOptions{JSONOutputs: true},
			`{"inputs":[{"name":"h","datatype":"FP16","shape":[0],"parameters":{"binary_data_size":0}}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header, chunks, err := EncodeRequest(nil, nil, &tc.req, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if string(header) != tc.want {
				t.Errorf("got  %s\nwant %s", header, tc.want)
			}
			// One chunk per input sent binary, so that the caller knows
			// to send the header length even when all of them are empty.
			if want := strings.Count(tc.want, "binary_data_size"); len(chunks) != want {
				t.Errorf("%d chunks, want %d", len(chunks), want)
			}
		})
	}
}

// TestEncodeChoosesBinary checks what JSON cannot carry goes binary
// whatever the threshold, and is refused when binary is off.
func TestEncodeChoosesBinary(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    tensor.Tensor
	}{
		{"fp16", tensor.Tensor{Name: "h", DType: tensor.FP16, Shape: []int64{1}, Raw: tensor.AppendFP16(nil, []float32{1})}},
		{"bf16", tensor.Tensor{Name: "h", DType: tensor.BF16, Shape: []int64{1}, Raw: tensor.AppendBF16(nil, []float32{1})}},
		{"nan32", tensor.Tensor{Name: "n", DType: tensor.FP32, Shape: []int64{2}, Raw: tensor.AppendFloat32(nil, []float32{1, float32(math.NaN())})}},
		{"inf32", tensor.Tensor{Name: "n", DType: tensor.FP32, Shape: []int64{1}, Raw: tensor.AppendFloat32(nil, []float32{float32(math.Inf(-1))})}},
		{"nan64", tensor.Tensor{Name: "n", DType: tensor.FP64, Shape: []int64{1}, Raw: tensor.AppendFloat64(nil, []float64{math.NaN()})}},
		{"inf64", tensor.Tensor{Name: "n", DType: tensor.FP64, Shape: []int64{1}, Raw: tensor.AppendFloat64(nil, []float64{math.Inf(1)})}},
		{"bytes not utf8", tensor.Tensor{Name: "b", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"ok", "\xff\xfe"})}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &wire.Request{Inputs: []tensor.Tensor{tc.t}}
			header, chunks, err := EncodeRequest(nil, nil, req, EncodeOptions{BinaryThreshold: math.MaxInt32})
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != 1 || !bytes.Equal(chunks[0], tc.t.Raw) {
				t.Fatalf("chunks %q, want the tensor's raw contents", chunks)
			}
			got, err := DecodeRequest(joinBody(header, chunks), len(header), "m", "")
			if err != nil {
				t.Fatal(err)
			}
			sameTensors(t, got.Request.Inputs, []tensor.Tensor{tc.t})

			_, _, err = EncodeRequest(nil, nil, req, EncodeOptions{BinaryThreshold: -1})
			if status.Code(err) != codes.InvalidArgument || !errors.Is(err, tensor.ErrDType) {
				t.Errorf("with binary off: %v (code %v), want INVALID_ARGUMENT wrapping tensor.ErrDType", err, status.Code(err))
			}
		})
	}
}

func TestEncodeRejects(t *testing.T) {
	good := tensor.Tensor{Name: "x", DType: tensor.Int32, Shape: []int64{1}, Raw: tensor.AppendInt32(nil, []int32{1})}
	for _, tc := range []struct {
		name string
		req  wire.Request
		want error
	}{
		{"short raw", wire.Request{Inputs: []tensor.Tensor{{Name: "x", DType: tensor.Int32, Shape: []int64{2}, Raw: good.Raw}}}, tensor.ErrLength},
		{"bad dtype", wire.Request{Inputs: []tensor.Tensor{{Name: "x", Shape: []int64{1}, Raw: good.Raw}}}, tensor.ErrDType},
		{"negative dim", wire.Request{Inputs: []tensor.Tensor{{Name: "x", DType: tensor.Int32, Shape: []int64{-1}, Raw: good.Raw}}}, tensor.ErrShape},
		{"bad framing", wire.Request{Inputs: []tensor.Tensor{{Name: "x", DType: tensor.Bytes, Shape: []int64{1}, Raw: []byte{9, 0, 0, 0, 'a'}}}}, tensor.ErrLength},
		{"name not utf8", wire.Request{Inputs: []tensor.Tensor{{Name: "\xff", DType: tensor.Int32, Shape: []int64{1}, Raw: good.Raw}}}, nil},
		{"id not utf8", wire.Request{ID: "\xff", Inputs: []tensor.Tensor{good}}, nil},
		{"output not utf8", wire.Request{Inputs: []tensor.Tensor{good}, Outputs: []string{"\xc0"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := EncodeRequest(nil, nil, &tc.req, EncodeOptions{})
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("%v (code %v), want INVALID_ARGUMENT", err, status.Code(err))
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("%v does not wrap %v", err, tc.want)
			}
		})
	}
}

// The bodies below are as Triton and KServe send them: field order,
// spacing, parameters and all.

func TestDecodeTritonJSON(t *testing.T) {
	body := `{"model_name":"simple","model_version":"1","outputs":[` +
		`{"name":"OUTPUT0","datatype":"INT32","shape":[1,4],"data":[2,4,6,8]},` +
		`{"name":"OUTPUT1","datatype":"BYTES","shape":[2],"data":["a\"b","\u00fc\ud83d\ude00"]},` +
		`{"name":"OUTPUT2","datatype":"BOOL","shape":[2],"data":[true,false]}]}`
	got, err := DecodeResponse([]byte(body), -1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "simple" || got.Version != "1" || got.ID != "" {
		t.Errorf("model %q version %q id %q", got.Model, got.Version, got.ID)
	}
	sameTensors(t, got.Outputs, []tensor.Tensor{
		{Name: "OUTPUT0", DType: tensor.Int32, Shape: []int64{1, 4}, Raw: tensor.AppendInt32(nil, []int32{2, 4, 6, 8})},
		{Name: "OUTPUT1", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{`a"b`, "ü😀"})},
		{Name: "OUTPUT2", DType: tensor.Bool, Shape: []int64{2}, Raw: []byte{1, 0}},
	})
}

// TestDecodeTritonBinary is Triton's answer to binary_data_output: the
// JSON header, Content-Type application/octet-stream and
// Inference-Header-Content-Length, then the chunks in output order, a
// zero-size one absent, one output left in JSON.
func TestDecodeTritonBinary(t *testing.T) {
	out0 := tensor.AppendFloat32(nil, []float32{1, 2, 3, 4})
	out1 := tensor.AppendStringElements(nil, []string{"x", "\xff\x00"})
	header := `{"model_name":"simple","model_version":"1","id":"42","parameters":{"sequence_id":0,"sequence_start":false,"sequence_end":false},"outputs":[` +
		`{"name":"OUTPUT0","datatype":"FP32","shape":[2,2],"parameters":{"binary_data_size":16}},` +
		`{"name":"EMPTY","datatype":"FP32","shape":[0],"parameters":{"binary_data_size":0}},` +
		`{"name":"JSON","datatype":"INT64","shape":[1],"data":[-9]},` +
		`{"name":"OUTPUT1","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":` + strconv.Itoa(len(out1)) + `}}]}`
	body := slices.Concat([]byte(header), out0, out1)
	got, err := DecodeResponse(body, len(header))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "42" {
		t.Errorf("id %q", got.ID)
	}
	sameTensors(t, got.Outputs, []tensor.Tensor{
		{Name: "OUTPUT0", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: out0},
		{Name: "EMPTY", DType: tensor.FP32, Shape: []int64{0}, Raw: []byte{}},
		{Name: "JSON", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{-9})},
		{Name: "OUTPUT1", DType: tensor.Bytes, Shape: []int64{2}, Raw: out1},
	})
}

// TestDecodeKServe is a KServe Python server's answer: spaces, nulls for
// unset members, nested data, floats for every float, NaN as Python's
// json module writes it, data before the datatype.
func TestDecodeKServe(t *testing.T) {
	body := `{"model_name": "sklearn-iris", "model_version": null, "id": "d3b3c7a0", "parameters": null, "outputs": [` +
		`{"name": "output-0", "shape": [2, 3], "datatype": "FP32", "parameters": null, "data": [[1.0, 2.5, -3e-2], [NaN, Infinity, -Infinity]]},` +
		`{"data": [1, 0], "name": "labels", "shape": [2], "datatype": "INT64"},` +
		`{"name": "v", "shape": [2], "datatype": "FP64", "data": [1e308, -0.0]},` +
		`{"name": "h", "shape": [2], "datatype": "FP16", "data": [0.5, -2]}` +
		"]}\n"
	got, err := DecodeResponse([]byte(body), -1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Model != "sklearn-iris" || got.Version != "" || got.ID != "d3b3c7a0" {
		t.Errorf("model %q version %q id %q", got.Model, got.Version, got.ID)
	}
	inf := float32(math.Inf(1))
	want := tensor.AppendFloat32(nil, []float32{1, 2.5, -3e-2, 0, inf, -inf})
	raw := got.Outputs[0].Raw
	if v := math.Float32frombits(binary.LittleEndian.Uint32(raw[12:])); !math.IsNaN(float64(v)) {
		t.Errorf("element 3 = %v, want NaN", v)
	}
	copy(raw[12:16], want[12:16]) // NaN != NaN: compare the rest
	sameTensors(t, got.Outputs, []tensor.Tensor{
		{Name: "output-0", DType: tensor.FP32, Shape: []int64{2, 3}, Raw: want},
		{Name: "labels", DType: tensor.Int64, Shape: []int64{2}, Raw: tensor.AppendInt64(nil, []int64{1, 0})},
		{Name: "v", DType: tensor.FP64, Shape: []int64{2}, Raw: tensor.AppendFloat64(nil, []float64{1e308, math.Copysign(0, -1)})},
		{Name: "h", DType: tensor.FP16, Shape: []int64{2}, Raw: tensor.AppendFP16(nil, []float32{0.5, -2})},
	})
}

func TestDecodeNested(t *testing.T) {
	for _, tc := range []struct {
		shape string
		data  string
		want  []int32
	}{
		{"[2,3]", "[[1,2,3],[4,5,6]]", []int32{1, 2, 3, 4, 5, 6}},
		{"[2,3]", "[1,2,3,4,5,6]", []int32{1, 2, 3, 4, 5, 6}},
		{"[1,2,1]", "[[[1],[2]]]", []int32{1, 2}},
		{"[2,0]", "[[],[]]", nil},
		{"[2,0]", "[]", nil},
		{"[0,2]", "[]", nil},
		{"[]", "[5]", []int32{5}},
		{"[1]", "[ 5 ]", []int32{5}},
		{"[2,2]", "[1.0,2e0,-3E+0,4.00]", []int32{1, 2, -3, 4}},
	} {
		body := `{"outputs":[{"name":"o","datatype":"INT32","shape":` + tc.shape + `,"data":` + tc.data + `}]}`
		got, err := DecodeResponse([]byte(body), -1)
		if err != nil {
			t.Errorf("%s %s: %v", tc.shape, tc.data, err)
			continue
		}
		if want := tensor.AppendInt32([]byte{}, tc.want); !bytes.Equal(got.Outputs[0].Raw, want) {
			t.Errorf("%s %s: raw % x, want % x", tc.shape, tc.data, got.Outputs[0].Raw, want)
		}
	}
}

func TestDecodeRequestForms(t *testing.T) {
	// As Triton's Python client sends it: binary inputs, per-output
	// binary_data, request-level binary_data_output overridden.
	in := tensor.AppendInt32(nil, []int32{1, 2})
	header := `{"id":"r","parameters":{"binary_data_output":true,"priority":1},"inputs":[` +
		`{"name":"INPUT0","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":8}},` +
		`{"name":"INPUT1","shape":[1],"datatype":"BYTES","data":["x"]}],` +
		`"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":false}},{"name":"OUTPUT1"}]}`
	got, err := DecodeRequest(slices.Concat([]byte(header), in), len(header), "simple", "")
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, got.Request.Inputs, []tensor.Tensor{
		{Name: "INPUT0", DType: tensor.Int32, Shape: []int64{2}, Raw: in},
		{Name: "INPUT1", DType: tensor.Bytes, Shape: []int64{1}, Raw: tensor.AppendStringElements(nil, []string{"x"})},
	})
	if got.BinaryOutput("OUTPUT0") || !got.BinaryOutput("OUTPUT1") || !got.BinaryOutput("unnamed") {
		t.Errorf("binary: OUTPUT0 %v OUTPUT1 %v unnamed %v, want false true true",
			got.BinaryOutput("OUTPUT0"), got.BinaryOutput("OUTPUT1"), got.BinaryOutput("unnamed"))
	}
	if got.Request.Outputs == nil || len(got.Request.Outputs) != 2 {
		t.Errorf("outputs %q", got.Request.Outputs)
	}

	// No outputs member, or an empty one: all outputs (nil), JSON.
	for _, body := range []string{`{"inputs":[]}`, `{"inputs":[],"outputs":[]}`, `{"inputs":[],"outputs":[],"parameters":null}`} {
		got, err = DecodeRequest([]byte(body), -1, "m", "")
		if err != nil {
			t.Fatal(err)
		}
		if got.Request.Outputs != nil || got.BinaryOutput("x") {
			t.Errorf("%s: outputs %q binary %v, want nil and false", body, got.Request.Outputs, got.BinaryOutput("x"))
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	f4 := string(tensor.AppendFloat32(nil, []float32{1}))
	out := func(members string) string { return `{"outputs":[{` + members + `}]}` }
	for _, tc := range []struct {
		name      string
		body      string
		headerLen int // -2: len of the JSON part, given as jsonLen
		jsonLen   int
		want      error
	}{
		{"empty body", "", -1, 0, ErrMalformed},
		{"not json", "<html>", -1, 0, ErrMalformed},
		{"truncated", `{"outputs":[{"name":"o"`, -1, 0, ErrMalformed},
		{"truncated string", `{"model_name":"ab`, -1, 0, ErrMalformed},
		{"trailing garbage", `{"outputs":[]} x`, -1, 0, ErrMalformed},
		{"trailing NUL", "{\"outputs\":[]}\x00", -1, 0, ErrMalformed},
		{"two values", `{}{}`, -1, 0, ErrMalformed},
		{"top level array", `[]`, -1, 0, ErrMalformed},
		{"outputs not array", `{"outputs":{}}`, -1, 0, ErrMalformed},
		{"outputs twice", `{"outputs":[],"outputs":[]}`, -1, 0, ErrMalformed},
		{"name wrong type", out(`"name":1,"datatype":"FP32","shape":[1],"data":[1]`), -1, 0, ErrMalformed},
		{"no name", out(`"datatype":"FP32","shape":[1],"data":[1]`), -1, 0, ErrMalformed},
		{"no datatype", out(`"name":"o","shape":[1],"data":[1]`), -1, 0, ErrMalformed},
		{"no shape", out(`"name":"o","datatype":"FP32","data":[1]`), -1, 0, ErrMalformed},
		{"member twice", out(`"name":"o","name":"p","datatype":"FP32","shape":[1],"data":[1]`), -1, 0, ErrMalformed},
		{"unknown datatype", out(`"name":"o","datatype":"FP8","shape":[1],"data":[1]`), -1, 0, tensor.ErrDType},
		{"lower-case datatype", out(`"name":"o","datatype":"fp32","shape":[1],"data":[1]`), -1, 0, tensor.ErrDType},
		{"negative dim", out(`"name":"o","datatype":"FP32","shape":[-1],"data":[]`), -1, 0, tensor.ErrShape},
		{"huge dim", out(`"name":"o","datatype":"FP32","shape":[9223372036854775808],"data":[]`), -1, 0, tensor.ErrShape},
		{"fraction dim", out(`"name":"o","datatype":"FP32","shape":[1.5],"data":[1]`), -1, 0, tensor.ErrShape},
		{"too many elements", out(`"name":"o","datatype":"FP32","shape":[65536,65536],"data":[]`), -1, 0, tensor.ErrShape},
		{"short data", out(`"name":"o","datatype":"FP32","shape":[3],"data":[1,2]`), -1, 0, tensor.ErrLength},
		{"long data", out(`"name":"o","datatype":"FP32","shape":[1],"data":[1,2]`), -1, 0, tensor.ErrLength},
		{"ragged", out(`"name":"o","datatype":"FP32","shape":[2,2],"data":[[1,2],[3]]`), -1, 0, tensor.ErrLength},
		{"nested wrong", out(`"name":"o","datatype":"FP32","shape":[2,2],"data":[[1,2,3,4]]`), -1, 0, tensor.ErrLength},
		{"nested mixed", out(`"name":"o","datatype":"FP32","shape":[2,2],"data":[[1,2],3,4]`), -1, 0, ErrMalformed},
		{"nested rank 1", out(`"name":"o","datatype":"FP32","shape":[1],"data":[[1]]`), -1, 0, ErrMalformed},
		{"nested too deep", out(`"name":"o","datatype":"FP32","shape":[1,1],"data":[[[1]]]`), -1, 0, ErrMalformed},
		{"data not array", out(`"name":"o","datatype":"FP32","shape":[1],"data":1`), -1, 0, ErrMalformed},
		{"string in FP32", out(`"name":"o","datatype":"FP32","shape":[1],"data":["1"]`), -1, 0, ErrMalformed},
		{"number in BYTES", out(`"name":"o","datatype":"BYTES","shape":[1],"data":[1]`), -1, 0, ErrMalformed},
		{"number in BOOL", out(`"name":"o","datatype":"BOOL","shape":[1],"data":[1]`), -1, 0, ErrMalformed},
		{"null in data", out(`"name":"o","datatype":"INT32","shape":[1],"data":[null]`), -1, 0, ErrMalformed},
		{"NaN in INT32", out(`"name":"o","datatype":"INT32","shape":[1],"data":[NaN]`), -1, 0, ErrMalformed},
		{"INT8 over", out(`"name":"o","datatype":"INT8","shape":[1],"data":[128]`), -1, 0, tensor.ErrRange},
		{"INT8 under", out(`"name":"o","datatype":"INT8","shape":[1],"data":[-129]`), -1, 0, tensor.ErrRange},
		{"UINT8 negative", out(`"name":"o","datatype":"UINT8","shape":[1],"data":[-1]`), -1, 0, tensor.ErrRange},
		{"UINT16 over", out(`"name":"o","datatype":"UINT16","shape":[1],"data":[65536]`), -1, 0, tensor.ErrRange},
		{"INT32 over", out(`"name":"o","datatype":"INT32","shape":[1],"data":[2147483648]`), -1, 0, tensor.ErrRange},
		{"INT64 over", out(`"name":"o","datatype":"INT64","shape":[1],"data":[9223372036854775808]`), -1, 0, tensor.ErrRange},
		{"UINT64 over", out(`"name":"o","datatype":"UINT64","shape":[1],"data":[18446744073709551616]`), -1, 0, tensor.ErrRange},
		{"INT32 fraction", out(`"name":"o","datatype":"INT32","shape":[1],"data":[1.5]`), -1, 0, tensor.ErrRange},
		{"INT64 inexact", out(`"name":"o","datatype":"INT64","shape":[1],"data":[1e17]`), -1, 0, tensor.ErrRange},
		{"FP32 over", out(`"name":"o","datatype":"FP32","shape":[1],"data":[3.5e38]`), -1, 0, tensor.ErrRange},
		{"FP64 over", out(`"name":"o","datatype":"FP64","shape":[1],"data":[1e309]`), -1, 0, tensor.ErrRange},
		{"FP16 over", out(`"name":"o","datatype":"FP16","shape":[1],"data":[70000]`), -1, 0, tensor.ErrRange},
		{"BF16 over", out(`"name":"o","datatype":"BF16","shape":[1],"data":[3.4e38]`), -1, 0, tensor.ErrRange},
		{"bad number", out(`"name":"o","datatype":"FP32","shape":[1],"data":[01]`), -1, 0, ErrMalformed},
		{"bad number dot", out(`"name":"o","datatype":"FP32","shape":[1],"data":[1.]`), -1, 0, ErrMalformed},
		{"bad number plus", out(`"name":"o","datatype":"FP32","shape":[1],"data":[+1]`), -1, 0, ErrMalformed},
		{"hex number", out(`"name":"o","datatype":"FP32","shape":[1],"data":[0x1]`), -1, 0, ErrMalformed},
		{"bad escape", out(`"name":"o\q","datatype":"FP32","shape":[1],"data":[1]`), -1, 0, ErrMalformed},
		{"bad unicode escape", out(`"name":"o\u12","datatype":"FP32","shape":[1],"data":[1]`), -1, 0, ErrMalformed},
		{"control char", out("\"name\":\"o\x01\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]"), -1, 0, ErrMalformed},
		{"trailing comma", out(`"name":"o","datatype":"FP32","shape":[2],"data":[1,]`), -1, 0, ErrMalformed},
		{"duplicate outputs", `{"outputs":[{"name":"o","datatype":"FP32","shape":[0],"data":[]},{"name":"o","datatype":"FP32","shape":[0],"data":[]}]}`, -1, 0, ErrMalformed},
		{"no data", out(`"name":"o","datatype":"FP32","shape":[1]`), -1, 0, ErrMalformed},
		{"data and binary", out(`"name":"o","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}`) + f4, -2, 0, ErrMalformed},
		{"deep nesting", `{"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, -1, 0, ErrMalformed},

		// Binary chunks and sizes.
		{"binary without header", out(`"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}`) + f4, -1, 0, ErrMalformed},
		{"binary past end", out(`"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":8}`) + f4, -2, 0, ErrMalformed},
		{"binary size larger than body", out(`"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":99999999999999}`) + f4, -2, 0, ErrMalformed},
		{"negative binary size", out(`"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":-4}`) + f4, -2, 0, ErrMalformed},
		{"fraction binary size", out(`"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4.0}`) + f4, -2, 0, ErrMalformed},
		{"string binary size", out(`"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":"4"}`) + f4, -2, 0, ErrMalformed},
		{"bytes left over", out(`"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}`) + f4 + "xx", -2, 0, ErrMalformed},
		{"chunk of wrong size", out(`"name":"o","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":4}`) + f4, -2, 0, tensor.ErrLength},
		{"bad BYTES framing", out(`"name":"o","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":4}`) + "\x09\x00\x00\x00", -2, 0, tensor.ErrLength},
		{"header length past end", `{"outputs":[]}`, 100, 0, ErrMalformed},
		{"header length too short", `{"outputs":[]}`, 5, 0, ErrMalformed},
		{"header length too long", out(`"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}`) + f4, -3, 0, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			hl := tc.headerLen
			switch hl {
			case -2: // the header is everything before the binary chunk
				hl = bytes.LastIndexByte(body, '}') + 1
			case -3: // the header claims the chunk too
				hl = len(body)
			}
			got, err := DecodeResponse(body, hl)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", got)
			}
			// A body of the wrong form is INTERNAL, as grpc-go reports a
			// response it cannot unmarshal; an output whose data does not
			// fit it is a TensorError, as the gRPC transport reports one.
			var e *Error
			var te *wire.TensorError
			if !errors.Is(tc.want, ErrMalformed) || tc.name == "no data" {
				if !errors.As(err, &te) || te.Tensor != "o" || !te.Output {
					t.Errorf("%v (%T), want a *wire.TensorError of output o", err, err)
				}
			} else if !errors.As(err, &e) || status.Code(err) != codes.Internal {
				t.Errorf("%v: code %v, want an *Error with INTERNAL", err, status.Code(err))
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("%v does not wrap %v", err, tc.want)
			}
			// The same body as a request fails too, as INVALID_ARGUMENT.
			if !bytes.HasPrefix(body, []byte(`{"outputs":`)) {
				return
			}
			req := bytes.ReplaceAll(body, []byte(`"outputs":`), []byte(`"inputs":`))
			if _, err := DecodeRequest(req, hl, "m", ""); status.Code(err) != codes.InvalidArgument {
				t.Errorf("as a request: %v (code %v), want INVALID_ARGUMENT", err, status.Code(err))
			}
		})
	}
}

func TestDecodeRequestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		hl   int
	}{
		{"raw mode", "abcd", 0},
		{"no inputs", `{"id":"x"}`, -1},
		{"output twice", `{"inputs":[],"outputs":[{"name":"a"},{"name":"a"}]}`, -1},
		{"output no name", `{"inputs":[],"outputs":[{}]}`, -1},
		{"binary_data not bool", `{"inputs":[],"outputs":[{"name":"a","parameters":{"binary_data":1}}]}`, -1},
		{"binary_data_output not bool", `{"inputs":[],"parameters":{"binary_data_output":"yes"}}`, -1},
		{"many outputs twice", `{"inputs":[],"outputs":[` + strings.Repeat(`{"name":"a"},`, 20) + `{"name":"b"}]}`, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeRequest([]byte(tc.body), tc.hl, "m", "")
			if status.Code(err) != codes.InvalidArgument || !errors.Is(err, ErrMalformed) {
				t.Errorf("%v (code %v), want INVALID_ARGUMENT wrapping ErrMalformed", err, status.Code(err))
			}
		})
	}
}

func TestParseHeaderLength(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   int
		ok     bool
	}{
		{nil, -1, true},
		{[]string{"0"}, 0, true},
		{[]string{"10"}, 10, true},
		{[]string{"11"}, 0, false},
		{[]string{"-1"}, 0, false},
		{[]string{""}, 0, false},
		{[]string{"1e3"}, 0, false},
		{[]string{"99999999999999999999999"}, 0, false},
		{[]string{"1", "1"}, 0, false},
	} {
		got, err := ParseHeaderLength(tc.values, 10)
		if (err == nil) != tc.ok || tc.ok && got != tc.want {
			t.Errorf("ParseHeaderLength(%q, 10) = %d, %v; want %d, ok %v", tc.values, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%v does not wrap ErrMalformed", err)
		}
	}
}

// TestDecodeAllocationBounded checks that a body claiming a huge tensor
// costs memory in proportion to its bytes, not to its claim.
func TestDecodeAllocationBounded(t *testing.T) {
	for _, dt := range []string{"FP64", "BYTES"} {
		elem := "1"
		if dt == "BYTES" {
			elem = `""`
		}
		body := []byte(`{"outputs":[{"name":"o","datatype":"` + dt + `","shape":[2147483647],"data":[` +
			strings.Repeat(elem+",", 10000) + elem + `]}]}`)
		before := totalAlloc()
		_, err := DecodeResponse(body, -1)
		after := totalAlloc()
		if !errors.Is(err, tensor.ErrLength) {
			t.Fatalf("%s: %v, want tensor.ErrLength", dt, err)
		}
		// 10001 elements of 8 bytes, doubled once at worst, and change:
		// nowhere near the 16 GiB claimed.
		if got, limit := after-before, uint64(16*len(body)+64<<10); got > limit {
			t.Errorf("%s: decoding a %d-byte body allocated %d bytes, more than %d", dt, len(body), got, limit)
		}
	}
}

func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestDecodeResponseNamesLongOutputs checks that a TensorError names an
// output by at most maxEchoed bytes of its name, cut at a rune boundary:
// a hostile server's name can take the whole body.
func TestDecodeResponseNamesLongOutputs(t *testing.T) {
	name := strings.Repeat("a", maxEchoed-1) + "é" + strings.Repeat("b", 1000)
	body := `{"outputs":[{"name":"` + name + `","datatype":"FP32","shape":[2],"data":[1]}]}`
	_, err := DecodeResponse([]byte(body), -1)
	var te *wire.TensorError
	if !errors.As(err, &te) || !errors.Is(err, tensor.ErrLength) {
		t.Fatalf("%v, want a *wire.TensorError wrapping tensor.ErrLength", err)
	}
	if want := strings.Repeat("a", maxEchoed-1) + "…"; te.Tensor != want {
		t.Errorf("named %q, want %q", te.Tensor, want)
	}
}
