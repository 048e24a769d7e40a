package tensor_test

import (
	"errors"
	"fmt"

	"github.com/goai-dev/goai/tensor"
)

func ExampleAppendFloat32() {
	var buf []byte // keep it between requests: steady state allocates nothing
	buf = tensor.AppendFloat32(buf[:0], []float32{1, -2.5})
	fmt.Printf("% x\n", buf)
	// Output: 00 00 80 3f 00 00 20 c0
}

func ExampleDecodeFloat32() {
	raw := []byte{0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0}
	out := make([]float32, 0, 2)
	out, err := tensor.DecodeFloat32(out[:0], raw)
	fmt.Println(out, err)
	_, err = tensor.DecodeFloat32(nil, raw[:7])
	fmt.Println(errors.Is(err, tensor.ErrLength))
	// Output:
	// [1 -2.5] <nil>
	// true
}

func ExampleAppendStringElements() {
	raw := tensor.AppendStringElements(nil, []string{"ab", ""})
	fmt.Printf("% x\n", raw)
	elems, err := tensor.DecodeStringElements(raw, 2)
	fmt.Printf("%q %v\n", elems, err)
	// Output:
	// 02 00 00 00 61 62 00 00 00 00
	// ["ab" ""] <nil>
}

func ExampleAppendAs() {
	// Token ids held as int32, sent as the model's INT16 input.
	raw, err := tensor.AppendAs(nil, tensor.Int16, []int32{1, 300, -2})
	fmt.Printf("% x %v\n", raw, err)
	_, err = tensor.AppendAs(nil, tensor.Int8, []int32{1, 300})
	fmt.Println(err)
	// Output:
	// 01 00 2c 01 fe ff <nil>
	// tensor: value out of range for datatype: element 1 is 300, outside INT8
}

func ExampleDecodeAs() {
	// An INT8 output read into the int32 slice the caller already has.
	ids, err := tensor.DecodeAs[int32](nil, tensor.Int8, []byte{0xff, 0x7f})
	fmt.Println(ids, err)
	// Output: [-1 127] <nil>
}

func ExampleInferShape() {
	shape, err := tensor.InferShape([]int64{-1, 3, 224, 224}, 2*3*224*224)
	fmt.Println(shape, err)
	// Output: [2 3 224 224] <nil>
}

func ExampleTensor_Validate() {
	t := tensor.Tensor{Name: "image", DType: tensor.FP32, Shape: []int64{1, 1 << 40}}
	err := t.Validate()
	var te *tensor.Error
	fmt.Println(errors.Is(err, tensor.ErrShape), errors.As(err, &te) && te.Name == "image")
	fmt.Println(err)
	// Output:
	// true true
	// tensor "image" (FP32): tensor: invalid shape: dimension 1 of [1 1099511627776] exceeds 2147483647
}

func ExampleBF16FromFloat32() {
	// 1 + 3*2^-8 lies halfway between two BF16 values; rounding goes to the
	// even one, 0x3f82, where truncation (Triton's Python client) gives 0x3f81.
	fmt.Printf("%#04x\n", tensor.BF16FromFloat32(1+3.0/256))
	// Output: 0x3f82
}
