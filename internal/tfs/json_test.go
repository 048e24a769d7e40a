package tfs

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/tensor"
	"google.golang.org/grpc/codes"
)

func TestQuoteNonFinite(t *testing.T) {
	cases := map[string]string{
		`[1, NaN, -NaN, Infinity, -Infinity, Inf, -Inf]`: `[1, "NaN", "NaN", "Infinity", "-Infinity", "Infinity", "-Infinity"]`,
		`{"a":NaN}`:               `{"a":"NaN"}`,
		`["NaN", "x\"NaN", "\\"]`: `["NaN", "x\"NaN", "\\"]`, // inside strings: untouched
		`["\\", NaN]`:             `["\\", "NaN"]`,
		`[-1, -0.5e3]`:            `[-1, -0.5e3]`,
		`[Infinit]`:               `["Infinity"init]`, // left for the decoder to refuse
		`Nope`:                    `Nope`,
	}
	for in, want := range cases {
		if got := string(quoteNonFinite([]byte(in))); got != want {
			t.Errorf("quoteNonFinite(%s) = %s, want %s", in, got, want)
		}
	}
	// Valid JSON holds no bare token, so it comes back as is, not copied.
	in := []byte(`{"outputs": [1.5, "Infinity"]}`)
	if out := quoteNonFinite(in); &out[0] != &in[0] {
		t.Error("valid JSON was copied")
	}
}

func floats(v ...float32) []byte { return tensor.AppendFloat32(nil, v) }

func TestDecodePredictResponse(t *testing.T) {
	fp := func(name string) TensorSpec { return TensorSpec{Name: name, DType: tensor.FP32} }
	cases := []struct {
		name string
		body string
		sig  []TensorSpec
		want []tensor.Tensor
	}{
		{"TF Serving's example", `{"predictions": [3.5, 4.0, 5.5]}`, []TensorSpec{fp("y")},
			[]tensor.Tensor{{Name: "y", DType: tensor.FP32, Shape: []int64{3}, Raw: floats(3.5, 4, 5.5)}}},
		{"non-finite tokens", `{"outputs": [[NaN, Infinity], [-Infinity, 1e39]]}`, []TensorSpec{fp("y")},
			[]tensor.Tensor{{Name: "y", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: floats(float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Inf(1)))}}},
		{"scalar", `{"outputs": 2.0}`, []TensorSpec{fp("y")},
			[]tensor.Tensor{{Name: "y", DType: tensor.FP32, Shape: []int64{}, Raw: floats(2)}}},
		{"empty lists", `{"outputs": [[], []]}`, []TensorSpec{fp("y")},
			[]tensor.Tensor{{Name: "y", DType: tensor.FP32, Shape: []int64{2, 0}, Raw: nil}}},
		{"columnar by name, sorted by the signature", `{"outputs": {"b": [true, false], "a": [[1], [2]], "extra": {"x": [1]}}, "model_version": "3"}`,
			[]TensorSpec{{Name: "a", DType: tensor.Int64}, {Name: "b", DType: tensor.Bool}},
			[]tensor.Tensor{
				{Name: "a", DType: tensor.Int64, Shape: []int64{2, 1}, Raw: tensor.AppendInt64(nil, []int64{1, 2})},
				{Name: "b", DType: tensor.Bool, Shape: []int64{2}, Raw: []byte{1, 0}},
			}},
		{"rows by name", `{"predictions": [{"s_bytes": {"b64": "AP8="}, "n": [1, -2]}, {"n": [3, 4], "s_bytes": {"b64": "YQ"}}]}`,
			[]TensorSpec{{Name: "n", DType: tensor.Int8}, {Name: "s_bytes", DType: tensor.Bytes}},
			[]tensor.Tensor{
				{Name: "n", DType: tensor.Int8, Shape: []int64{2, 2}, Raw: tensor.AppendInt8(nil, []int8{1, -2, 3, 4})},
				{Name: "s_bytes", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"\x00\xff", "a"})},
			}},
		{"no rows", `{"predictions": []}`, []TensorSpec{{Name: "a", DType: tensor.Int32}, {Name: "b", DType: tensor.Int32}},
			[]tensor.Tensor{{Name: "a", DType: tensor.Int32, Shape: []int64{0}}, {Name: "b", DType: tensor.Int32, Shape: []int64{0}}}},
		{"a b64 scalar is not a name", `{"outputs": {"b64": "aGk="}}`, []TensorSpec{{Name: "out", DType: tensor.Bytes}},
			[]tensor.Tensor{{Name: "out", DType: tensor.Bytes, Shape: []int64{}, Raw: tensor.AppendStringElements(nil, []string{"hi"})}}},
		{"one output by name, leniently", `{"outputs": {"y": [1.0]}}`, []TensorSpec{fp("y")},
			[]tensor.Tensor{{Name: "y", DType: tensor.FP32, Shape: []int64{1}, Raw: floats(1)}}},
		{"outputs without a JSON form are skipped", `{"outputs": {"h": [1.0], "y": [2.0]}}`,
			[]TensorSpec{{Name: "h", DType: tensor.FP16}, fp("y")},
			[]tensor.Tensor{{Name: "y", DType: tensor.FP32, Shape: []int64{1}, Raw: floats(2)}}},
		{"integer limits", `{"outputs": {"u": [18446744073709551615, 0], "i": [-9223372036854775808]}}`,
			[]TensorSpec{{Name: "i", DType: tensor.Int64}, {Name: "u", DType: tensor.Uint64}},
			[]tensor.Tensor{
				{Name: "i", DType: tensor.Int64, Shape: []int64{1}, Raw: tensor.AppendInt64(nil, []int64{math.MinInt64})},
				{Name: "u", DType: tensor.Uint64, Shape: []int64{2}, Raw: tensor.AppendUint64(nil, []uint64{math.MaxUint64, 0})},
			}},
	}
	for _, c := range cases {
		got, err := DecodePredictResponse([]byte(c.body), c.sig, 1<<20)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d tensors, want %d", c.name, len(got), len(c.want))
			continue
		}
		for i := range got {
			if c.want[i].Raw == nil {
				c.want[i].Raw = []byte{}
			}
			if got[i].Raw == nil {
				got[i].Raw = []byte{}
			}
			sameTensor(t, got[i], c.want[i])
		}
	}
}

