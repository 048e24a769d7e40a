package tensor

import (
	"strconv"
	"strings"
)

// MaxFormattedDims is the most dimensions [FormatShape] prints. Shapes
// reach error messages from the wire, where nothing bounds their rank but
// the message size: a header of 100000 dimensions must not make a message
// of 200 KB. Real tensors have a handful of dimensions.
const MaxFormattedDims = 16

// FormatShape returns shape as fmt's %v prints an []int64, [1 3 224 224],
// except that a shape of more than [MaxFormattedDims] dimensions prints
// only the first of them, then an ellipsis and its rank: [1 2 … (100000
// dimensions)]. The errors of this package format shapes with it.
func FormatShape(shape []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range shape {
		if i == MaxFormattedDims {
			b.WriteString(" … (")
			b.WriteString(strconv.Itoa(len(shape)))
			b.WriteString(" dimensions)")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(d, 10))
	}
	b.WriteByte(']')
	return b.String()
}
