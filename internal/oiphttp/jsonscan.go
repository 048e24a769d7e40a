package oiphttp

import (
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// scanner reads one JSON text (RFC 8259) from buf, a value at a time, for
// decoders that know the schema they expect. It is strict JSON with one
// leniency: bytes of 0x80 and above inside strings are taken as they
// are, not checked as UTF-8, so that a BYTES element a server wrote
// unescaped survives byte for byte (encoding/json would replace it with
// U+FFFD). A second leniency, NaN and ±Infinity in float data as
// Python's json module writes them, lives in the data decoder.
//
// Nothing it returns is allocated in proportion to anything but the bytes
// of buf it has read, and nesting deeper than maxDepth is refused, so a
// hostile body can neither blow the stack nor claim memory.
type scanner struct {
	buf   []byte
	pos   int
	depth int
	// bodyLen is the length of the whole body buf is the JSON header of,
	// the bound of any byte size it declares.
	bodyLen int
}

// maxDepth bounds the nesting of arrays and objects. The protocol's own
// documents nest four deep plus the rank of a nested data array; 128
// leaves room for unknown members and ranks far beyond any model's.
const maxDepth = 128

// ws skips white space and returns the next byte, or 0 at the end (a
// NUL byte is never valid where ws is asked, so 0 needs no other check
// but in end).
func (s *scanner) ws() byte {
	for s.pos < len(s.buf) {
		switch c := s.buf[s.pos]; c {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return c
		}
	}
	return 0
}

func (s *scanner) errorf(format string, args ...any) error {
	return malformed("JSON at byte %d: "+format, append([]any{s.pos}, args...)...)
}

// unexpected reports the byte at pos as not what was wanted.
func (s *scanner) unexpected(want string) error {
	if s.pos >= len(s.buf) {
		return s.errorf("unexpected end, want %s", want)
	}
	return s.errorf("unexpected %q, want %s", s.buf[s.pos], want)
}

// unexpectedKind is unexpected for what, which should be a kind of
// value: the message is put together only when there is an error, for
// decoding is all hot path.
func (s *scanner) unexpectedKind(what, kind string) error {
	return s.unexpected(what + " (" + kind + ")")
}

// end checks that nothing but white space follows the value just read.
func (s *scanner) end() error {
	if s.ws(); s.pos < len(s.buf) {
		return s.errorf("unexpected %q after the JSON value", s.buf[s.pos])
	}
	return nil
}

// enter opens an array or object (kind) whose bracket c is next (after
// white space), counting the depth.
func (s *scanner) enter(c byte, what, kind string) error {
	if s.ws() != c {
		return s.unexpectedKind(what, kind)
	}
	if s.depth >= maxDepth {
		return s.errorf("nested deeper than %d", maxDepth)
	}
	s.depth++
	s.pos++
	return nil
}

// object reads an object, calling member for each key with pos at the
// member's value, which member must consume.
func (s *scanner) object(what string, member func(key []byte) error) error {
	if err := s.enter('{', what, "an object"); err != nil {
		return err
	}
	if s.ws() == '}' {
		s.pos++
		s.depth--
		return nil
	}
	for {
		if s.ws() != '"' {
			return s.unexpected("a member name")
		}
		key, err := s.str(nil)
		if err != nil {
			return err
		}
		if s.ws() != ':' {
			return s.unexpected("':'")
		}
		s.pos++
		if err := member(key); err != nil {
			return err
		}
		switch s.ws() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.depth--
			return nil
		default:
			return s.unexpected("',' or '}'")
		}
	}
}

// members reads an object of which only the members names matter:
// member is called with the index in names of each, pos at its value,
// which member must consume; a name given twice is an error, and any
// other member is checked and skipped. null stands for an empty object
// when nullable, as Python servers write unset members.
func (s *scanner) members(what string, nullable bool, names []string, member func(i int) error) error {
	if nullable && s.null() {
		return nil
	}
	var seen uint64
	return s.object(what, func(key []byte) error {
		for i, n := range names {
			if string(key) != n {
				continue
			}
			if seen&(1<<i) != 0 {
				return s.errorf("%s: member %q given twice", what, key)
			}
			seen |= 1 << i
			return member(i)
		}
		return s.skip()
	})
}

