package tensor

import "fmt"

// DType is a tensor datatype of the Open Inference Protocol. The zero value
// is [Invalid].
type DType uint8

// The datatypes of the Open Inference Protocol, with Triton's BF16.
const (
	Invalid DType = iota
	Bool
	Uint8
	Uint16
	Uint32
	Uint64
	Int8
	Int16
	Int32
	Int64
	FP16
	BF16
	FP32
	FP64
	Bytes
)

var dtypeNames = [...]string{
	Invalid: "INVALID",
	Bool:    "BOOL",
	Uint8:   "UINT8",
	Uint16:  "UINT16",
	Uint32:  "UINT32",
	Uint64:  "UINT64",
	Int8:    "INT8",
	Int16:   "INT16",
	Int32:   "INT32",
	Int64:   "INT64",
	FP16:    "FP16",
	BF16:    "BF16",
	FP32:    "FP32",
	FP64:    "FP64",
	Bytes:   "BYTES",
}

var dtypeSizes = [...]int{
	Bool: 1, Uint8: 1, Uint16: 2, Uint32: 4, Uint64: 8,
	Int8: 1, Int16: 2, Int32: 4, Int64: 8,
	FP16: 2, BF16: 2, FP32: 4, FP64: 8,
}

// String returns the datatype as the protocol spells it, such as "FP32".
func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("DType(%d)", uint8(d))
}

// Size returns the bytes of one element in raw contents, or 0 for [Bytes]
// (variable length) and [Invalid].
func (d DType) Size() int {
	if int(d) < len(dtypeSizes) {
		return dtypeSizes[d]
	}
	return 0
}

// Valid reports whether d is one of the protocol's datatypes.
func (d DType) Valid() bool {
	return d > Invalid && d <= Bytes
}

// ParseDType returns the datatype spelled s, such as "FP32". Names are
// case-sensitive, as the protocol defines them.
func ParseDType(s string) (DType, error) {
	for d := Bool; d <= Bytes; d++ {
		if dtypeNames[d] == s {
			return d, nil
		}
	}
	return Invalid, fmt.Errorf("tensor: unknown datatype %q", s)
}
