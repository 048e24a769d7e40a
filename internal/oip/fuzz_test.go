package oip

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/goai-dev/goai/internal/oippb"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/protobuf/proto"
)

// Fuzz targets of the typed-contents codec, with committed seeds under
// testdata/fuzz/<Target>/:
//
//	FuzzFromContents  FromContents on any InferTensorContents wire bytes and shape
//	FuzzToContents    ToContents, then FromContents back to the same raw bytes

// fuzzShape reads a shape from fuzz bytes, 8 little-endian bytes per
// dimension, so the fuzzer can reach negative and huge dimensions.
func fuzzShape(b []byte) []int64 {
	shape := make([]int64, 0, len(b)/8)
	for ; len(b) >= 8; b = b[8:] {
		shape = append(shape, int64(binary.LittleEndian.Uint64(b)))
	}
	return shape
}

// checkSentinel fails unless err is nil or wraps one of package tensor's
// sentinels.
func checkSentinel(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, tensor.ErrShape) && !errors.Is(err, tensor.ErrLength) && !errors.Is(err, tensor.ErrDType) && !errors.Is(err, tensor.ErrRange) {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
}

func FuzzFromContents(f *testing.F) {
	seed, _ := proto.Marshal(&oippb.InferTensorContents{IntContents: []int32{1, -1}})
	f.Add(uint8(tensor.Int8), binary.LittleEndian.AppendUint64(nil, 2), seed)
	f.Fuzz(func(t *testing.T, dt uint8, shapeBytes, msg []byte) {
		var c oippb.InferTensorContents
		if err := proto.Unmarshal(msg, &c); err != nil {
			return
		}
		d, shape := tensor.DType(dt), fuzzShape(shapeBytes)
		raw, err := FromContents(d, shape, &c)
		checkSentinel(t, err)
		if err != nil {
			if raw != nil {
				t.Fatal("failed FromContents returned data")
			}
			return
		}
		if err := (tensor.Tensor{DType: d, Shape: shape, Raw: raw}).Validate(); err != nil {
			t.Fatalf("FromContents produced an invalid tensor: %v", err)
		}
		back, err := ToContents(d, raw)
		if err != nil {
			t.Fatalf("ToContents of FromContents output: %v", err)
		}
		// Compare the one field that carries d; an empty field and a nil one
		// are equal.
		own, _ := contentsField(d)
		if contentsLens(back)[own] != contentsLens(&c)[own] {
			t.Fatal("element count changed")
		}
		if !proto.Equal(normalizeContents(back), normalizeContents(&c)) {
			t.Fatalf("round trip changed contents:\n got %v\nwant %v", back, &c)
		}
	})
}

// normalizeContents makes NaNs comparable, empty fields nil, and drops
// unknown fields (such as fp32_contents sent with the wrong wire type),
// which FromContents rightly ignores.
func normalizeContents(c *oippb.InferTensorContents) *oippb.InferTensorContents {
	c = proto.Clone(c).(*oippb.InferTensorContents)
	c.ProtoReflect().SetUnknown(nil)
	for i, v := range c.Fp32Contents {
		if v != v {
			c.Fp32Contents[i] = 0
		}
	}
	for i, v := range c.Fp64Contents {
		if v != v {
			c.Fp64Contents[i] = 0
		}
	}
	for i, b := range c.BytesContents {
		if len(b) == 0 {
			c.BytesContents[i] = nil
		}
	}
	return c
}

func FuzzToContents(f *testing.F) {
	f.Add(uint8(tensor.Uint16), []byte{1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, dt uint8, raw []byte) {
		d := tensor.DType(dt)
		c, err := ToContents(d, raw)
		checkSentinel(t, err)
		if err != nil {
			return
		}
		own, _ := contentsField(d)
		n := contentsLens(c)[own]
		back, err := FromContents(d, []int64{int64(n)}, c)
		if err != nil {
			t.Fatalf("FromContents of ToContents output: %v", err)
		}
		want := raw
		if d == tensor.Bool {
			want = make([]byte, len(raw))
			for i, b := range raw {
				if b != 0 {
					want[i] = 1
				}
			}
		}
		if !bytes.Equal(back, want) {
			t.Fatalf("%v: % x came back as % x", d, raw, back)
		}
	})
}
