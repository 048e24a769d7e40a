package tfs

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sampleTensors holds one tensor of every datatype, with values that
// exercise each type's range, plus scalars and empty tensors.
func sampleTensors() []tensor.Tensor {
	return []tensor.Tensor{
		{Name: "bool", DType: tensor.Bool, Shape: []int64{2, 2}, Raw: tensor.AppendBool(nil, []bool{true, false, false, true})},
		{Name: "u8", DType: tensor.Uint8, Shape: []int64{3}, Raw: tensor.AppendUint8(nil, []uint8{0, 7, 255})},
		{Name: "u16", DType: tensor.Uint16, Shape: []int64{3}, Raw: tensor.AppendUint16(nil, []uint16{0, 7, math.MaxUint16})},
		{Name: "u32", DType: tensor.Uint32, Shape: []int64{3}, Raw: tensor.AppendUint32(nil, []uint32{0, 7, math.MaxUint32})},
		{Name: "u64", DType: tensor.Uint64, Shape: []int64{3}, Raw: tensor.AppendUint64(nil, []uint64{0, 7, math.MaxUint64})},
		{Name: "i8", DType: tensor.Int8, Shape: []int64{3}, Raw: tensor.AppendInt8(nil, []int8{math.MinInt8, -1, math.MaxInt8})},
		{Name: "i16", DType: tensor.Int16, Shape: []int64{3}, Raw: tensor.AppendInt16(nil, []int16{math.MinInt16, -1, math.MaxInt16})},
		{Name: "i32", DType: tensor.Int32, Shape: []int64{1, 3}, Raw: tensor.AppendInt32(nil, []int32{math.MinInt32, -1, math.MaxInt32})},
		{Name: "i64", DType: tensor.Int64, Shape: []int64{3, 1}, Raw: tensor.AppendInt64(nil, []int64{math.MinInt64, -1, math.MaxInt64})},
		{Name: "fp16", DType: tensor.FP16, Shape: []int64{3}, Raw: tensor.AppendFP16(nil, []float32{-2, 0.5, 65504})},
		{Name: "bf16", DType: tensor.BF16, Shape: []int64{3}, Raw: tensor.AppendBF16(nil, []float32{-2, 0.5, 1e30})},
		{Name: "fp32", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: tensor.AppendFloat32(nil, []float32{-1.5, 0, float32(math.Inf(1)), math.MaxFloat32})},
		{Name: "fp64", DType: tensor.FP64, Shape: []int64{2}, Raw: tensor.AppendFloat64(nil, []float64{math.SmallestNonzeroFloat64, -math.MaxFloat64})},
		{Name: "bytes", DType: tensor.Bytes, Shape: []int64{3}, Raw: tensor.AppendStringElements(nil, []string{"", "héllo", "\x00\xff"})},
		{Name: "scalar", DType: tensor.FP32, Shape: []int64{}, Raw: tensor.AppendFloat32(nil, []float32{42})},
		{Name: "scalar_bytes", DType: tensor.Bytes, Shape: []int64{}, Raw: tensor.AppendStringElements(nil, []string{"one"})},
		{Name: "empty", DType: tensor.Int64, Shape: []int64{0, 4}, Raw: []byte{}},
		{Name: "empty_bytes", DType: tensor.Bytes, Shape: []int64{2, 0}, Raw: []byte{}},
	}
}

func sameTensor(t *testing.T, got, want tensor.Tensor) {
	t.Helper()
	if got.Name != want.Name || got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || !bytes.Equal(got.Raw, want.Raw) {
		t.Errorf("got  %s %v %v %x\nwant %s %v %v %x", got.Name, got.DType, got.Shape, got.Raw, want.Name, want.DType, want.Shape, want.Raw)
	}
}

// TestTensorRoundTrip encodes every datatype in each of the three forms
// and decodes it back to the same tensor.
func TestTensorRoundTrip(t *testing.T) {
	forms := map[string]func(tensor.Tensor) (*tfspb.TensorProto, error){
		"request": EncodeTensor, "typed": EncodeTensorTyped, "content": EncodeTensorContent,
	}
	for form, encode := range forms {
		for _, want := range sampleTensors() {
			p, err := encode(want)
			if err != nil {
				t.Fatalf("%s %s: %v", form, want.Name, err)
			}
			got, err := DecodeTensor(want.Name, p, 0)
			if err != nil {
				t.Fatalf("%s %s: %v", form, want.Name, err)
			}
			sameTensor(t, got, want)
		}
	}
}