func TestDecodePredictResponseErrors(t *testing.T) {
	y := []TensorSpec{{Name: "y", DType: tensor.Int32}}
	two := []TensorSpec{{Name: "a", DType: tensor.Int32}, {Name: "b", DType: tensor.Bytes}}
	cases := []struct {
		name string
		body string
		sig  []TensorSpec
		want error
	}{
		{"ragged", `{"outputs": [[1, 2], [3]]}`, y, tensor.ErrShape},
		{"value beside a list", `{"outputs": [[1, 2], 3]}`, y, tensor.ErrShape},
		{"list beside values", `{"outputs": [1, [2]]}`, y, tensor.ErrShape},
		{"empty beside full", `{"outputs": [[], [1]]}`, y, tensor.ErrShape},
		{"too deep", `{"outputs": ` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, y, tensor.ErrShape},
		{"fraction for an integer", `{"outputs": [1.5]}`, y, tensor.ErrDType},
		{"exponent for an integer", `{"outputs": [1e3]}`, y, tensor.ErrDType},
		{"out of range", `{"outputs": [2147483648]}`, y, tensor.ErrRange},
		{"negative unsigned", `{"outputs": [-1]}`, []TensorSpec{{Name: "u", DType: tensor.Uint32}}, tensor.ErrRange},
		{"string for a number", `{"outputs": ["1"]}`, y, tensor.ErrDType},
		{"NaN for an integer", `{"outputs": [NaN]}`, y, tensor.ErrDType},
		{"number for a bool", `{"outputs": [1]}`, []TensorSpec{{Name: "b", DType: tensor.Bool}}, tensor.ErrDType},
		{"number for a string", `{"outputs": {"a": [1], "b": [2]}}`, two, tensor.ErrDType},
		{"other object for a string", `{"outputs": {"a": [1], "b": [{"x": "y"}]}}`, two, tensor.ErrDType},
		{"b64 with two keys", `{"outputs": {"a": [1], "b": [{"b64": "", "c": 1}]}}`, two, errJSON},
		{"bad b64", `{"outputs": {"a": [1], "b": [{"b64": "!!!!"}]}}`, two, errJSON},
		{"a row without an output", `{"predictions": [{"a": 1, "b": "x"}, {"a": 2}]}`, two, tensor.ErrLength},
		{"an output twice in a row", `{"predictions": [{"a": 1, "a": 2, "b": "x"}]}`, two, tensor.ErrLength},
		{"an output twice", `{"outputs": {"a": [1], "a": [2], "b": ["x"]}}`, two, tensor.ErrLength},
		{"rows that are not objects", `{"predictions": [1, 2]}`, two, errJSON},
		{"both forms", `{"outputs": [1], "predictions": [1]}`, y, errJSON},
		{"neither", `{"error": "x"}`, y, errJSON},
		{"not an object", `[1]`, y, errJSON},
		{"trailing data", `{"outputs": [1]} {}`, y, errJSON},
		{"cut short", `{"outputs": [1`, y, errJSON},
		{"over the limit", `{"outputs": [` + strings.Repeat("1,", 300) + `1]}`, y, ErrTooLarge},
	}
	for _, c := range cases {
		_, err := DecodePredictResponse([]byte(c.body), c.sig, 1<<10)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestEncodePredictRequest(t *testing.T) {
	in := []tensor.Tensor{
		{Name: "x", DType: tensor.FP32, Shape: []int64{2, 2}, Raw: floats(1, 2.5, float32(math.NaN()), float32(math.Inf(-1)))},
		{Name: "img_bytes", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"ok", "\x00"})},
		{Name: "t", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"é\"\n", "\x01"})},
		{Name: "raw", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"text", "\xff"})},
		{Name: "n", DType: tensor.Uint64, Shape: []int64{2}, Raw: tensor.AppendUint64(nil, []uint64{math.MaxUint64, 0})},
	}
	got, err := EncodePredictRequest("sig", in, Columnar)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"signature_name":"sig","inputs":{"x":[[1.0,2.5],[NaN,-Infinity]],"img_bytes":[{"b64":"b2s="},{"b64":"AA=="}],` +
		`"t":["é\"\n","\u0001"],"raw":[{"b64":"dGV4dA=="},{"b64":"/w=="}],"n":[18446744073709551615,0]}}`
	if string(got) != want {
		t.Errorf("columnar:\n got %s\nwant %s", got, want)
	}
	got, err = EncodePredictRequest("sig", in, Row)
	if err != nil {
		t.Fatal(err)
	}
	want = `{"signature_name":"sig","instances":[` +
		`{"x":[1.0,2.5],"img_bytes":{"b64":"b2s="},"t":"é\"\n","raw":{"b64":"dGV4dA=="},"n":18446744073709551615},` +
		`{"x":[NaN,-Infinity],"img_bytes":{"b64":"AA=="},"t":"\u0001","raw":{"b64":"/w=="},"n":0}]}`
	if string(got) != want {
		t.Errorf("row:\n got %s\nwant %s", got, want)
	}
	scalar := tensor.Tensor{Name: "s", DType: tensor.Int32, Shape: []int64{}, Raw: tensor.AppendInt32(nil, []int32{1})}
	if _, err := EncodePredictRequest("", []tensor.Tensor{scalar}, Row); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("a scalar in rows: %v", err)
	}
	if _, err := EncodePredictRequest("", []tensor.Tensor{in[0], in[4]}, Row); err != nil {
		t.Errorf("rows of one size: %v", err)
	}
	short := in[4]
	short.Shape, short.Raw = []int64{1}, short.Raw[:8]
	if _, err := EncodePredictRequest("", []tensor.Tensor{in[0], short}, Row); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("rows of two sizes: %v", err)
	}
	half := tensor.Tensor{Name: "h", DType: tensor.FP16, Shape: []int64{1}, Raw: tensor.AppendFP16(nil, []float32{1})}
	if _, err := EncodePredictRequest("", []tensor.Tensor{half}, Columnar); !errors.Is(err, tensor.ErrDType) || !errors.Is(err, errNoJSON) {
		t.Errorf("FP16: %v", err)
	}
}

// TestDecodePredictRequest reads the request bodies of TF Serving's REST
// documentation as a server.
func TestDecodePredictRequest(t *testing.T) {
	specs := map[string][]TensorSpec{
		"":       {{Name: "x", DType: tensor.Bytes}},
		"pairs":  {{Name: "x", DType: tensor.Int32}},
		"sensor": {{Name: "tag", DType: tensor.Bytes}, {Name: "signal", DType: tensor.Int32}, {Name: "sensor", DType: tensor.FP64}},
	}
	inputs := func(sig string) ([]TensorSpec, error) { return specs[sig], nil }
	sensorWant := []tensor.Tensor{
		{Name: "tag", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"foo", "bar"})},
		{Name: "signal", DType: tensor.Int32, Shape: []int64{2, 5}, Raw: tensor.AppendInt32(nil, []int32{1, 2, 3, 4, 5, 3, 4, 1, 2, 5})},
		{Name: "sensor", DType: tensor.FP64, Shape: []int64{2, 2, 2}, Raw: tensor.AppendFloat64(nil, []float64{1, 2, 3, 4, 4, 5, 6, 8})},
	}
	cases := []struct {
		name, body, sig string
		format          Format
		want            []tensor.Tensor
	}{
		{"three scalars", `{"instances": ["foo", "bar", "baz"]}`, "", Row,
			[]tensor.Tensor{{Name: "x", DType: tensor.Bytes, Shape: []int64{3}, Raw: tensor.AppendStringElements(nil, []string{"foo", "bar", "baz"})}}},
		{"two [1, 2]", `{"signature_name": "pairs", "instances": [ [[1, 2]], [[3, 4]] ]}`, "pairs", Row,
			[]tensor.Tensor{{Name: "x", DType: tensor.Int32, Shape: []int64{2, 1, 2}, Raw: tensor.AppendInt32(nil, []int32{1, 2, 3, 4})}}},
		{"named rows", `{"instances": [{"tag": "foo", "signal": [1, 2, 3, 4, 5], "sensor": [[1, 2], [3, 4]]},
			{"tag": "bar", "signal": [3, 4, 1, 2, 5], "sensor": [[4, 5], [6, 8]]}], "signature_name": "sensor"}`, "sensor", Row, sensorWant},
		{"columns", `{"signature_name": "sensor", "inputs": {"tag": ["foo", "bar"], "signal": [[1, 2, 3, 4, 5], [3, 4, 1, 2, 5]],
			"sensor": [[[1, 2], [3, 4]], [[4, 5], [6, 8]]]}}`, "sensor", Columnar, sensorWant},
		{"one input by name", `{"instances": [{"x": "a"}, {"x": {"b64": "Yg=="}}]}`, "", Row,
			[]tensor.Tensor{{Name: "x", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"a", "b"})}}},
		{"a b64 input bare", `{"inputs": {"b64": "Yg=="}}`, "", Columnar,
			[]tensor.Tensor{{Name: "x", DType: tensor.Bytes, Shape: []int64{}, Raw: tensor.AppendStringElements(nil, []string{"b"})}}},
		{"b64 rows bare", `{"instances": [{"b64": "Yg=="}]}`, "", Row,
			[]tensor.Tensor{{Name: "x", DType: tensor.Bytes, Shape: []int64{1}, Raw: tensor.AppendStringElements(nil, []string{"b"})}}},
	}
	for _, c := range cases {
		sig, f, got, err := DecodePredictRequest([]byte(c.body), inputs, 1<<20)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if sig != c.sig || f != c.format || len(got) != len(c.want) {
			t.Errorf("%s: signature %q, format %v, %d tensors", c.name, sig, f, len(got))
			continue
		}
		for i := range got {
			sameTensor(t, got[i], c.want[i])
		}
	}
	for body, want := range map[string]error{
		`{"inputs": [1], "instances": [1]}`:                       errJSON,
		`{"signature_name": "pairs"}`:                             errJSON,
		`{"signature_name": 1, "inputs": [1]}`:                    errJSON,
		`{"signature_name": "sensor", "inputs": {"tag": ["a"]}}`:  tensor.ErrLength,
		`{"signature_name": "sensor", "instances": ["a", "b"]}`:   errJSON,
		`{"signature_name": "pairs", "instances": [[1], [2, 3]]}`: tensor.ErrShape,
		`{"signature_name": "pairs", "inputs": [true]}`:           tensor.ErrDType,
	} {
		if _, _, _, err := DecodePredictRequest([]byte(body), inputs, 1<<20); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", body, err, want)
		}
	}
}

// TestPredictResponseRoundTrip writes answers as a server and reads them
// as a client, in both formats, with one output and several.
func TestPredictResponseRoundTrip(t *testing.T) {
	outs := []tensor.Tensor{
		{Name: "a", DType: tensor.FP64, Shape: []int64{2, 2}, Raw: tensor.AppendFloat64(nil, []float64{1, math.Inf(1), -0.25, 3e300})},
		{Name: "b_bytes", DType: tensor.Bytes, Shape: []int64{2}, Raw: tensor.AppendStringElements(nil, []string{"x", "\xff"})},
		{Name: "c", DType: tensor.Bool, Shape: []int64{2, 1, 1}, Raw: []byte{0, 1}},
	}
	sig := []TensorSpec{{Name: "a", DType: tensor.FP64}, {Name: "b_bytes", DType: tensor.Bytes}, {Name: "c", DType: tensor.Bool}}
	for _, f := range []Format{Columnar, Row} {
		for _, n := range []int{1, 3} {
			body, err := EncodePredictResponse(outs[:n], f)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(quoteNonFinite(body)) {
				t.Errorf("format %v: not JSON: %s", f, body)
			}
			got, err := DecodePredictResponse(body, sig[:n], 1<<20)
			if err != nil {
				t.Fatalf("format %v, %d outputs: %v\n%s", f, n, err, body)
			}
			for i := range got {
				sameTensor(t, got[i], outs[i])
			}
		}
	}
	if body, _ := EncodePredictResponse(outs[:1], Columnar); !strings.Contains(string(body), "Infinity") || strings.Contains(string(body), `"a"`) {
		t.Errorf("one output is written bare, Infinity as a token: %s", body)
	}
	if _, err := EncodePredictResponse([]tensor.Tensor{outs[0], {Name: "s", DType: tensor.FP32, Shape: []int64{3}, Raw: make([]byte, 12)}}, Row); !errors.Is(err, tensor.ErrShape) {
		t.Errorf("rows of two sizes: %v", err)
	}
}

func TestErrorBodies(t *testing.T) {
	if got := DecodeErrorBody(EncodeErrorBody("Servable not found \"x\"\n")); got != "Servable not found \"x\"\n" {
		t.Errorf("round trip: %q", got)
	}
	if got := DecodeErrorBody(EncodeErrorBody("bad \xff byte")); got != "bad \uFFFD byte" {
		t.Errorf("invalid UTF-8: %q", got)
	}
	if got := DecodeErrorBody([]byte("  <html>" + strings.Repeat("x", 1000))); len(got) != maxErrorMessage+3 || !strings.HasPrefix(got, "<html>") {
		t.Errorf("a page: %d bytes %q", len(got), got[:10])
	}
}

func TestHTTPStatus(t *testing.T) {
	// A TF Serving error crosses REST with its code, but for the codes TF
	// Serving folds into a shared status, and 429, which a client reads
	// as an overloaded server, as on the Open Inference Protocol's REST.
	folded := map[codes.Code]codes.Code{
		codes.ResourceExhausted:  codes.Unavailable,
		codes.FailedPrecondition: codes.InvalidArgument,
		codes.OutOfRange:         codes.InvalidArgument,
		codes.AlreadyExists:      codes.Aborted,
		codes.Unknown:            codes.Internal,
		codes.DataLoss:           codes.Internal,
	}
	for c := codes.OK + 1; c <= codes.Unauthenticated; c++ {
		want := c
		if f, ok := folded[c]; ok {
			want = f
		}
		if got := oiphttp.CodeForHTTPStatus(HTTPStatusForCode(c)); got != want {
			t.Errorf("%v -> HTTP %d -> %v, want %v", c, HTTPStatusForCode(c), got, want)
		}
	}
	if HTTPStatusForCode(codes.OK) != 200 {
		t.Error("OK is not 200")
	}
}
