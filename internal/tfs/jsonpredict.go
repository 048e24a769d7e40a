package tfs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/goai-dev/goai/internal/oiphttp"
	"github.com/goai-dev/goai/tensor"
)

// TensorSpec describes a tensor of a signature: its name and datatype,
// what a JSON body does not say and its reader must know, and, for a
// [Model] served, its shape (-1 for a dimension of any size, nil for an
// unknown rank).
type TensorSpec struct {
	Name  string
	DType tensor.DType
	Shape []int64
}

// The top-level keys of TF Serving's predict bodies.
const (
	keySignature   = "signature_name"
	keyInstances   = "instances"
	keyInputs      = "inputs"
	keyPredictions = "predictions"
	keyOutputs     = "outputs"
	keyError       = "error"
)

// EncodePredictRequest returns the JSON body of a REST predict request
// running signature sig on inputs, in format f: {"signature_name": sig,
// "inputs": {name: tensor, ...}} or {"signature_name": sig, "instances":
// [{name: row, ...}, ...]}. Inputs are always named, which TF Serving
// accepts for one input too. DT_STRING elements go as strings, or as
// {"b64": ...} for an input whose name ends in _bytes and for any input
// with an element that is not UTF-8. FP16, BF16 and UINT16 have no JSON
// form and fail with [tensor.ErrDType]; the row format fails with
// [tensor.ErrShape] unless every input has dimension 0, of one size.
func EncodePredictRequest(sig string, inputs []tensor.Tensor, f Format) ([]byte, error) {
	key := keyInputs
	if f == Row {
		key = keyInstances
	}
	// Most numbers take two to four characters per raw byte: one
	// allocation for most bodies.
	size := 64 + len(sig)
	for _, t := range inputs {
		size += 16 + len(t.Name) + 4*len(t.Raw)
	}
	dst := append(make([]byte, 0, size), `{"`+keySignature+`":`...)
	dst = oiphttp.AppendJSONString(dst, sig)
	dst = append(dst, `,"`+key+`":`...)
	if err := checkNames(inputs); err != nil {
		return nil, err
	}
	var err error
	if f == Row {
		dst, err = appendRows(dst, inputs, true)
	} else {
		dst, err = appendColumns(dst, inputs, true)
	}
	if err != nil {
		return nil, err
	}
	return append(dst, '}'), nil
}

func checkNames(ts []tensor.Tensor) error {
	for i, t := range ts {
		for _, u := range ts[:i] {
			if u.Name == t.Name {
				return fmt.Errorf("tfs: tensor %q given twice", t.Name)
			}
		}
	}
	return nil
}