// TestEncodeTensorForms checks which field each form fills, and that the
// request form aliases the tensor's bytes instead of copying them.
func TestEncodeTensorForms(t *testing.T) {
	raw := tensor.AppendFloat32(nil, []float32{1, 2})
	p, err := EncodeTensor(tensor.Tensor{Name: "x", DType: tensor.FP32, Shape: []int64{2}, Raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	if p.Dtype != tfspb.DataType_DT_FLOAT || len(p.FloatVal) != 0 || &p.TensorContent[0] != &raw[0] {
		t.Errorf("FP32 request: dtype %v, float_val %v, tensor_content aliased %v", p.Dtype, p.FloatVal, &p.TensorContent[0] == &raw[0])
	}
	half := tensor.AppendFP16(nil, []float32{1, -2})
	p, _ = EncodeTensor(tensor.Tensor{Name: "h", DType: tensor.FP16, Shape: []int64{2}, Raw: half})
	if p.Dtype != tfspb.DataType_DT_HALF || !bytes.Equal(p.TensorContent, half) || len(p.HalfVal) != 0 {
		t.Errorf("FP16 request: %v", p)
	}
	p, _ = EncodeTensorTyped(tensor.Tensor{Name: "h", DType: tensor.BF16, Shape: []int64{2}, Raw: tensor.AppendBF16(nil, []float32{1, -2})})
	if want := []int32{0x3f80, 0xc000}; !slices.Equal(p.HalfVal, want) {
		t.Errorf("BF16 typed half_val = %#x, want %#x (16-bit patterns, not sign-extended)", p.HalfVal, want)
	}
	strs := tensor.AppendStringElements(nil, []string{"ab", "c"})
	p, _ = EncodeTensor(tensor.Tensor{Name: "s", DType: tensor.Bytes, Shape: []int64{2}, Raw: strs})
	if len(p.StringVal) != 2 || string(p.StringVal[0]) != "ab" || &p.StringVal[0][0] != &strs[4] || p.TensorContent != nil {
		t.Errorf("BYTES request: %q, content %x", p.StringVal, p.TensorContent)
	}
	p, _ = EncodeTensorContent(tensor.Tensor{Name: "s", DType: tensor.Bytes, Shape: []int64{2}, Raw: strs})
	if want := []byte{2, 1, 'a', 'b', 'c'}; !bytes.Equal(p.TensorContent, want) || p.StringVal != nil {
		t.Errorf("BYTES content = %x, want TensorFlow's string list %x", p.TensorContent, want)
	}
	if _, err := EncodeTensor(tensor.Tensor{Name: "bad", DType: tensor.FP32, Shape: []int64{3}, Raw: raw}); !errors.Is(err, tensor.ErrLength) {
		t.Errorf("encoding a short tensor: %v, want ErrLength", err)
	}
}

func shape(dims ...int64) *tfspb.TensorShapeProto { return shapeProto(dims) }

// TestDecodeTypedFields decodes each typed field TF Serving answers with.
func TestDecodeTypedFields(t *testing.T) {
	cases := []struct {
		name string
		p    *tfspb.TensorProto
		want tensor.Tensor
	}{
		{"float_val", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(2), FloatVal: []float32{1.5, -2}},
			tensor.Tensor{DType: tensor.FP32, Shape: []int64{2}, Raw: tensor.AppendFloat32(nil, []float32{1.5, -2})}},
		{"double_val", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_DOUBLE, TensorShape: shape(1), DoubleVal: []float64{math.Pi}},
			tensor.Tensor{DType: tensor.FP64, Shape: []int64{1}, Raw: tensor.AppendFloat64(nil, []float64{math.Pi})}},
		{"int_val int32", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT32, TensorShape: shape(2), IntVal: []int32{-7, 9}},
			tensor.Tensor{DType: tensor.Int32, Shape: []int64{2}, Raw: tensor.AppendInt32(nil, []int32{-7, 9})}},
		{"int_val int16", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT16, TensorShape: shape(2), IntVal: []int32{-300, 300}},
			tensor.Tensor{DType: tensor.Int16, Shape: []int64{2}, Raw: tensor.AppendInt16(nil, []int16{-300, 300})}},
		{"int_val int8", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT8, TensorShape: shape(2), IntVal: []int32{-128, 127}},
			tensor.Tensor{DType: tensor.Int8, Shape: []int64{2}, Raw: tensor.AppendInt8(nil, []int8{-128, 127})}},
		{"int_val uint8", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_UINT8, TensorShape: shape(2), IntVal: []int32{0, 255}},
			tensor.Tensor{DType: tensor.Uint8, Shape: []int64{2}, Raw: []byte{0, 255}}},
		{"int_val uint16", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_UINT16, TensorShape: shape(2), IntVal: []int32{0, 65535}},
			tensor.Tensor{DType: tensor.Uint16, Shape: []int64{2}, Raw: tensor.AppendUint16(nil, []uint16{0, 65535})}},
		{"int64_val", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT64, TensorShape: shape(1), Int64Val: []int64{math.MinInt64}},
			tensor.Tensor{DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{math.MinInt64})}},
		{"bool_val", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_BOOL, TensorShape: shape(2), BoolVal: []bool{true, false}},
			tensor.Tensor{DType: tensor.Bool, Shape: []int64{2}, Raw: []byte{1, 0}}},
		{"string_val", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(2), StringVal: [][]byte{[]byte("a"), {}}},
			tensor.Tensor{DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"a", ""})}},
		{"half_val half", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_HALF, TensorShape: shape(2), HalfVal: []int32{0x3c00, 0xc000}},
			tensor.Tensor{DType: tensor.FP16, Shape: []int64{2}, Raw: tensor.AppendFP16(nil, []float32{1, -2})}},
		{"half_val bfloat16", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_BFLOAT16, TensorShape: shape(2), HalfVal: []int32{0x3f80, 0xc000}},
			tensor.Tensor{DType: tensor.BF16, Shape: []int64{2}, Raw: tensor.AppendBF16(nil, []float32{1, -2})}},
		{"uint32_val", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_UINT32, TensorShape: shape(1), Uint32Val: []uint32{math.MaxUint32}},
			tensor.Tensor{DType: tensor.Uint32, Shape: []int64{1}, Raw: tensor.AppendUint32(nil, []uint32{math.MaxUint32})}},
		{"uint64_val", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_UINT64, TensorShape: shape(1), Uint64Val: []uint64{math.MaxUint64}},
			tensor.Tensor{DType: tensor.Uint64, Shape: []int64{1}, Raw: tensor.AppendUint64(nil, []uint64{math.MaxUint64})}},
		{"no shape is a scalar", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT64, Int64Val: []int64{5}},
			tensor.Tensor{DType: tensor.Int64, Shape: []int64{}, Raw: tensor.AppendInt64(nil, []int64{5})}},
		// TensorFlow's Tensor::FromProto: fewer values than elements repeat
		// the last one, none at all is zeros.
		{"repeat last float", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(2, 3), FloatVal: []float32{1, 2}},
			tensor.Tensor{DType: tensor.FP32, Shape: []int64{2, 3}, Raw: tensor.AppendFloat32(nil, []float32{1, 2, 2, 2, 2, 2})}},
		{"repeat last int8", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT8, TensorShape: shape(4), IntVal: []int32{-3}},
			tensor.Tensor{DType: tensor.Int8, Shape: []int64{4}, Raw: tensor.AppendInt8(nil, []int8{-3, -3, -3, -3})}},
		{"repeat last half", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_HALF, TensorShape: shape(3), HalfVal: []int32{0x3c00}},
			tensor.Tensor{DType: tensor.FP16, Shape: []int64{3}, Raw: tensor.AppendFP16(nil, []float32{1, 1, 1})}},
		{"repeat last string", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(3), StringVal: [][]byte{[]byte("x"), []byte("yz")}},
			tensor.Tensor{DType: tensor.Bytes, Shape: []int64{3}, Raw: tensor.AppendStringElements(nil, []string{"x", "yz", "yz"})}},
		{"no values is zeros", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_DOUBLE, TensorShape: shape(3)},
			tensor.Tensor{DType: tensor.FP64, Shape: []int64{3}, Raw: make([]byte, 24)}},
		{"no values is empty strings", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(2)},
			tensor.Tensor{DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"", ""})}},
		{"string tensor_content", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(2), TensorContent: []byte{1, 0, 'q'}},
			tensor.Tensor{DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"q", ""})}},
	}
	for _, c := range cases {
		got, err := DecodeTensor(c.name, c.p, 0)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		c.want.Name = c.name
		sameTensor(t, got, c.want)
	}
}

