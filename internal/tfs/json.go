package tfs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/goai-dev/goai/internal/oiphttp"
)

// This file holds goai's few JSON primitives for TF Serving's REST API,
// kept small and apart so that the JSON library under them can change
// without touching the codec: a token reader over encoding/json's
// Decoder, and appenders for the values the codec writes.

// errJSON reports a body that is not the JSON the protocol defines.
var errJSON = errors.New("tfs: malformed JSON")

// jsonReader reads one JSON document token by token.
type jsonReader struct {
	dec *json.Decoder
	// unread holds tokens given back, the next one last.
	unread []json.Token
}

// newJSONReader returns a reader of body. TF Serving writes NaN, Infinity
// and -Infinity as bare tokens, which JSON does not have and
// encoding/json rejects; they are rewritten first into the strings "NaN",
// "Infinity" and "-Infinity", which the float decoders accept (and only
// they: a string where a number belongs is an error for every other
// value). The rewrite copies body only when it holds such a token.
func newJSONReader(body []byte) *jsonReader {
	dec := json.NewDecoder(bytes.NewReader(quoteNonFinite(body)))
	dec.UseNumber()
	return &jsonReader{dec: dec}
}

// token returns the next token: json.Delim, bool, json.Number, string or
// nil for null.
func (r *jsonReader) token() (json.Token, error) {
	if n := len(r.unread); n > 0 {
		tok := r.unread[n-1]
		r.unread = r.unread[:n-1]
		return tok, nil
	}
	tok, err := r.dec.Token()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: unexpected end of input", errJSON)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errJSON, err)
	}
	return tok, nil
}

// giveBack returns toks, read in that order, to be read again.
func (r *jsonReader) giveBack(toks ...json.Token) {
	for i := len(toks) - 1; i >= 0; i-- {
		r.unread = append(r.unread, toks[i])
	}
}

// more reports whether the current array or object has another element.
func (r *jsonReader) more() bool {
	if n := len(r.unread); n > 0 {
		return r.unread[n-1] != json.Delim(']') && r.unread[n-1] != json.Delim('}')
	}
	return r.dec.More()
}

// expect reads the next token and fails unless it is d.
func (r *jsonReader) expect(d json.Delim) error {
	tok, err := r.token()
	if err != nil {
		return err
	}
	if tok != d {
		return fmt.Errorf("%w: want %v, got %v", errJSON, d, describe(tok))
	}
	return nil
}

// key reads the next object key.
func (r *jsonReader) key() (string, error) {
	tok, err := r.token()
	if err != nil {
		return "", err
	}
	k, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%w: want an object key, got %v", errJSON, describe(tok))
	}
	return k, nil
}

// str reads a string value.
func (r *jsonReader) str() (string, error) {
	tok, err := r.token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("%w: want a string, got %v", errJSON, describe(tok))
	}
	return s, nil
}

// skip reads and drops the next value, whatever it is.
func (r *jsonReader) skip() error {
	depth := 0
	for {
		tok, err := r.token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			depth++
		case json.Delim(']'), json.Delim('}'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// end fails unless the document has ended.
func (r *jsonReader) end() error {
	if _, err := r.dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the top-level value", errJSON)
	}
	return nil
}

// describe names a token for an error message.
func describe(tok json.Token) string {
	switch v := tok.(type) {
	case json.Delim:
		return string(v)
	case string:
		if len(v) > 32 {
			v = v[:32] + "..."
		}
		return strconv.Quote(v)
	case nil:
		return "null"
	}
	return fmt.Sprint(tok)
}

// quoteNonFinite returns b with every bare NaN, Infinity and -Infinity
// token, outside strings, quoted; it accepts the spellings TF Serving's
// parser (RapidJSON with kParseNanAndInfFlag) does: NaN, Inf and Infinity,
// each with an optional minus. -NaN reads as NaN. Anything else is left
// for the JSON decoder to judge.
func quoteNonFinite(b []byte) []byte {
	var out []byte // nil until the first rewrite
	inString, escaped := false, false
	last := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			continue
		case '-', 'N', 'I':
		default:
			continue
		}
		word, n := nonFiniteAt(b[i:])
		if n == 0 {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(b)+16)
		}
		out = append(out, b[last:i]...)
		out = append(out, '"')
		out = append(out, word...)
		out = append(out, '"')
		i += n - 1
		last = i + 1
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}

// nonFiniteAt returns the canonical spelling of the non-finite token b
// starts with and its length, or 0 if it starts with none.
func nonFiniteAt(b []byte) (string, int) {
	minus := 0
	if len(b) > 0 && b[0] == '-' {
		minus = 1
	}
	rest := b[minus:]
	switch {
	case bytes.HasPrefix(rest, []byte("NaN")):
		return "NaN", minus + 3
	case bytes.HasPrefix(rest, []byte("Infinity")):
		return [2]string{"Infinity", "-Infinity"}[minus], minus + 8
	case bytes.HasPrefix(rest, []byte("Inf")):
		return [2]string{"Infinity", "-Infinity"}[minus], minus + 3
	}
	return "", 0
}

// parseFloat reads a float token: a number, or one of the strings
// quoteNonFinite writes. Values beyond the type's range round to ±Inf, as
// TF Serving's parser rounds them.
func parseFloat(tok json.Token, bits int) (float64, error) {
	switch v := tok.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(v), bits)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%w: %v", errJSON, err)
		}
		return f, nil
	case string:
		switch v {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
	}
	return 0, fmt.Errorf("want a number, got %v", describe(tok))
}

// appendFloat appends f as TF Serving writes floats: the shortest decimal
// that reads back as the same value of its width, with ".0" added to a
// whole number so that every float of a list looks like one, and NaN,
// Infinity and -Infinity as bare tokens.
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, bits)
	if !bytes.ContainsAny(dst[start:], ".e") {
		dst = append(dst, ".0"...)
	}
	return dst
}

// appendMessage appends s as a JSON string, invalid UTF-8 replaced: for
// messages, which must stay valid JSON whatever they quote.
func appendMessage(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
	}
	return oiphttp.AppendJSONString(dst, s)
}
