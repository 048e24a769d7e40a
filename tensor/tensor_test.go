package tensor

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestNumElements(t *testing.T) {
	for _, tc := range []struct {
		shape []int64
		want  int
		err   error
	}{
		{nil, 1, nil},
		{[]int64{}, 1, nil},
		{[]int64{0}, 0, nil},
		{[]int64{1, 3, 224, 224}, 150528, nil},
		{[]int64{2, 0, 5}, 0, nil},
		{[]int64{math.MaxInt32}, math.MaxInt32, nil},
		{[]int64{-1}, 0, ErrShape},
		{[]int64{3, -2}, 0, ErrShape},
		{[]int64{1 << 40}, 0, ErrShape},
		{[]int64{0, 1 << 40}, 0, ErrShape},
		{[]int64{1 << 20, 1 << 20}, 0, ErrShape},
		{[]int64{math.MaxInt64, math.MaxInt64}, 0, ErrShape},
		{[]int64{math.MinInt64}, 0, ErrShape},
		{[]int64{65536, 32768}, 0, ErrShape}, // 2^31, one past the bound
	} {
		got, err := NumElements(tc.shape)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("NumElements(%v) = %d, %v; want %d, %v", tc.shape, got, err, tc.want, tc.err)
		}
		got, err = Tensor{Shape: tc.shape}.NumElements()
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("Tensor.NumElements(%v) = %d, %v; want %d, %v", tc.shape, got, err, tc.want, tc.err)
		}
	}
}

func TestInferShape(t *testing.T) {
	for _, tc := range []struct {
		shape []int64
		n     int
		want  []int64
		err   error
	}{
		{[]int64{-1, 3}, 12, []int64{4, 3}, nil},
		{[]int64{2, -1, 2}, 12, []int64{2, 3, 2}, nil},
		{[]int64{-1}, 0, []int64{0}, nil},
		{[]int64{2, 3}, 6, []int64{2, 3}, nil},
		{[]int64{}, 1, []int64{}, nil},
		{[]int64{2, 3}, 7, nil, ErrShape},
		{[]int64{-1, 5}, 12, nil, ErrShape},
		{[]int64{-1, -1}, 4, nil, ErrShape},
		{[]int64{-2, 2}, 4, nil, ErrShape},
		{[]int64{0, -1}, 0, nil, ErrShape},
		{[]int64{-1, 1 << 40}, 0, nil, ErrShape},
		{[]int64{-1}, -1, nil, ErrShape},
		{[]int64{-1, 1 << 20, 1 << 20}, 1, nil, ErrShape},
	} {
		in := slices.Clone(tc.shape)
		got, err := InferShape(tc.shape, tc.n)
		if !errors.Is(err, tc.err) || !slices.Equal(got, tc.want) {
			t.Errorf("InferShape(%v, %d) = %v, %v; want %v, %v", tc.shape, tc.n, got, err, tc.want, tc.err)
		}
		if !slices.Equal(in, tc.shape) {
			t.Errorf("InferShape modified its argument: %v became %v", in, tc.shape)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    Tensor
		err  error
	}{
		{"fp32", Tensor{DType: FP32, Shape: []int64{2}, Raw: make([]byte, 8)}, nil},
		{"fp32 short", Tensor{DType: FP32, Shape: []int64{2}, Raw: make([]byte, 7)}, ErrLength},
		{"fp32 long", Tensor{DType: FP32, Shape: []int64{2}, Raw: make([]byte, 9)}, ErrLength},
		{"scalar", Tensor{DType: Int64, Raw: make([]byte, 8)}, nil},
		{"empty", Tensor{DType: FP16, Shape: []int64{3, 0}}, nil},
		{"invalid dtype", Tensor{Shape: []int64{1}, Raw: []byte{0}}, ErrDType},
		{"unknown dtype", Tensor{DType: 200, Shape: []int64{1}, Raw: []byte{0}}, ErrDType},
		{"negative dim", Tensor{DType: Uint8, Shape: []int64{-1}}, ErrShape},
		{"huge", Tensor{DType: Uint8, Shape: []int64{1 << 40}, Raw: make([]byte, 8)}, ErrShape},
		{"bytes", Tensor{DType: Bytes, Shape: []int64{2}, Raw: []byte{1, 0, 0, 0, 'a', 0, 0, 0, 0}}, nil},
		{"bytes too few", Tensor{DType: Bytes, Shape: []int64{3}, Raw: []byte{1, 0, 0, 0, 'a', 0, 0, 0, 0}}, ErrLength},
		{"bytes too many", Tensor{DType: Bytes, Shape: []int64{1}, Raw: []byte{1, 0, 0, 0, 'a', 0, 0, 0, 0}}, ErrLength},
		{"bytes past end", Tensor{DType: Bytes, Shape: []int64{1}, Raw: []byte{2, 0, 0, 0, 'a'}}, ErrLength},
		{"bytes cut prefix", Tensor{DType: Bytes, Shape: []int64{2}, Raw: []byte{1, 0, 0, 0, 'a', 0, 0}}, ErrLength},
		{"bytes huge prefix", Tensor{DType: Bytes, Shape: []int64{1}, Raw: []byte{0xff, 0xff, 0xff, 0xff}}, ErrLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.t.Name = "x"
			err := tc.t.Validate()
			if !errors.Is(err, tc.err) {
				t.Fatalf("Validate() = %v, want %v", err, tc.err)
			}
			if err == nil {
				return
			}
			var te *Error
			if !errors.As(err, &te) || te.Name != "x" || te.DType != tc.t.DType {
				t.Fatalf("Validate() = %#v, want an *Error naming the tensor", err)
			}
			t.Log(err)
		})
	}
}

func TestValidateDoesNotAllocate(t *testing.T) {
	raw := AppendStringElements(nil, []string{"a", "bc", ""})
	tt := Tensor{Name: "s", DType: Bytes, Shape: []int64{3}, Raw: raw}
	if n := testing.AllocsPerRun(100, func() {
		if err := tt.Validate(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Validate allocates %v times, want 0", n)
	}
}

func TestDTypeParse(t *testing.T) {
	for d := Bool; d <= Bytes; d++ {
		got, err := ParseDType(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDType(%q) = %v, %v", d.String(), got, err)
		}
	}
}