// TestDecodeHostile feeds protos no correct server sends: each fails with
// the sentinel it should, naming the tensor.
func TestDecodeHostile(t *testing.T) {
	big := int64(1) << 20
	cases := []struct {
		name string
		p    *tfspb.TensorProto
		want error
	}{
		{"content too short", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(3), TensorContent: make([]byte, 8)}, tensor.ErrLength},
		{"content too long", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT64, TensorShape: shape(1), TensorContent: make([]byte, 9)}, tensor.ErrLength},
		{"content for no elements", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT8, TensorShape: shape(0), TensorContent: []byte{1}}, tensor.ErrLength},
		{"unknown dimension", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(-1, 2)}, tensor.ErrShape},
		{"negative dimension", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(2, -7)}, tensor.ErrShape},
		{"2^40 elements", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(big, big), FloatVal: []float32{1}}, tensor.ErrShape},
		{"zero launders nothing", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(0, 1<<40)}, tensor.ErrShape},
		{"unknown rank", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: &tfspb.TensorShapeProto{UnknownRank: true}}, tensor.ErrShape},
		{"unknown rank with dims", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: &tfspb.TensorShapeProto{UnknownRank: true, Dim: shape(1).Dim}}, tensor.ErrShape},
		{"complex", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_COMPLEX64, TensorShape: shape(1), ScomplexVal: []float32{1, 2}}, tensor.ErrDType},
		{"resource", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_RESOURCE, TensorShape: shape(1)}, tensor.ErrDType},
		{"quantized", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_QINT8, TensorShape: shape(1), IntVal: []int32{1}}, tensor.ErrDType},
		{"invalid", &tfspb.TensorProto{TensorShape: shape(1)}, tensor.ErrDType},
		{"unknown type number", &tfspb.TensorProto{Dtype: tfspb.DataType(24), TensorShape: shape(1), TensorContent: []byte{1}}, tensor.ErrDType},
		{"another type's field", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(1), IntVal: []int32{1}}, tensor.ErrDType},
		{"both raw and typed", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(1), FloatVal: []float32{1}, TensorContent: make([]byte, 4)}, tensor.ErrLength},
		{"more values than elements", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT64, TensorShape: shape(1), Int64Val: []int64{1, 2}}, tensor.ErrLength},
		{"values for no elements", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(0), StringVal: [][]byte{{}}}, tensor.ErrLength},
		{"int8 out of range", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_INT8, TensorShape: shape(1), IntVal: []int32{128}}, tensor.ErrRange},
		{"uint8 negative", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_UINT8, TensorShape: shape(1), IntVal: []int32{-1}}, tensor.ErrRange},
		{"half wider than 16 bits", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_HALF, TensorShape: shape(1), HalfVal: []int32{0x10000}}, tensor.ErrRange},
		{"half negative", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_BFLOAT16, TensorShape: shape(1), HalfVal: []int32{-1}}, tensor.ErrRange},
		{"string list: more strings than bytes", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(4), TensorContent: []byte{0, 0}}, tensor.ErrLength},
		{"string list: lengths past the end", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(1), TensorContent: []byte{5, 'a'}}, tensor.ErrLength},
		{"string list: bytes left over", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(1), TensorContent: []byte{1, 'a', 'b'}}, tensor.ErrLength},
		{"string list: bad varint", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(1), TensorContent: []byte{0x80, 0x80}}, tensor.ErrLength},
		// The repeat rule stretches a few bytes over a huge shape: refused
		// by the limit before anything is allocated.
		{"one float over 2^30 elements", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(1 << 30), FloatVal: []float32{1}}, ErrTooLarge},
		{"no doubles over 2^31-1 elements", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_DOUBLE, TensorShape: shape(math.MaxInt32)}, ErrTooLarge},
		{"one string over 2^30 elements", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(1 << 30), StringVal: [][]byte{make([]byte, 1024)}}, ErrTooLarge},
		{"no strings over 2^31-1 elements", &tfspb.TensorProto{Dtype: tfspb.DataType_DT_STRING, TensorShape: shape(math.MaxInt32)}, ErrTooLarge},
	}
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := DecodeTensor("x", c.p, 0)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
			continue
		}
		var te *tensor.Error
		if !errors.As(err, &te) || te.Name != "x" {
			t.Errorf("%s: %v is not a *tensor.Error naming the tensor", c.name, err)
		}
		// Nothing in proportion to the shape: a failed decode allocates a
		// few error values, never the tensor.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%s: allocated %d bytes to fail", c.name, grew)
		}
		// A transport reports these as the server's fault.
		want := codes.Internal
		if c.want == ErrTooLarge {
			want = codes.ResourceExhausted
		}
		if code := status.Code(badResponse(err)); code != want {
			t.Errorf("%s: code %v, want %v", c.name, code, want)
		}
		if !errors.Is(badResponse(err), c.want) {
			t.Errorf("%s: badResponse hides the sentinel", c.name)
		}
	}
}

