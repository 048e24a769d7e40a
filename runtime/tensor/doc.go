// Package tensor encodes and decodes tensors of the Open Inference Protocol:
// raw little-endian contents for every datatype, BYTES framing, FP16 and BF16
// conversion, shape checks, and typed contents.
package tensor
