package oiphttp

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/goai-dev/goai/tensor"
)

// A tensor's JSON object is the same in a request's inputs and a
// response's outputs: {"name", "datatype", "shape", "parameters"?,
// "data"?}, with "parameters": {"binary_data_size": n} in place of "data"
// for a tensor sent as a binary chunk.

// DefaultBinaryThreshold is the raw size, in bytes, from which a tensor
// is sent as a binary chunk rather than as JSON data: 128, 32 FP32
// elements. Below it JSON keeps small requests readable and acceptable
// to servers without the binary extension, at little cost; above it each
// element costs a number conversion on both sides, and the JSON text is
// about 2.5 times the raw size for FP32.
//
// The figure is measured (BenchmarkBinaryThreshold: the whole codec cost
// of a call with one FP32 tensor in and out, JSON against binary, beside
// BenchmarkRoundTrip's smallest loopback call of about 78 µs on a 2-core
// Xeon): JSON adds about 3 µs at 8 elements (4% of that call), 4.5 µs at
// 16 (6%), 9.5 µs at 32 (12%), 20 µs at 64 (25%) and 82 µs at 256
// (105%), while binary stays near 4 µs up to 256 elements (10 µs at
// 1024). 128 bytes keeps
// the cost of JSON within about a tenth of the cheapest call there is;
// any real network makes that share smaller.
const DefaultBinaryThreshold = 128

// appendTensor appends t's JSON object: with its data, or with its
// binary_data_size when binary, the chunk being t.Raw itself.
func appendTensor(dst []byte, t *tensor.Tensor, binary bool) []byte {
	dst = append(dst, `{"name":`...)
	dst = AppendJSONString(dst, t.Name)
	dst = append(dst, `,"datatype":"`...)
	dst = append(dst, t.DType.String()...)
	dst = append(dst, `","shape":`...)
	dst = appendShape(dst, t.Shape)
	if binary {
		dst = append(dst, `,"parameters":{"binary_data_size":`...)
		dst = strconv.AppendInt(dst, int64(len(t.Raw)), 10)
		dst = append(dst, '}')
	} else {
		dst = append(dst, `,"data":`...)
		dst = appendData(dst, t.DType, t.Raw)
	}
	return append(dst, '}')
}

// checkTensor reports whether t can be encoded: valid contents and a
// name that is valid UTF-8 (JSON strings hold text; goai does not
// silently alter a name).
func checkTensor(t *tensor.Tensor) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if !utf8.ValidString(t.Name) {
		return fmt.Errorf("tensor name %q is not valid UTF-8", t.Name)
	}
	return nil
}

// binaryFor decides whether t travels as a binary chunk: always when JSON
// cannot carry it, else from threshold bytes of raw data on. A negative
// threshold never chooses binary: JSON or an error.
func binaryFor(t *tensor.Tensor, threshold int) (bool, error) {
	if threshold >= 0 && len(t.Raw) >= threshold {
		return true, nil
	}
	if jsonable(t) {
		return false, nil
	}
	if threshold < 0 {
		return false, fmt.Errorf("%w: tensor %q (%v) cannot travel as JSON data (FP16, BF16, NaN, infinity or BYTES that are not UTF-8) and binary data is off",
			tensor.ErrDType, t.Name, t.DType)
	}
	return true, nil
}

// tensorJSON is a tensor being decoded from its JSON object.
type tensorJSON struct {
	t        tensor.Tensor
	n        int   // elements its shape holds
	binSize  int64 // binary_data_size, or -1
	hasData  bool
	hasShape bool
	hasType  bool
}

// The members of a tensor object, in the order of tensorMembers.
const (
	memberName = iota
	memberType
	memberShape
	memberParams
	memberData
)

var tensorMembers = []string{"name", "datatype", "shape", "parameters", "data"}

