package tfs

import (
	"fmt"

	"github.com/goai-dev/goai/internal/tfspb"
	"github.com/goai-dev/goai/tensor"
)

// The TensorFlow type of each Open Inference Protocol datatype (§B4 of the
// protocol notes): every OIP datatype has one.
var tfOfDType = [...]tfspb.DataType{
	tensor.Bool:   tfspb.DataType_DT_BOOL,
	tensor.Uint8:  tfspb.DataType_DT_UINT8,
	tensor.Uint16: tfspb.DataType_DT_UINT16,
	tensor.Uint32: tfspb.DataType_DT_UINT32,
	tensor.Uint64: tfspb.DataType_DT_UINT64,
	tensor.Int8:   tfspb.DataType_DT_INT8,
	tensor.Int16:  tfspb.DataType_DT_INT16,
	tensor.Int32:  tfspb.DataType_DT_INT32,
	tensor.Int64:  tfspb.DataType_DT_INT64,
	tensor.FP16:   tfspb.DataType_DT_HALF,
	tensor.BF16:   tfspb.DataType_DT_BFLOAT16,
	tensor.FP32:   tfspb.DataType_DT_FLOAT,
	tensor.FP64:   tfspb.DataType_DT_DOUBLE,
	tensor.Bytes:  tfspb.DataType_DT_STRING,
}

// ToTF returns the TensorFlow type of d, and false for [tensor.Invalid] or
// a value that is no datatype.
func ToTF(d tensor.DType) (tfspb.DataType, bool) {
	if !d.Valid() {
		return tfspb.DataType_DT_INVALID, false
	}
	return tfOfDType[d], true
}

// FromTF returns the Open Inference Protocol datatype of d, and false for
// the TensorFlow types that have none: DT_INVALID, the complex and
// quantized types, DT_RESOURCE, DT_VARIANT and any value this copy of
// types.proto does not know (DT_FLOAT8_* and newer).
func FromTF(d tfspb.DataType) (tensor.DType, bool) {
	for dt, tf := range tfOfDType {
		if tf == d && tensor.DType(dt).Valid() {
			return tensor.DType(dt), true
		}
	}
	return tensor.Invalid, false
}

// DatatypeName returns the name model metadata reports for d: the Open
// Inference Protocol's ("FP32") when d has one, TensorFlow's own
// ("DT_COMPLEX64") when not, so that a contract check names the type it
// found; a value unknown to this copy reads "DataType(24)".
func DatatypeName(d tfspb.DataType) string {
	if dt, ok := FromTF(d); ok {
		return dt.String()
	}
	if name, ok := tfspb.DataType_name[int32(d)]; ok {
		return name
	}
	return fmt.Sprintf("DataType(%d)", int32(d))
}

// unmappable is the error for a TensorFlow type without an Open Inference
// Protocol datatype.
func unmappable(d tfspb.DataType) error {
	return fmt.Errorf("%w: TensorFlow type %s has no Open Inference Protocol datatype", tensor.ErrDType, DatatypeName(d))
}
