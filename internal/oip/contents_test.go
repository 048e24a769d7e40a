package oip

import (
	"bytes"
	"errors"
	"github.com/goai-dev/goai/internal/testalloc"
	"github.com/goai-dev/goai/tensor"
	"math"
	"strings"
	"testing"

	"github.com/goai-dev/goai/internal/oippb"
	"google.golang.org/protobuf/proto"
)

func TestContentsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		dt  tensor.DType
		c   *oippb.InferTensorContents
		raw []byte
	}{
		{tensor.Bool, &oippb.InferTensorContents{BoolContents: []bool{true, false}}, []byte{1, 0}},
		{tensor.Int8, &oippb.InferTensorContents{IntContents: []int32{-1, 127}}, []byte{0xff, 0x7f}},
		{tensor.Int16, &oippb.InferTensorContents{IntContents: []int32{-2, 0x1234}}, []byte{0xfe, 0xff, 0x34, 0x12}},
		{tensor.Int32, &oippb.InferTensorContents{IntContents: []int32{-2, 1}}, tensor.AppendInt32(nil, []int32{-2, 1})},
		{tensor.Int64, &oippb.InferTensorContents{Int64Contents: []int64{math.MinInt64, 1}}, tensor.AppendInt64(nil, []int64{math.MinInt64, 1})},
		{tensor.Uint8, &oippb.InferTensorContents{UintContents: []uint32{0, 255}}, []byte{0, 255}},
		{tensor.Uint16, &oippb.InferTensorContents{UintContents: []uint32{0x1234, 1}}, []byte{0x34, 0x12, 1, 0}},
		{tensor.Uint32, &oippb.InferTensorContents{UintContents: []uint32{math.MaxUint32, 1}}, tensor.AppendUint32(nil, []uint32{math.MaxUint32, 1})},
		{tensor.Uint64, &oippb.InferTensorContents{Uint64Contents: []uint64{math.MaxUint64, 1}}, tensor.AppendUint64(nil, []uint64{math.MaxUint64, 1})},
		{tensor.FP32, &oippb.InferTensorContents{Fp32Contents: []float32{1, -2.5}}, tensor.AppendFloat32(nil, []float32{1, -2.5})},
		{tensor.FP64, &oippb.InferTensorContents{Fp64Contents: []float64{1, -2.5}}, tensor.AppendFloat64(nil, []float64{1, -2.5})},
		{tensor.Bytes, &oippb.InferTensorContents{BytesContents: [][]byte{[]byte("ab"), {}}}, []byte{2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0}},
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
			if _, err := FromContents(tc.dt, []int64{3}, tc.c); !errors.Is(err, tensor.ErrLength) {
				t.Errorf("FromContents with 3 elements: %v, want tensor.ErrLength", err)
			}
		})
	}
}

func TestFromContentsErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dt    tensor.DType
		shape []int64
		c     *oippb.InferTensorContents
		err   error
	}{
		{"tensor.FP16 typed", tensor.FP16, []int64{1}, &oippb.InferTensorContents{Fp32Contents: []float32{1}}, tensor.ErrDType},
		{"tensor.BF16 typed", tensor.BF16, []int64{1}, nil, tensor.ErrDType},
		{"invalid", tensor.Invalid, []int64{1}, nil, tensor.ErrDType},
		{"wrong field", tensor.FP32, []int64{1}, &oippb.InferTensorContents{Fp32Contents: []float32{1}, IntContents: []int32{1}}, tensor.ErrDType},
		{"only wrong field", tensor.Int64, []int64{1}, &oippb.InferTensorContents{IntContents: []int32{1}}, tensor.ErrDType},
		{"INT8 range", tensor.Int8, []int64{1}, &oippb.InferTensorContents{IntContents: []int32{128}}, tensor.ErrRange},
		{"INT16 range", tensor.Int16, []int64{1}, &oippb.InferTensorContents{IntContents: []int32{-40000}}, tensor.ErrRange},
		{"UINT8 range", tensor.Uint8, []int64{1}, &oippb.InferTensorContents{UintContents: []uint32{256}}, tensor.ErrRange},
		{"nil with elements", tensor.FP32, []int64{2}, nil, tensor.ErrLength},
		{"too many", tensor.FP32, []int64{1}, &oippb.InferTensorContents{Fp32Contents: []float32{1, 2}}, tensor.ErrLength},
		{"negative", tensor.FP32, []int64{-1}, nil, tensor.ErrShape},
		{"huge", tensor.FP32, []int64{1 << 40}, nil, tensor.ErrShape},
		{"nil empty ok", tensor.FP32, []int64{0, 3}, nil, nil},
	} {
		_, err := FromContents(tc.dt, tc.shape, tc.c)
		if !errors.Is(err, tc.err) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.err)
		}
	}
	for _, dt := range []tensor.DType{tensor.FP16, tensor.BF16, tensor.Invalid} {
		if _, err := ToContents(dt, []byte{0, 0}); !errors.Is(err, tensor.ErrDType) {
			t.Errorf("ToContents(%v) = %v, want tensor.ErrDType", dt, err)
		}
	}
	if _, err := ToContents(tensor.FP32, []byte{0, 0}); !errors.Is(err, tensor.ErrLength) {
		t.Errorf("ToContents(tensor.FP32, 2 bytes) = %v, want tensor.ErrLength", err)
	}
	if _, err := ToContents(tensor.Bytes, []byte{9, 0, 0, 0}); !errors.Is(err, tensor.ErrLength) {
		t.Errorf("ToContents(BYTES, bad framing) = %v, want tensor.ErrLength", err)
	}
}

func TestBytesFromContents(t *testing.T) {
	c := &oippb.InferTensorContents{BytesContents: [][]byte{[]byte("a"), {}}}
	got, err := BytesFromContents([]int64{1, 2}, c)
	if err != nil || len(got) != 2 || &got[0] != &c.BytesContents[0] {
		t.Errorf("BytesFromContents = %q, %v; want the contents' own elements", got, err)
	}
	for _, tc := range []struct {
		shape []int64
		c     *oippb.InferTensorContents
		err   error
	}{
		{[]int64{3}, c, tensor.ErrLength},
		{[]int64{-1}, c, tensor.ErrShape},
		{[]int64{2}, &oippb.InferTensorContents{BytesContents: c.BytesContents, IntContents: []int32{1}}, tensor.ErrDType},
		{[]int64{1}, nil, tensor.ErrLength},
	} {
		if _, err := BytesFromContents(tc.shape, tc.c); !errors.Is(err, tc.err) {
			t.Errorf("BytesFromContents(%v, %v) = %v, want %v", tc.shape, tc.c, err, tc.err)
		}
	}
	if got, err := BytesFromContents([]int64{0}, nil); err != nil || len(got) != 0 {
		t.Errorf("no elements: %q, %v", got, err)
	}
}

// TestContentsErrorsBounded checks that errors about a shape of 100000
// dimensions, as a hostile header can carry, do not repeat it all, and that
// a huge shape with no data allocates nothing in proportion to it.
func TestContentsErrorsBounded(t *testing.T) {
	huge := make([]int64, 100000)
	for i := range huge {
		huge[i] = 1
	}
	_, err1 := FromContents(tensor.FP32, huge, nil)
	_, err2 := BytesFromContents(huge, nil)
	for i, err := range []error{err1, err2} {
		if err == nil {
			t.Errorf("%d: no error", i)
			continue
		}
		if n := len(err.Error()); n > 512 || !strings.Contains(err.Error(), "dimensions)") {
			t.Errorf("%d: a message of %d bytes: %.200s", i, n, err)
		}
	}
	if b := testalloc.Least(func() { _, _ = FromContents(tensor.FP32, []int64{1 << 30}, nil) }, 1024); b > 1024 {
		t.Errorf("FromContents with a 2^30 shape and no data allocated %d bytes", b)
	}
}