// tensorObject reads one tensor's JSON object; what names it in errors.
// Data read before the datatype and shape are known is parsed when they
// are, from where it was.
func (s *scanner) tensorObject(what string) (tensorJSON, error) {
	tj := tensorJSON{binSize: -1}
	hasName := false
	dataAt := -1
	err := s.members(what, false, tensorMembers, func(m int) error {
		switch m {
		case memberName:
			name, err := s.str(nil)
			if err != nil {
				return err
			}
			tj.t.Name, hasName = string(name), true
		case memberType:
			dt, err := s.str(nil)
			if err != nil {
				return err
			}
			d, perr := tensor.ParseDType(string(dt))
			if perr != nil {
				return fmt.Errorf("%w: %s has datatype %q", tensor.ErrDType, what, dt)
			}
			tj.t.DType, tj.hasType = d, true
		case memberShape:
			shape, err := s.shape(what)
			if err != nil {
				return err
			}
			tj.t.Shape, tj.hasShape = shape, true
		case memberParams:
			return s.members("tensor parameters", true, []string{"binary_data_size"}, func(int) error {
				n, err := s.size("binary_data_size")
				tj.binSize = n
				return err
			})
		case memberData:
			if s.null() {
				return nil
			}
			tj.hasData = true
			if !tj.hasType || !tj.hasShape {
				dataAt = s.pos
				return s.skip()
			}
			return s.tensorData(&tj, what)
		}
		return nil
	})
	if err != nil {
		return tj, err
	}
	switch {
	case !hasName:
		return tj, malformed("%s has no name", what)
	case !tj.hasType:
		return tj, malformed("%s %q has no datatype", what, tj.t.Name)
	case !tj.hasShape:
		return tj, malformed("%s %q has no shape", what, tj.t.Name)
	}
	if tj.n, err = tensor.NumElements(tj.t.Shape); err != nil {
		return tj, fmt.Errorf("%s %q: %w", what, tj.t.Name, err)
	}
	if tj.hasData && tj.binSize >= 0 {
		return tj, malformed("%s %q has both data and binary_data_size", what, tj.t.Name)
	}
	if dataAt >= 0 {
		d := scanner{buf: s.buf, pos: dataAt, depth: s.depth, bodyLen: s.bodyLen}
		if err := d.tensorData(&tj, what); err != nil {
			return tj, err
		}
	}
	return tj, nil
}

// shape reads a shape: an array of integers. Its length is bounded by
// the bytes it takes; the values are checked by tensor.NumElements.
func (s *scanner) shape(what string) ([]int64, error) {
	shape := []int64{}
	err := s.array("shape", func(int) error {
		lit, n, err := s.number("shape dimension")
		if err != nil {
			return err
		}
		if !n.plain || n.big || n.mant > math.MaxInt64 {
			return fmt.Errorf("%w: %s dimension %s is not an int64", tensor.ErrShape, what, clip(lit))
		}
		d := int64(n.mant)
		if n.neg {
			d = -d
		}
		shape = append(shape, d)
		return nil
	})
	return shape, err
}

// size reads a byte size: a non-negative integer no larger than the
// body, since a chunk cannot be longer than the body that holds it.
func (s *scanner) size(what string) (int64, error) {
	lit, n, err := s.number(what)
	if err != nil {
		return 0, err
	}
	switch {
	case !n.plain:
		return 0, malformed("%s %s is not an integer", what, clip(lit))
	case n.neg && n.mant != 0:
		return 0, malformed("%s %s is negative", what, clip(lit))
	case n.big || n.mant > uint64(s.bodyLen):
		return 0, malformed("%s %s is larger than the whole body (%d bytes)", what, clip(lit), s.bodyLen)
	}
	return int64(n.mant), nil
}

// tensorData reads tj's data array into tj.t.Raw.
func (s *scanner) tensorData(tj *tensorJSON, what string) error {
	n, err := tensor.NumElements(tj.t.Shape)
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, tj.t.Name, err)
	}
	p := dataParser{s: s, dt: tj.t.DType, shape: tj.t.Shape, n: n, what: what, name: tj.t.Name}
	if err := p.parse(); err != nil {
		return err
	}
	tj.t.Raw = p.raw
	return nil
}

// clip returns a literal for an error message, cut to a sane length.
func clip(lit []byte) string {
	const max = 40
	if len(lit) > max {
		return string(lit[:max]) + "..."
	}
	return string(lit)
}

// dataParser reads a "data" array, flat or nested in the tensor's
// natural shape, into raw contents of datatype dt, checking every value
// against the datatype's range.
type dataParser struct {
	s     *scanner
	dt    tensor.DType
	shape []int64
	n     int // elements the shape holds
	count int // elements read
	raw   []byte
	what  string
	name  string
}