// TestDecodeLimit checks the limit is exact, in both directions.
func TestDecodeLimit(t *testing.T) {
	p := &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(4), FloatVal: []float32{1}}
	if _, err := DecodeTensor("x", p, 16); err != nil {
		t.Errorf("16 bytes within a limit of 16: %v", err)
	}
	if _, err := DecodeTensor("x", p, 15); !errors.Is(err, ErrTooLarge) {
		t.Errorf("16 bytes over a limit of 15: %v", err)
	}
	p = &tfspb.TensorProto{Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(4), TensorContent: make([]byte, 16)}
	if _, err := DecodeTensor("x", p, 15); !errors.Is(err, ErrTooLarge) {
		t.Errorf("tensor_content over the limit: %v", err)
	}
	// One limit for all of a response's outputs.
	resp := &tfspb.PredictResponse{Outputs: map[string]*tfspb.TensorProto{
		"a": {Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(3)},
		"b": {Dtype: tfspb.DataType_DT_FLOAT, TensorShape: shape(3)},
	}}
	if _, err := PredictResponse(resp, nil, 24); err != nil {
		t.Errorf("24 bytes in two outputs within 24: %v", err)
	}
	if _, err := PredictResponse(resp, nil, 23); status.Code(err) != codes.ResourceExhausted || !errors.Is(err, ErrTooLarge) {
		t.Errorf("24 bytes in two outputs over 23: %v", err)
	}
}

