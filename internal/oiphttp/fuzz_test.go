package oiphttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/goai-dev/goai/internal/wire"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fuzzSeeds are bodies as servers send them, good and broken, with their
// header length (-1 for none).
func fuzzSeeds(t testing.TB) []struct {
	body []byte
	hl   int
} {
	var seeds []struct {
		body []byte
		hl   int
	}
	add := func(b []byte, hl int) {
		seeds = append(seeds, struct {
			body []byte
			hl   int
		}{b, hl})
	}
	add([]byte(`{"model_name":"simple","model_version":"1","outputs":[{"name":"OUTPUT0","datatype":"INT32","shape":[1,4],"data":[2,4,6,8]}]}`), -1)
	add([]byte(`{"model_name": "m", "model_version": null, "id": "x", "parameters": null, "outputs": [{"name": "o", "shape": [2, 2], "datatype": "FP32", "parameters": null, "data": [[1.0, NaN], [Infinity, -1e-3]]}]}`), -1)
	add([]byte(`{"outputs":[{"data":["a\u00e9\ud83d\ude00","\\\""],"name":"b","shape":[2],"datatype":"BYTES"}]}`), -1)
	add([]byte(`{"outputs":[{"name":"h","datatype":"FP16","shape":[1],"data":[0.5]},{"name":"u","datatype":"UINT64","shape":[1],"data":[18446744073709551615]}]}`), -1)
	bin := `{"model_name":"m","outputs":[{"name":"a","datatype":"FP32","shape":[2],"parameters":{"binary_data_size":8}},{"name":"s","datatype":"BYTES","shape":[1],"parameters":{"binary_data_size":5}}]}`
	add(slices.Concat([]byte(bin), tensor.AppendFloat32(nil, []float32{1, 2}), tensor.AppendStringElements(nil, []string{"x"})), len(bin))
	add([]byte(`{"outputs":[{"name":"o","datatype":"INT8","shape":[1],"data":[128]}]}`), -1)
	add([]byte(`{"outputs":[{"name":"o","datatype":"FP32","shape":[2147483647],"data":[1]}]}`), -1)
	add([]byte(`{"outputs":[{"name":"o","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}`), 10)
	// The encoder's own output, every datatype, both forms.
	out := samples()
	for _, binary := range []func(string) bool{nil, func(string) bool { return true }} {
		h, c, err := EncodeResponse(nil, nil, &wire.Response{Model: "m", Outputs: out}, binary)
		if err != nil {
			t.Fatal(err)
		}
		hl := -1
		if len(c) > 0 {
			hl = len(h)
		}
		add(joinBody(h, c), hl)
	}
	return seeds
}

// checkDecodeError checks what every decode failure must be: an *Error
// with code, or, for a response's output whose data does not fit it, a
// *wire.TensorError; either wrapping a sentinel.
func checkDecodeError(t *testing.T, err error, code codes.Code) {
	t.Helper()
	var e *Error
	var te *wire.TensorError
	switch {
	case code == codes.Internal && errors.As(err, &te):
		if !te.Output || len(te.Tensor) > maxEchoed+len("…") {
			t.Fatalf("%v: %+v, want an output named in at most %d bytes", err, te, maxEchoed)
		}
	case !errors.As(err, &e) || status.Code(err) != code:
		t.Fatalf("%v: not an *Error with code %v", err, code)
	}
	for _, s := range []error{ErrMalformed, tensor.ErrShape, tensor.ErrLength, tensor.ErrDType, tensor.ErrRange} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("%v wraps none of the sentinels", err)
}