func (p *dataParser) errorf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s %q (%v): "+format, append([]any{sentinel, p.what, p.name, p.dt}, args...)...)
}

func (p *dataParser) parse() error {
	s := p.s
	if s.ws() != '[' {
		return s.unexpected(p.what + " data (an array)")
	}
	// Peek past the bracket: an array as first element means nested.
	save := s.pos
	s.pos++
	nested := s.ws() == '['
	s.pos = save
	if nested {
		if len(p.shape) < 2 {
			return p.errorf(ErrMalformed, "data is nested but the shape %v has rank %d", p.shape, len(p.shape))
		}
		if err := p.level(0); err != nil {
			return err
		}
	} else if err := p.flat(); err != nil {
		return err
	}
	if p.count != p.n {
		return p.errorf(tensor.ErrLength, "data holds %d elements, shape %v holds %d", p.count, p.shape, p.n)
	}
	if p.raw == nil {
		p.raw = []byte{}
	}
	return nil
}

func (p *dataParser) flat() error {
	return p.s.array("data", func(int) error {
		if p.count >= p.n {
			return p.errorf(tensor.ErrLength, "data holds more than the %d elements of shape %v", p.n, p.shape)
		}
		return p.elem()
	})
}

// level reads the nested array of dimension d.
func (p *dataParser) level(d int) error {
	want, last := p.shape[d], d == len(p.shape)-1
	var k int64
	err := p.s.array("data", func(int) error {
		if k >= want {
			return p.errorf(tensor.ErrLength, "dimension %d of the data holds more than the %d elements of shape %v", d, want, p.shape)
		}
		k++
		if last {
			return p.elem()
		}
		if p.s.ws() != '[' {
			return p.errorf(ErrMalformed, "dimension %d of the data holds a value where shape %v wants an array", d, p.shape)
		}
		return p.level(d + 1)
	})
	if err != nil {
		return err
	}
	if k != want {
		return p.errorf(tensor.ErrLength, "dimension %d of the data holds %d elements, shape %v holds %d", d, k, p.shape, want)
	}
	return nil
}

// reserve makes room for size more bytes, the element just read, and
// for the rest of the tensor as far as the JSON left can hold it: every
// element still to come takes at least two bytes of it (a separator and a
// digit), and no more come than the shape holds. So the data is allocated
// once, and what is allocated stays within four times the bytes of the
// body already received (8-byte elements from 2 bytes each): a shape's
// claim alone costs nothing.
func (p *dataParser) reserve(size int) {
	if len(p.raw)+size <= cap(p.raw) {
		return
	}
	rest := max(0, min(p.n-p.count, (len(p.s.buf)-p.s.pos)/2))
	raw := make([]byte, len(p.raw), len(p.raw)+size+rest*size)
	copy(raw, p.raw)
	p.raw = raw
}

// elem reads one element.
func (p *dataParser) elem() error {
	s := p.s
	p.count++
	switch dt := p.dt; dt {
	case tensor.Bool:
		var b bool
		switch {
		case s.ws() == 't' && s.literal("true"):
			b = true
		case s.ws() == 'f' && s.literal("false"):
		default:
			return s.unexpected(p.what + " BOOL data (true or false)")
		}
		p.reserve(1)
		var x byte
		if b {
			x = 1
		}
		p.raw = append(p.raw, x)
	case tensor.Bytes:
		if s.ws() != '"' {
			return s.unexpected(p.what + " BYTES data (a string)")
		}
		start := len(p.raw)
		p.raw = append(p.raw, 0, 0, 0, 0)
		var err error
		if p.raw, err = s.str(p.raw); err != nil {
			return err
		}
		l := len(p.raw) - start - 4
		if uint64(l) > math.MaxUint32 {
			return p.errorf(tensor.ErrLength, "element longer than 4 GiB - 1")
		}
		binary.LittleEndian.PutUint32(p.raw[start:], uint32(l))
	case tensor.FP32, tensor.FP64, tensor.FP16, tensor.BF16:
		f, err := p.float()
		if err != nil {
			return err
		}
		switch dt {
		case tensor.FP32:
			p.reserve(4)
			p.raw = binary.LittleEndian.AppendUint32(p.raw, math.Float32bits(float32(f)))
		case tensor.FP64:
			p.reserve(8)
			p.raw = binary.LittleEndian.AppendUint64(p.raw, math.Float64bits(f))
		default:
			// Rare (the protocol keeps half precision out of JSON, but
			// Python servers write it): let package tensor round.
			p.reserve(2)
			v := [1]float64{f}
			p.raw, _ = tensor.AppendAs(p.raw, dt, v[:])
			h := binary.LittleEndian.Uint16(p.raw[len(p.raw)-2:])
			inf := uint16(0x7c00) // FP16 exponent bits
			if dt == tensor.BF16 {
				inf = 0x7f80
			}
			if h&inf == inf && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return p.errorf(tensor.ErrRange, "%v is out of range", f)
			}
		}
	default:
		return p.integer()
	}
	return nil
}