func TestDTypeMapping(t *testing.T) {
	for d := tensor.Bool; d <= tensor.Bytes; d++ {
		tf, ok := ToTF(d)
		if !ok {
			t.Errorf("%v has no TensorFlow type", d)
		}
		back, ok := FromTF(tf)
		if !ok || back != d {
			t.Errorf("%v -> %v -> %v", d, tf, back)
		}
		if DatatypeName(tf) != d.String() {
			t.Errorf("DatatypeName(%v) = %q, want %q", tf, DatatypeName(tf), d)
		}
	}
	if _, ok := ToTF(tensor.Invalid); ok {
		t.Error("Invalid has a TensorFlow type")
	}
	for _, tf := range []tfspb.DataType{tfspb.DataType_DT_INVALID, tfspb.DataType_DT_COMPLEX128, tfspb.DataType_DT_QUINT16, tfspb.DataType_DT_VARIANT, 24} {
		if d, ok := FromTF(tf); ok {
			t.Errorf("%v maps to %v", tf, d)
		}
	}
	if got := DatatypeName(tfspb.DataType_DT_COMPLEX64); got != "DT_COMPLEX64" {
		t.Errorf("DatatypeName(DT_COMPLEX64) = %q", got)
	}
	if got := DatatypeName(24); got != "DataType(24)" {
		t.Errorf("DatatypeName(24) = %q", got)
	}
}