// array reads an array, calling elem for each element with pos at it;
// elem must consume it.
func (s *scanner) array(what string, elem func(i int) error) error {
	if err := s.enter('[', what, "an array"); err != nil {
		return err
	}
	if s.ws() == ']' {
		s.pos++
		s.depth--
		return nil
	}
	for i := 0; ; i++ {
		if err := elem(i); err != nil {
			return err
		}
		switch s.ws() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			s.depth--
			return nil
		default:
			return s.unexpected("',' or ']'")
		}
	}
}

// literal consumes the keyword word (true, false, null) if it is next.
func (s *scanner) literal(word string) bool {
	if len(s.buf)-s.pos >= len(word) && string(s.buf[s.pos:s.pos+len(word)]) == word {
		s.pos += len(word)
		return true
	}
	return false
}

// null consumes a null if it is next.
func (s *scanner) null() bool {
	return s.ws() == 'n' && s.literal("null")
}

// optStr reads a string or null (as ""), for optional members that
// Python servers write as null.
func (s *scanner) optStr() (string, error) {
	if s.null() {
		return "", nil
	}
	b, err := s.str(nil)
	return string(b), err
}

// boolean reads true or false.
func (s *scanner) boolean(what string) (bool, error) {
	switch s.ws() {
	case 't':
		if s.literal("true") {
			return true, nil
		}
	case 'f':
		if s.literal("false") {
			return false, nil
		}
	}
	return false, s.unexpectedKind(what, "true or false")
}

// str reads a string and appends its contents, unescaped, to dst. With
// dst nil and no escapes in the string, the result aliases buf instead
// of allocating.
func (s *scanner) str(dst []byte) ([]byte, error) { return s.scanStr(dst, true) }

// skipStr reads a string, checking its escapes, without keeping it.
func (s *scanner) skipStr() error {
	_, err := s.scanStr(nil, false)
	return err
}

