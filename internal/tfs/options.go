package tfs

import (
	"fmt"
	"strconv"
	"time"

	"github.com/goai-dev/goai/internal/tfspb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Options configures a [GRPC] or [REST] transport with what TF Serving
// needs and a [wire.Request] does not carry.
type Options struct {
	// SignatureName is the signature every call runs and metadata
	// describes; empty is [DefaultSignature].
	SignatureName string

	// Version says how a request's version string names a version.
	Version VersionMode

	// Labels maps a model's name to the version label that a request of
	// that model naming no version asks for, such as a service's
	// annotated "stable"; a model without one gets the server's choice.
	// The label goes as a label whatever Version says.
	Labels map[string]string

	// MaxDecodedBytes limits the raw bytes the tensors of one response
	// decode to; 0 is [DefaultMaxDecodedBytes]. See [DecodeTensor].
	MaxDecodedBytes int

	// REST only.

	// Format is the JSON form of REST predict requests.
	Format Format

	// MaxResponseBytes limits the body of one REST answer; 0 is
	// [DefaultMaxResponseBytes]. A longer one fails with
	// RESOURCE_EXHAUSTED.
	MaxResponseBytes int

	// Now tells the time a Retry-After date is measured from; nil is
	// time.Now.
	Now func() time.Time
}

// VersionMode says how a version string names a version of a model: TF
// Serving takes a version number or a label (such as "stable"), in
// ModelSpec's version or version_label over gRPC and in the path's
// /versions/N or /labels/L over REST. The empty string always asks for
// the server's choice (the latest version).
type VersionMode int

const (
	// VersionAuto reads a version of decimal digits as a number and
	// anything else as a label.
	VersionAuto VersionMode = iota
	// VersionNumber reads every version as a number; anything but
	// decimal digits is an error.
	VersionNumber
	// VersionLabel reads every version as a label, digits included.
	VersionLabel
)

// Format is the JSON form of a REST predict request, which also decides
// the form of the answer.
type Format int

const (
	// Columnar sends {"inputs": {name: tensor, ...}} and reads
	// {"outputs": ...}: any shapes, scalars included.
	Columnar Format = iota
	// Row sends {"instances": [{name: row, ...}, ...]}, one object per
	// index of dimension 0, which every input must share, and reads
	// {"predictions": ...}; scalars cannot be sent this way.
	Row
)

func (o *Options) signature() string {
	if o.SignatureName == "" {
		return DefaultSignature
	}
	return o.SignatureName
}

func (o *Options) maxDecoded() int {
	if o.MaxDecodedBytes <= 0 {
		return DefaultMaxDecodedBytes
	}
	return o.MaxDecodedBytes
}

// version is a version string of a model as o reads it: a number (label
// empty), a label, or neither for the server's choice.
type version struct {
	number   int64
	label    string
	isNumber bool
}

func (o *Options) version(model, v string) (version, error) {
	if v == "" {
		return version{label: o.Labels[model]}, nil
	}
	if o.Version != VersionLabel && digits(v) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			return version{number: n, isNumber: true}, nil
		}
	}
	if o.Version == VersionNumber {
		return version{}, fmt.Errorf("tfs: version %q is not a version number", v)
	}
	return version{label: v}, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// modelSpec returns the ModelSpec naming model and version, with signature
// sig (empty for none).
func (o *Options) modelSpec(model, ver, sig string) (*tfspb.ModelSpec, error) {
	v, err := o.version(model, ver)
	if err != nil {
		return nil, err
	}
	spec := &tfspb.ModelSpec{Name: model, SignatureName: sig}
	switch {
	case v.isNumber:
		spec.VersionChoice = &tfspb.ModelSpec_Version{Version: wrapperspb.Int64(v.number)}
	case v.label != "":
		spec.VersionChoice = &tfspb.ModelSpec_VersionLabel{VersionLabel: v.label}
	}
	return spec, nil
}

// specVersion is the version a ModelSpec names, as a string.
func specVersion(s *tfspb.ModelSpec) string {
	if v := s.GetVersion(); v != nil {
		return strconv.FormatInt(v.GetValue(), 10)
	}
	return s.GetVersionLabel()
}