// appendColumns appends ts in the columnar format: an object of them by
// name, or the one tensor bare when named is false.
func appendColumns(dst []byte, ts []tensor.Tensor, named bool) ([]byte, error) {
	if !named {
		return appendJSONTensor(dst, ts[0])
	}
	dst = append(dst, '{')
	for i, t := range ts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = oiphttp.AppendJSONString(dst, t.Name)
		dst = append(dst, ':')
		var err error
		if dst, err = appendJSONTensor(dst, t); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendRows appends ts in the row format: a list over dimension 0 of
// objects holding each tensor's row by name, or of the one tensor's rows
// bare when named is false.
func appendRows(dst []byte, ts []tensor.Tensor, named bool) ([]byte, error) {
	rows := int64(-1)
	ws := make([]*jsonWriter, len(ts))
	for i, t := range ts {
		w, err := newJSONWriter(t)
		if err != nil {
			return nil, err
		}
		ws[i] = w
		if len(t.Shape) == 0 {
			return nil, wrapTensor(t.Name, t.DType, fmt.Errorf("%w: a scalar has no rows; use the columnar format", tensor.ErrShape))
		}
		if rows >= 0 && t.Shape[0] != rows {
			return nil, wrapTensor(t.Name, t.DType, fmt.Errorf("%w: %d rows, other tensors have %d; the row format needs one size of dimension 0", tensor.ErrShape, t.Shape[0], rows))
		}
		rows = t.Shape[0]
	}
	dst = append(dst, '[')
	for r := range int(max(rows, 0)) {
		if r > 0 {
			dst = append(dst, ',')
		}
		if !named {
			dst = appendJSONRow(dst, ws[0], ts[0], r)
			continue
		}
		dst = append(dst, '{')
		for i, t := range ts {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = oiphttp.AppendJSONString(dst, t.Name)
			dst = append(dst, ':')
			dst = appendJSONRow(dst, ws[i], t, r)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']'), nil
}

// EncodePredictResponse returns the JSON body TF Serving answers a predict
// request in format f with: {"outputs": ...} or {"predictions": ...},
// holding the one output bare or several by name, DT_STRING outputs whose
// name ends in _bytes as {"b64": ...} objects (and, unlike TF Serving,
// any that is not UTF-8, which a JSON string cannot hold). Outputs keep
// their order.
func EncodePredictResponse(outputs []tensor.Tensor, f Format) ([]byte, error) {
	if len(outputs) == 0 {
		return nil, fmt.Errorf("tfs: cannot write an empty list of outputs as JSON")
	}
	if err := checkNames(outputs); err != nil {
		return nil, err
	}
	named := len(outputs) > 1
	var err error
	dst := []byte(`{"` + keyOutputs + `":`)
	if f == Row {
		dst = []byte(`{"` + keyPredictions + `":`)
		dst, err = appendRows(dst, outputs, named)
	} else {
		dst, err = appendColumns(dst, outputs, named)
	}
	if err != nil {
		return nil, err
	}
	return append(dst, '}'), nil
}

// DecodePredictResponse reads the tensors of a REST predict answer, body,
// whose signature has the outputs sig. TF Serving writes every output of
// the signature, bare if there is one and by name if there are several,
// in the format of the request: {"outputs": ...} (columnar) or
// {"predictions": ...} (row); both are read whatever was sent. The
// tensors come back in sig's order, those whose datatype has no JSON form
// skipped, and they take at most max raw bytes altogether
// ([DefaultMaxDecodedBytes] if max <= 0; [ErrTooLarge] beyond). Values of the wrong type, lists that are not dense and missing
// or repeated outputs fail with package tensor's sentinels; broken JSON
// with an error wrapping no sentinel of it.
func DecodePredictResponse(body []byte, sig []TensorSpec, max int) ([]tensor.Tensor, error) {
	if max <= 0 {
		max = DefaultMaxDecodedBytes
	}
	r := newJSONReader(body)
	if err := r.expect('{'); err != nil {
		return nil, err
	}
	var out []tensor.Tensor
	found := false
	for r.more() {
		k, err := r.key()
		if err != nil {
			return nil, err
		}
		switch k {
		case keyOutputs, keyPredictions:
			if found {
				return nil, fmt.Errorf("%w: both %q and %q", errJSON, keyOutputs, keyPredictions)
			}
			found = true
			budget := max
			if out, err = readTensors(r, sig, k == keyPredictions, false, &budget); err != nil {
				return nil, err
			}
		default:
			if err := r.skip(); err != nil {
				return nil, err
			}
		}
	}
	if err := r.expect('}'); err != nil {
		return nil, err
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: neither %q nor %q in the answer", errJSON, keyOutputs, keyPredictions)
	}
	return out, nil
}

// DecodePredictRequest reads a REST predict request body as TF Serving
// does: the signature's name (empty if absent), then its inputs, whose
// specs inputs returns for that name, from "instances" (row format) or
// "inputs" (columnar), exactly one of them. Either format takes the one
// input bare or every input by name. The tensors come back in the specs'
// order and take at most max raw bytes ([DefaultMaxDecodedBytes] if max
// <= 0).
func DecodePredictRequest(body []byte, inputs func(sig string) ([]TensorSpec, error), max int) (sig string, f Format, ts []tensor.Tensor, err error) {
	// The signature decides the inputs' types, and may come after them:
	// a first pass finds it.
	if max <= 0 {
		max = DefaultMaxDecodedBytes
	}
	sig, key, err := scanRequest(body)
	if err != nil {
		return "", 0, nil, err
	}
	specs, err := inputs(sig)
	if err != nil {
		return "", 0, nil, err
	}
	r := newJSONReader(body)
	if err := r.expect('{'); err != nil {
		return "", 0, nil, err
	}
	budget := max
	for r.more() {
		k, err := r.key()
		if err != nil {
			return "", 0, nil, err
		}
		if k != key {
			if err := r.skip(); err != nil {
				return "", 0, nil, err
			}
			continue
		}
		if ts, err = readTensors(r, specs, k == keyInstances, true, &budget); err != nil {
			return "", 0, nil, err
		}
	}
	if key == keyInstances {
		f = Row
	}
	return sig, f, ts, nil
}

// scanRequest finds a request body's signature name and which of
// "instances" and "inputs" it holds.
func scanRequest(body []byte) (sig, key string, err error) {
	r := newJSONReader(body)
	if err := r.expect('{'); err != nil {
		return "", "", err
	}
	for r.more() {
		k, err := r.key()
		if err != nil {
			return "", "", err
		}
		switch k {
		case keySignature:
			if sig, err = r.str(); err != nil {
				return "", "", fmt.Errorf("%q: %w", keySignature, err)
			}
			continue
		case keyInstances, keyInputs:
			if key != "" {
				return "", "", fmt.Errorf("%w: only one of %q and %q may be given", errJSON, keyInputs, keyInstances)
			}
			key = k
		}
		if err := r.skip(); err != nil {
			return "", "", err
		}
	}
	if err := r.expect('}'); err != nil {
		return "", "", err
	}
	if err := r.end(); err != nil {
		return "", "", err
	}
	if key == "" {
		return "", "", fmt.Errorf("%w: missing %q or %q", errJSON, keyInputs, keyInstances)
	}
	return sig, key, nil
}

// readTensors reads the tensors of specs from the value r is at, in the
// row format (a list of rows) or the columnar one (the tensors), bare if
// there is one spec and by name if there are several. With all, every
// spec must be present (a request); otherwise specs without a JSON form
// are skipped (an answer may hold outputs the caller did not want).
func readTensors(r *jsonReader, specs []TensorSpec, rows, all bool, budget *int) ([]tensor.Tensor, error) {
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: the signature has no tensors", tensor.ErrShape)
	}
	ts := make([]*jsonTensor, len(specs))
	for i, s := range specs {
		if err := jsonDType(s.DType); err != nil {
			if all {
				return nil, wrapTensor(s.Name, s.DType, err)
			}
			continue
		}
		ts[i] = newJSONTensor(s.Name, s.DType, budget)
	}
	named := len(specs) > 1
	if !named {
		var err error
		if named, err = namedForm(r, specs[0], rows); err != nil {
			return nil, err
		}
	}
	var err error
	instances := -1
	switch {
	case !named:
		// One tensor bare: in the row format, its rows are the tensor
		// itself, nested.
		err = readOne(r, ts[0], 0)
	case !rows:
		err = readNamed(r, specs, ts, 0, make([]int, len(specs)))
	default:
		instances, err = readRows(r, specs, ts)
	}
	if err != nil {
		return nil, err
	}
	out := make([]tensor.Tensor, 0, len(ts))
	for i, t := range ts {
		if t == nil {
			continue
		}
		if t.rank < 0 && instances < 0 {
			if all {
				return nil, wrapTensor(specs[i].Name, specs[i].DType, fmt.Errorf("%w: missing", tensor.ErrLength))
			}
			continue
		}
		v, err := t.tensor(instances)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// namedForm reports whether the value r is at holds the one tensor of
// spec by name, {name: tensor} or [{name: row}, ...], rather than bare
// (what TF Serving writes for one output, and takes for one input
// either way). A {"b64": ...} object is a DT_STRING value, not a name.
// It reads ahead and gives back what it read.
func namedForm(r *jsonReader, spec TensorSpec, rows bool) (bool, error) {
	var read []json.Token
	defer func() { r.giveBack(read...) }()
	next := func() (json.Token, error) {
		tok, err := r.token()
		if err == nil {
			read = append(read, tok)
		}
		return tok, err
	}
	tok, err := next()
	if err != nil {
		return false, err
	}
	if rows {
		if tok != json.Delim('[') || !r.more() {
			return false, nil
		}
		if tok, err = next(); err != nil {
			return false, err
		}
	}
	if tok != json.Delim('{') || !r.more() {
		return tok == json.Delim('{'), nil
	}
	k, err := next()
	if err != nil {
		return false, err
	}
	return !(k == "b64" && spec.DType == tensor.Bytes), nil
}

// readOne reads one tensor's value into t, or skips it if t is nil.
func readOne(r *jsonReader, t *jsonTensor, depth int) error {
	if t == nil {
		return r.skip()
	}
	if err := t.value(r, depth); err != nil {
		return wrapTensor(t.name, t.dt, err)
	}
	return nil
}

// readNamed reads an object of tensors (at depth 0) or of one row of each
// (at depth 1) by name, counting in seen how often each name came.
func readNamed(r *jsonReader, specs []TensorSpec, ts []*jsonTensor, depth int, seen []int) error {
	if err := r.expect('{'); err != nil {
		return err
	}
	for r.more() {
		k, err := r.key()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(specs, func(s TensorSpec) bool { return s.Name == k })
		if i < 0 {
			// TF Serving ignores names its signature lacks.
			if err := r.skip(); err != nil {
				return err
			}
			continue
		}
		if seen[i]++; depth == 0 && seen[i] > 1 {
			return wrapTensor(k, specs[i].DType, fmt.Errorf("%w: given twice", tensor.ErrLength))
		}
		if err := readOne(r, ts[i], depth); err != nil {
			return err
		}
	}
	return r.expect('}')
}

// readRows reads a list of rows, each an object of one row of each tensor
// by name, and returns how many there were.
func readRows(r *jsonReader, specs []TensorSpec, ts []*jsonTensor) (int, error) {
	if err := r.expect('['); err != nil {
		return 0, err
	}
	seen := make([]int, len(specs))
	n := 0
	for r.more() {
		if err := readNamed(r, specs, ts, 1, seen); err != nil {
			return 0, fmt.Errorf("row %d: %w", n, err)
		}
		n++
		for i, c := range seen {
			if c != n {
				return 0, wrapTensor(specs[i].Name, specs[i].DType, fmt.Errorf("%w: row %d holds it %d times, not once", tensor.ErrLength, n-1, c-(n-1)))
			}
		}
	}
	if err := r.expect(']'); err != nil {
		return 0, err
	}
	return n, nil
}

// DecodeErrorBody returns the message of a TF Serving error answer,
// {"error": "<message>"}, or body itself, trimmed, when it is not one (a
// proxy's page), cut to maxErrorMessage bytes and made valid UTF-8.
func DecodeErrorBody(body []byte) string {
	var v struct {
		Error *string `json:"error"`
	}
	if json.Unmarshal(body, &v) == nil && v.Error != nil {
		return *v.Error
	}
	s := strings.TrimSpace(string(body))
	if len(s) > maxErrorMessage {
		s = s[:maxErrorMessage] + "..."
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// maxErrorMessage caps the text kept of an error body that is not TF
// Serving's JSON.
const maxErrorMessage = 512

// EncodeErrorBody returns TF Serving's error body for msg.
func EncodeErrorBody(msg string) []byte {
	dst := []byte(`{"` + keyError + `":`)
	dst = appendMessage(dst, msg)
	return append(dst, '}')
}
