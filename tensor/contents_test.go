package tensor

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/goai-dev/goai/runtime/inferencepb"
	"google.golang.org/protobuf/proto"
)

func TestContentsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		dt  DType
		c   *inferencepb.InferTensorContents
		raw []byte
	}{
		{Bool, &inferencepb.InferTensorContents{BoolContents: []bool{true, false}}, []byte{1, 0}},
		{Int8, &inferencepb.InferTensorContents{IntContents: []int32{-1, 127}}, []byte{0xff, 0x7f}},
		{Int16, &inferencepb.InferTensorContents{IntContents: []int32{-2, 0x1234}}, []byte{0xfe, 0xff, 0x34, 0x12}},
		{Int32, &inferencepb.InferTensorContents{IntContents: []int32{-2, 1}}, AppendInt32(nil, []int32{-2, 1})},
		{Int64, &inferencepb.InferTensorContents{Int64Contents: []int64{math.MinInt64, 1}}, AppendInt64(nil, []int64{math.MinInt64, 1})},
		{Uint8, &inferencepb.InferTensorContents{UintContents: []uint32{0, 255}}, []byte{0, 255}},
		{Uint16, &inferencepb.InferTensorContents{UintContents: []uint32{0x1234, 1}}, []byte{0x34, 0x12, 1, 0}},
		{Uint32, &inferencepb.InferTensorContents{UintContents: []uint32{math.MaxUint32, 1}}, AppendUint32(nil, []uint32{math.MaxUint32, 1})},
		{Uint64, &inferencepb.InferTensorContents{Uint64Contents: []uint64{math.MaxUint64, 1}}, AppendUint64(nil, []uint64{math.MaxUint64, 1})},
		{FP32, &inferencepb.InferTensorContents{Fp32Contents: []float32{1, -2.5}}, AppendFloat32(nil, []float32{1, -2.5})},
		{FP64, &inferencepb.InferTensorContents{Fp64Contents: []float64{1, -2.5}}, AppendFloat64(nil, []float64{1, -2.5})},
		{Bytes, &inferencepb.InferTensorContents{BytesContents: [][]byte{[]byte("ab"), {}}}, []byte{2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0}},
	} {
		t.Run(tc.dt.String(), func(t *testing.T) {
			raw, err := FromContents(tc.dt, []int64{2, 1}, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw, tc.raw) {
				t.Fatalf("FromContents = % x, want % x", raw, tc.raw)
			}
			c, err := ToContents(tc.dt, raw)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(c, tc.c) {
				t.Fatalf("ToContents = %v, want %v", c, tc.c)
			}
			// Wrong element count.
			if _, err := FromContents(tc.dt, []int64{3}, tc.c); !errors.Is(err, ErrLength) {
				t.Errorf("FromContents with 3 elements: %v, want ErrLength", err)
			}
		})
	}
}

func TestFromContentsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dt    DType
		shape []int64
		c     *inferencepb.InferTensorContents
		err   error
	}{
		{"FP16 typed", FP16, []int64{1}, &inferencepb.InferTensorContents{Fp32Contents: []float32{1}}, ErrDType},
		{"BF16 typed", BF16, []int64{1}, nil, ErrDType},
		{"invalid", Invalid, []int64{1}, nil, ErrDType},
		{"wrong field", FP32, []int64{1}, &inferencepb.InferTensorContents{Fp32Contents: []float32{1}, IntContents: []int32{1}}, ErrDType},
		{"only wrong field", Int64, []int64{1}, &inferencepb.InferTensorContents{IntContents: []int32{1}}, ErrDType},
		{"INT8 range", Int8, []int64{1}, &inferencepb.InferTensorContents{IntContents: []int32{128}}, ErrRange},
		{"INT16 range", Int16, []int64{1}, &inferencepb.InferTensorContents{IntContents: []int32{-40000}}, ErrRange},
		{"UINT8 range", Uint8, []int64{1}, &inferencepb.InferTensorContents{UintContents: []uint32{256}}, ErrRange},
		{"nil with elements", FP32, []int64{2}, nil, ErrLength},
		{"too many", FP32, []int64{1}, &inferencepb.InferTensorContents{Fp32Contents: []float32{1, 2}}, ErrLength},
		{"negative", FP32, []int64{-1}, nil, ErrShape},
		{"huge", FP32, []int64{1 << 40}, nil, ErrShape},
		{"nil empty ok", FP32, []int64{0, 3}, nil, nil},
	} {
		_, err := FromContents(tc.dt, tc.shape, tc.c)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
	}
	for _, dt := range []DType{FP16, BF16, Invalid} {
		if _, err := ToContents(dt, []byte{0, 0}); !errors.Is(err, ErrDType) {
			t.Errorf("ToContents(%v) = %v, want ErrDType", dt, err)
		}
	}
	if _, err := ToContents(FP32, []byte{0, 0}); !errors.Is(err, ErrLength) {
		t.Errorf("ToContents(FP32, 2 bytes) = %v, want ErrLength", err)
	}
	if _, err := ToContents(Bytes, []byte{9, 0, 0, 0}); !errors.Is(err, ErrLength) {
		t.Errorf("ToContents(BYTES, bad framing) = %v, want ErrLength", err)
	}
}
