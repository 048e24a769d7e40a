package tensor

import (
	"bytes"
	"testing"
)

// TestView checks that View gives the bytes AppendAs would encode, shares
// them with the slice, and declines every pairing whose memory is not the
// wire form.
func TestView(t *testing.T) {
	f := []float32{1, -2.5, 3e9}
	raw, ok := View(FP32, f)
	if !nativeLittleEndian {
		if ok {
			t.Fatal("View aliased memory on the portable path")
		}
		return
	}
	if !ok {
		t.Fatal("View(FP32, []float32) declined")
	}
	if want := AppendFloat32(nil, f); !bytes.Equal(raw, want) {
		t.Fatalf("View = %x, want %x", raw, want)
	}
	f[0] = 0
	if raw[0] != 0 || raw[3] != 0 {
		t.Error("View's bytes do not share the slice's memory")
	}
	i64 := []int64{-1, 1 << 40}
	if raw, ok := View(Int64, i64); !ok || !bytes.Equal(raw, AppendInt64(nil, i64)) {
		t.Errorf("View(INT64, []int64) = %x, %v", raw, ok)
	}
	u8 := []uint8{1, 2, 3}
	if raw, ok := View(Uint8, u8); !ok || &raw[0] != &u8[0] {
		t.Errorf("View(UINT8, []uint8) = %x, %v, want the slice itself", raw, ok)
	}
	for name, ok := range map[string]bool{
		"float32 as FP16": second(View(FP16, f)),
		"float32 as FP64": second(View(FP64, f)),
		"int32 as INT64":  second(View(Int64, []int32{1})),
		"bool as BOOL":    second(View(Bool, []bool{true})),
		"empty":           second(View(FP32, []float32{})),
	} {
		if ok {
			t.Errorf("View accepted %s", name)
		}
	}
}

func second[A, B any](_ A, b B) B { return b }
