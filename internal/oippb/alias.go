package oippb

import "google.golang.org/protobuf/encoding/protowire"

// AppendRawContents appends v, a value of the bytes field numbered num,
// to raw_input_contents (field 7) and reports true, or reports false for
// any other field. It is how goai's wire codec (internal/wirecodec) keeps
// a tensor it received in place: setting the value through protoreflect
// costs several allocations per tensor.
func (m *ModelInferRequest) AppendRawContents(num protowire.Number, v []byte) bool {
	if num != 7 {
		return false
	}
	m.RawInputContents = append(m.RawInputContents, v)
	return true
}

// AppendRawContents appends v, a value of the bytes field numbered num,
// to raw_output_contents (field 6) and reports true, or reports false for
// any other field; see [ModelInferRequest.AppendRawContents].
func (m *ModelInferResponse) AppendRawContents(num protowire.Number, v []byte) bool {
	if num != 6 {
		return false
	}
	m.RawOutputContents = append(m.RawOutputContents, v)
	return true
}