// checkReencode checks decoded tensors are valid and survive our own
// encoder and decoder byte for byte, in JSON where it can carry them and
// in binary.
func checkReencode(t *testing.T, ts []tensor.Tensor) {
	t.Helper()
	for i := range ts {
		if err := ts[i].Validate(); err != nil {
			t.Fatalf("decoded an invalid tensor: %v", err)
		}
	}
	if _, dup := firstDup(len(ts), func(i int) string { return ts[i].Name }); dup {
		t.Fatal("decoded two outputs of one name")
	}
	for _, binary := range []func(string) bool{nil, func(string) bool { return true }} {
		resp := &wire.Response{Model: "m", Outputs: ts}
		h, c, err := EncodeResponse(nil, nil, resp, binary)
		if err != nil {
			if !utf8Names(ts) {
				return // decoding keeps bytes; encoding wants UTF-8 names
			}
			t.Fatalf("re-encoding: %v", err)
		}
		got, err := DecodeResponse(joinBody(h, c), len(h))
		if err != nil {
			t.Fatalf("decoding our own encoding: %v\n%s", err, h)
		}
		if len(got.Outputs) != len(ts) {
			t.Fatalf("%d outputs, want %d", len(got.Outputs), len(ts))
		}
		for i := range ts {
			g, w := got.Outputs[i], ts[i]
			if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Raw, w.Raw) {
				t.Fatalf("output %d changed in a round trip:\n got %q %v %v % x\nwant %q %v %v % x", i, g.Name, g.DType, g.Shape, g.Raw, w.Name, w.DType, w.Shape, w.Raw)
			}
		}
	}
}

func utf8Names(ts []tensor.Tensor) bool {
	for _, t := range ts {
		if !utf8.ValidString(t.Name) {
			return false
		}
	}
	return true
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.body, s.hl)
	}
	f.Fuzz(func(t *testing.T, body []byte, hl int) {
		hl = max(hl, -1)
		resp, err := DecodeResponse(body, hl)
		if err != nil {
			checkDecodeError(t, err, codes.Internal)
			return
		}
		checkReencode(t, resp.Outputs)
	})
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(bytes.ReplaceAll(s.body, []byte(`"outputs":`), []byte(`"inputs":`)), s.hl)
	}
	in := samples()
	h, c, err := EncodeRequest(nil, nil, &wire.Request{ID: "i", Inputs: in, Outputs: []string{"a"}}, EncodeOptions{BinaryThreshold: 8})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(joinBody(h, c), len(h))
	f.Fuzz(func(t *testing.T, body []byte, hl int) {
		hl = max(hl, -1)
		req, err := DecodeRequest(body, hl, "m", "")
		if err != nil {
			checkDecodeError(t, err, codes.InvalidArgument)
			return
		}
		checkReencode(t, req.Request.Inputs)
	})
}

// FuzzScanner compares the scanner with encoding/json: the same texts
// are valid JSON, and strings unescape the same.
func FuzzScanner(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s.body)
	}
	for _, s := range []string{`"\ud800"`, `"\ud83d\ude00"`, `"\udc00\ud800"`, `"\u0000"`, `1e400`, `-0.0E-0`, `[1,[2,{"a":null}]]`, `"\/\b\f"`, "\"\xff\"", ` true `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.Count(data, []byte("["))+bytes.Count(data, []byte("{")) >= maxDepth {
			return // deeper than we allow, shallower than encoding/json's limit
		}
		s := &scanner{buf: data}
		err := s.skip()
		if err == nil {
			err = s.end()
		}
		if valid := json.Valid(data); valid != (err == nil) {
			t.Fatalf("json.Valid %v, scanner: %v", valid, err)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v does not wrap ErrMalformed", err)
			}
			return
		}
		s = &scanner{buf: data}
		if s.ws() != '"' || !utf8.Valid(data) {
			return // only valid UTF-8 strings unescape alike
		}
		got, err := s.str(nil)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("scanner unescaped %q, encoding/json %q", got, want)
		}
	})
}

// FuzzParseFloat compares parseFloat with strconv.ParseFloat on every
// JSON number literal, for both widths.
func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"0", "-0", "1", "0.1", "-0.83746123", "3.4028235e38", "3.4028236e38", "1e-45", "1.1754943e-38",
		"9007199254740993", "123456789012345678901", "1e22", "1e23", "2.5e-22", "0.000000000000000000000000001", "16777217",
		"1.00000005960464477539", "0.50000001", "7.038531e-26", "1e400", "-1e-400", "4.9406564584124654e-324"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := scanNumber([]byte(s), 0)
		if !ok || n.end != len(s) {
			return // not a JSON number
		}
		for _, bits := range []int{32, 64} {
			want, err := strconv.ParseFloat(s, bits)
			got, ok := parseFloat([]byte(s), &n, bits)
			if ok != (err == nil) || ok && math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("parseFloat(%q, %d) = %v, %v; strconv: %v, %v", s, bits, got, ok, want, err)
			}
		}
	})
}