func (s *scanner) scanStr(dst []byte, keep bool) ([]byte, error) {
	if s.ws() != '"' {
		return dst, s.unexpected("a string")
	}
	s.pos++
	start := s.pos
	// Fast path: a run of plain bytes, the whole string for almost every
	// name and BYTES element.
	i := start
	for i < len(s.buf) {
		c := s.buf[i]
		if c == '"' {
			s.pos = i + 1
			if !keep {
				return nil, nil
			}
			if dst == nil {
				return s.buf[start:i:i], nil
			}
			return append(dst, s.buf[start:i]...), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		i++
	}
	if keep {
		dst = append(dst, s.buf[start:i]...)
	}
	for i < len(s.buf) {
		c := s.buf[i]
		switch {
		case c == '"':
			s.pos = i + 1
			if keep && dst == nil {
				dst = []byte{}
			}
			return dst, nil
		case c < 0x20:
			s.pos = i
			return dst, s.errorf("control character %#x in a string", c)
		case c != '\\':
			j := i + 1
			for j < len(s.buf) && s.buf[j] != '"' && s.buf[j] != '\\' && s.buf[j] >= 0x20 {
				j++
			}
			if keep {
				dst = append(dst, s.buf[i:j]...)
			}
			i = j
			continue
		}
		// An escape.
		if i+1 >= len(s.buf) {
			break
		}
		var b byte
		switch e := s.buf[i+1]; e {
		case '"', '\\', '/':
			b = e
		case 'b':
			b = '\b'
		case 'f':
			b = '\f'
		case 'n':
			b = '\n'
		case 'r':
			b = '\r'
		case 't':
			b = '\t'
		case 'u':
			r, ok := hex4(s.buf[i+2:])
			if !ok {
				s.pos = i
				return dst, s.errorf("bad \\u escape")
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A pair's second half must follow at once; a lone half
				// becomes U+FFFD, as encoding/json does.
				r2, ok := rune(-1), false
				if len(s.buf)-i >= 6 && s.buf[i] == '\\' && s.buf[i+1] == 'u' {
					r2, ok = hex4(s.buf[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			if keep {
				dst = utf8.AppendRune(dst, r)
			}
			continue
		default:
			s.pos = i
			return dst, s.errorf("bad escape \\%c", e)
		}
		if keep {
			dst = append(dst, b)
		}
		i += 2
	}
	s.pos = len(s.buf)
	return dst, s.errorf("unterminated string")
}

// hex4 parses the four hex digits at the start of b.
func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a number and returns its literal, which aliases buf.
func (s *scanner) number(what string) ([]byte, numLit, error) {
	s.ws()
	start := s.pos
	n, ok := scanNumber(s.buf, start)
	if !ok {
		return nil, n, s.unexpectedKind(what, "a number")
	}
	s.pos = n.end
	return s.buf[start:n.end:n.end], n, nil
}

// numLit is a number literal as scanNumber reads it: where it ends, and
// its value as sign, decimal mantissa and exponent, so that integers and
// most floats need no second pass over the digits.
type numLit struct {
	end  int
	neg  bool
	mant uint64 // significant digits, without leading zeros
	big  bool   // mant overflowed uint64 (or the exponent was absurd)
	exp  int    // the value is ±mant × 10^exp
	// plain: no fraction and no exponent, an integer as servers write
	// them.
	plain bool
}

// scanNumber reads the JSON number starting at buf[i], or reports false
// if none starts there. It is the package's one reading of the number
// grammar.
func scanNumber(buf []byte, i int) (n numLit, ok bool) {
	n.plain = true
	if i < len(buf) && buf[i] == '-' {
		n.neg = true
		i++
	}
	digits := 0 // significant digits taken into mant
	switch {
	case i >= len(buf):
		return n, false
	case buf[i] == '0':
		i++
	case buf[i] >= '1' && buf[i] <= '9':
		for ; i < len(buf) && buf[i] >= '0' && buf[i] <= '9'; i++ {
			if !n.take(buf[i], &digits) {
				n.exp++ // a dropped integer digit still counts
			}
		}
	default:
		return n, false
	}
	if i < len(buf) && buf[i] == '.' {
		n.plain = false
		i++
		if i >= len(buf) || buf[i] < '0' || buf[i] > '9' {
			return n, false
		}
		for ; i < len(buf) && buf[i] >= '0' && buf[i] <= '9'; i++ {
			if digits == 0 && buf[i] == '0' {
				n.exp-- // a leading zero of the fraction
			} else if n.take(buf[i], &digits) {
				n.exp--
			}
		}
	}
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		n.plain = false
		i++
		eneg := false
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			eneg = buf[i] == '-'
			i++
		}
		if i >= len(buf) || buf[i] < '0' || buf[i] > '9' {
			return n, false
		}
		e := 0
		for ; i < len(buf) && buf[i] >= '0' && buf[i] <= '9'; i++ {
			if e < 1e6 {
				e = e*10 + int(buf[i]-'0')
			} else {
				n.big = true
			}
		}
		if eneg {
			e = -e
		}
		n.exp += e
	}
	n.end = i
	return n, true
}

// take adds the digit c to the mantissa and reports whether it did: the
// first 19 digits always fit a uint64 and need no check, a 20th only if
// it does not overflow, and any further digit sets big instead.
func (n *numLit) take(c byte, digits *int) bool {
	if n.big {
		return false
	}
	d := uint64(c - '0')
	if *digits >= 19 && n.mant > (math.MaxUint64-d)/10 {
		n.big = true
		return false
	}
	n.mant = n.mant*10 + d
	*digits++
	return true
}

// skip reads and discards one value of any type, checking it.
func (s *scanner) skip() error {
	switch c := s.ws(); c {
	case '{':
		return s.object("a value", func([]byte) error { return s.skip() })
	case '[':
		return s.array("a value", func(int) error { return s.skip() })
	case '"':
		return s.skipStr()
	case 't', 'f':
		_, err := s.boolean("a value")
		return err
	case 'n':
		if s.literal("null") {
			return nil
		}
	default:
		if _, ok := scanNumber(s.buf, s.pos); ok {
			_, _, err := s.number("a value")
			return err
		}
	}
	return s.unexpected("a value")
}