// float reads a number of a float datatype, or NaN, Infinity or
// -Infinity as Python's json module writes them.
func (p *dataParser) float() (float64, error) {
	s := p.s
	s.ws()
	start := s.pos
	n, ok := scanNumber(s.buf, start)
	if !ok {
		switch {
		case s.literal("NaN"):
			return math.NaN(), nil
		case s.literal("Infinity"):
			return math.Inf(1), nil
		case s.literal("-Infinity"):
			return math.Inf(-1), nil
		}
		return 0, s.unexpectedKind(p.what+" "+p.dt.String()+" data", "a number")
	}
	s.pos = n.end
	lit := s.buf[start:n.end:n.end]
	bits := 64
	if p.dt == tensor.FP32 {
		bits = 32
	}
	f, ok := parseFloat(lit, &n, bits)
	if !ok {
		return 0, p.errorf(tensor.ErrRange, "%s is out of range", clip(lit))
	}
	return f, nil
}

// number reads a number literal of the data; the message of an error
// is made only when there is one, the data being the hot path.
func (p *dataParser) number() ([]byte, numLit, error) {
	s := p.s
	s.ws()
	start := s.pos
	n, ok := scanNumber(s.buf, start)
	if !ok {
		return nil, n, s.unexpectedKind(p.what+" "+p.dt.String()+" data", "a number")
	}
	s.pos = n.end
	return s.buf[start:n.end:n.end], n, nil
}

// intRange is each integer datatype's width and signedness.
var intRange = [...]struct {
	size   int
	signed bool
}{
	tensor.Uint8: {1, false}, tensor.Uint16: {2, false}, tensor.Uint32: {4, false}, tensor.Uint64: {8, false},
	tensor.Int8: {1, true}, tensor.Int16: {2, true}, tensor.Int32: {4, true}, tensor.Int64: {8, true},
}

// integer reads a number of an integer datatype. An integer literal is
// what servers send; a fraction or exponent is taken when it is exactly
// an integer (1.0, 1e3) of at most 2^53, which a float64 holds exactly.
func (p *dataParser) integer() error {
	lit, n, err := p.number()
	if err != nil {
		return err
	}
	r := intRange[p.dt]
	neg, mag := n.neg, n.mant
	if !n.plain || n.big {
		f, ok := parseFloat(lit, &n, 64)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return p.errorf(tensor.ErrRange, "%s is not an exact integer", clip(lit))
		}
		neg, mag = f < 0, uint64(math.Abs(f))
	}
	bits := uint(8 * r.size)
	var u uint64
	switch {
	case !r.signed && neg && mag != 0:
		return p.errorf(tensor.ErrRange, "%s is negative", clip(lit))
	case !r.signed:
		if bits < 64 && mag >= 1<<bits {
			return p.errorf(tensor.ErrRange, "%s is out of range", clip(lit))
		}
		u = mag
	case neg:
		if mag > 1<<(bits-1) {
			return p.errorf(tensor.ErrRange, "%s is out of range", clip(lit))
		}
		u = -mag // two's complement; the low bits are the value
	default:
		if mag >= 1<<(bits-1) {
			return p.errorf(tensor.ErrRange, "%s is out of range", clip(lit))
		}
		u = mag
	}
	p.reserve(r.size)
	switch r.size {
	case 1:
		p.raw = append(p.raw, byte(u))
	case 2:
		p.raw = binary.LittleEndian.AppendUint16(p.raw, uint16(u))
	case 4:
		p.raw = binary.LittleEndian.AppendUint32(p.raw, uint32(u))
	default:
		p.raw = binary.LittleEndian.AppendUint64(p.raw, u)
	}
	return nil
}
