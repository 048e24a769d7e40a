package generator

// Fuzz tests of the annotation checker and the code it lets through.
//
// Targets:
//
//   - FuzzAnnotations: structured fuzzing. The fuzzer supplies primitive
//     values (strings, integers, floats, flag bits) that fuzzProto splices
//     into a template .proto: a tensor annotation (name, dtype number, shape)
//     on a field whose type comes from fuzzFieldTypes, the service's
//     (goai.v1.model) (name, version, protocol number, max_batch_size,
//     batching, limits, fallback, default_call) and the rpc's (goai.v1.call)
//     (timeouts, retry, retry codes, breaker, idempotent, model override),
//     and a second rpc that may call the same model with other tensors.
//   - FuzzProtoSource: raw source fuzzing, seeded with every file of
//     testdata/protos, valid and invalid ones.
//
// Both compile their input in process with protocompile, as the other tests
// do, and send it through the wire to protogen, as protoc does. They skip
// inputs that cannot reach the generator: those that protocompile rejects
// (reporting them is the compiler's job), those that protogen rejects, and
// requests that do not unmarshal (invalid UTF-8 in a string option).
// Then they run the generator and check checkGenerated's invariants:
//
//   - no panic;
//   - an error is a list of "file.proto:line:col: full.Name: what is wrong;
//     how to fix it" lines, in source order, each naming a declaration and
//     at a position within it, without fmt's %! marks, and no file is
//     written; warnings are such lines too, with "warning: " before the
//     message;
//   - without an error, a file with goai annotations gets exactly one file,
//     of Go that parses and that gofmt leaves as it is, and a file without
//     them gets none; Go that does not parse is only excused when
//     protoc-gen-go's own output for the file does not parse either (a
//     go_package name that is no identifier);
//   - a second run gives the same result.
//
// go test ./generator runs the seeds, testdata/fuzz/<Target>/* and those
// added with f.Add, as regression tests; knownBugs lists the seeds that
// reproduce a known, unfixed bug, which skip. To fuzz:
//
//	go test ./generator -run '^$' -fuzz '^FuzzAnnotations$' -fuzztime 30s
//	go test ./generator -run '^$' -fuzz '^FuzzProtoSource$' -fuzztime 30s
//
// A failure is written to testdata/fuzz/<Target>/<hash>; go test ./generator
// -run '<Target>/<hash>' -v replays it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	goaiv1 "github.com/goai-dev/goai/proto/goai/v1"
	gengo "google.golang.org/protobuf/cmd/protoc-gen-go/internal_gengo"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/pluginpb"
)

// fuzzPath is the import path of the fuzzed .proto.
const fuzzPath = "fuzz/v1/fuzz.proto"

// optionsPath is the import path of the goai annotation schema.
const optionsPath = "goai/v1/options.proto"

// Fuzz flag bits of FuzzAnnotations: which optional parts the template has.
const (
	fzBatching         = 1 << iota // (goai.v1.model).batching
	fzLimits                       // (goai.v1.model).limits
	fzFallback                     // (goai.v1.model).fallback
	fzRPCModel                     // (goai.v1.call).model
	fzIdempotentSet                // (goai.v1.call).idempotent ...
	fzIdempotent                   // ... true
	fzFailFast                     // limits.fail_fast
	fzClientStream                 // rpc (stream Digit)
	fzServerStream                 // returns (stream Scores)
	fzSecondRPC                    // a second, unannotated rpc
	fzDupTensor                    // a second tensor of Digit, with the same name
	fzNoOutTensor                  // Scores has no tensor annotation
	fzOutIsIn                      // the rpc returns Digit
	fzNoModel                      // no (goai.v1.model) at all
	fzNoCall                       // no (goai.v1.call) at all
	fzTensorsMessage               // a message DigitTensors, taking a generated name
	fzExtension                    // an extension field with a tensor annotation
	fzGRPCService                  // a service DigitsModel, whose gRPC names may collide
	fzDefaultTimeouts              // timeout, attempt_timeout in default_call, not the rpc's
	fzDefaultBackoffs              // retry.*_backoff in default_call
	fzDefaultRetry                 // the other retry options in default_call
	fzDefaultBreaker               // breaker in default_call
	fzDefaultCallModel             // default_call.model
	fzNoFakes                      // Options.Fakes off
	fzBreakerDisabled              // breaker.disabled
	fzFallbackVersion              // fallback.version is the model's version
	fzSplitTimeouts                // attempt_timeout where timeout is not
	fzNested                       // the tensor field sits in a nested message, Digit.Inner
	fzRecursive                    // Digit (and Digit.Inner) hold a Digit
	fzMinRequests                  // breaker.min_requests
	fzReenable                     // default_call disables the breaker, the rpc's disabled: false turns it on
	fzSecondSwapped                // the second rpc takes Scores and returns Digit: other tensors
)

// fuzzServices and fuzzRPCs are the names FuzzAnnotations picks from: some
// take the names of generated or client methods.
var (
	fuzzServices = []string{"DigitModel", "Digits", "Model", "DigitModelModel", "Infer", "Fake"}
	fuzzRPCs     = []string{"Classify", "Close", "CheckModel", "Caller", "ClassifyBatch", "Predict_v2", "classify", "Get", "NewClassifyBatcher"}
)

// fuzzFieldTypes are the types of the annotated field: "oneof T" declares
// it in a oneof, "group" as a proto2 group; proto2 gets "optional" before
// a bare scalar.
var fuzzFieldTypes = []string{
	"float", "double", "int32", "int64", "uint32", "uint64", "sint32", "sint64",
	"fixed32", "fixed64", "sfixed32", "sfixed64", "bool", "string", "bytes",
	"repeated float", "repeated double", "repeated int32", "repeated int64",
	"repeated uint32", "repeated uint64", "repeated sint32", "repeated sint64",
	"repeated fixed32", "repeated fixed64", "repeated sfixed32", "repeated sfixed64",
	"repeated bool", "repeated string", "repeated bytes",
	"optional float", "optional bytes", "optional string", "required float",
	"map<string, float>", "map<int32, bytes>",
	"Image", "repeated Image", "Color", "repeated Color", "google.protobuf.FloatValue",
	"oneof float", "oneof bytes", "oneof string", "group",
}

// fuzzScalars are the field types that proto2 needs a label for.
var fuzzScalars = fuzzFieldTypes[:15]

// annotationArgs are the values FuzzAnnotations splices into its template.
type annotationArgs struct {
	syntax, fieldType, service, rpcs uint8
	tensorName                       string
	dtype                            int32
	shape                            string
	model, version                   string
	protocol, maxBatchSize           int32
	batchMaxSize                     int32
	batchMaxDelay                    string
	batchMaxBytes                    int64
	batchMaxQueue                    int32
	rate                             float64
	burst, maxConcurrent             int32
	timeout, attemptTimeout          string
	maxAttempts                      int32
	initialBackoff, maxBackoff       string
	multiplier, jitter               float64
	codes                            string
	failureRatio                     float64
	interval, openTimeout            string
	consecutiveFailures              uint32
	fallback, rpcModel               string
	flags                            uint32
}

func FuzzAnnotations(f *testing.F) {
	// A file without mistakes, variants of it without mistakes, then
	// variants with mistakes of most kinds the template can make;
	// testdata/fuzz/FuzzAnnotations holds more seeds.
	valid := annotationArgs{
		fieldType: 15, rpcs: 0x60, tensorName: "input", dtype: 12, shape: "28,28",
		model: "mnist", version: "2", maxBatchSize: 64,
		batchMaxSize: 32, batchMaxDelay: "2ms", batchMaxBytes: 1 << 20, batchMaxQueue: 128,
		rate: 200, burst: 20, maxConcurrent: 8,
		timeout: "1s", attemptTimeout: "250ms", maxAttempts: 3,
		initialBackoff: "10ms", maxBackoff: "1s", multiplier: 1.6, jitter: 0.2, codes: "UNAVAILABLE,RESOURCE_EXHAUSTED",
		failureRatio: 0.5, interval: "1m", openTimeout: "30s", consecutiveFailures: 5,
		fallback: "mnist-small", rpcModel: "mnist-large",
		flags: fzBatching | fzLimits | fzFallback | fzSecondRPC | fzIdempotentSet | fzIdempotent | fzDefaultRetry,
	}
	add := func(a annotationArgs) {
		f.Add(a.syntax, a.fieldType, a.service, a.rpcs, a.tensorName, a.dtype, a.shape,
			a.model, a.version, a.protocol, a.maxBatchSize,
			a.batchMaxSize, a.batchMaxDelay, a.batchMaxBytes, a.batchMaxQueue,
			a.rate, a.burst, a.maxConcurrent,
			a.timeout, a.attemptTimeout, a.maxAttempts, a.initialBackoff, a.maxBackoff,
			a.multiplier, a.jitter, a.codes,
			a.failureRatio, a.interval, a.openTimeout, a.consecutiveFailures,
			a.fallback, a.rpcModel, a.flags)
	}
	add(valid)
	// More files without mistakes, with other kinds of fields and services.
	for _, mutate := range []func(*annotationArgs){
		func(a *annotationArgs) {
			a.protocol = 2
			a.flags &^= fzFallback | fzDefaultRetry // the streaming rpc retries
			a.flags |= fzNested | fzRecursive | fzClientStream | fzServerStream
		},
		func(a *annotationArgs) { a.fieldType = 14; a.dtype = 10; a.shape = "2,-1"; a.flags |= fzNoFakes },
		func(a *annotationArgs) {
			a.fieldType = 13
			a.dtype = 14
			a.shape = "1"
			a.flags |= fzOutIsIn
			a.flags &^= fzSecondRPC
		},
		func(a *annotationArgs) {
			a.syntax = 1
			a.fieldType = 2
			a.dtype = 6
			a.shape = "1,1"
			a.model = "m~q:v2@(x)"
		},
		// jitter off, a breaker turned back on by the rpc, and min_requests
		// with the ratio that it applies to.
		func(a *annotationArgs) {
			a.jitter = math.Copysign(0, -1)
			a.flags |= fzDefaultBreaker | fzReenable | fzMinRequests
		},
		func(a *annotationArgs) {
			a.syntax = 2
			a.fieldType = 28
			a.dtype = 0
			a.maxBatchSize = 0
			a.flags &^= fzBatching
		},
		func(a *annotationArgs) { a.version = ""; a.flags |= fzRPCModel | fzFallbackVersion | fzSplitTimeouts },
	} {
		a := valid
		mutate(&a)
		add(a)
	}
	for _, mutate := range []func(*annotationArgs){
		func(a *annotationArgs) { a.dtype = 99; a.shape = "-2,0" },
		func(a *annotationArgs) { a.fieldType = 34; a.protocol = 7; a.maxBatchSize = -1 },
		func(a *annotationArgs) { a.timeout = "fast"; a.codes = "unavailable,OK,UNAVAILABLE,UNAVAILBLE" },
		func(a *annotationArgs) { a.multiplier = math.Inf(1); a.jitter = math.NaN(); a.rate = -1 },
		func(a *annotationArgs) { a.flags |= fzDefaultBackoffs; a.maxBackoff = ""; a.initialBackoff = "3s" },
		func(a *annotationArgs) { a.service = 1; a.flags |= fzGRPCService | fzTensorsMessage | fzDupTensor },
		func(a *annotationArgs) { a.syntax = 1; a.fieldType = 44; a.flags |= fzExtension | fzClientStream },
		func(a *annotationArgs) { a.syntax = 2; a.fieldType = 0; a.dtype = 10; a.shape = "1,1" },
		func(a *annotationArgs) { a.flags |= fzNoModel; a.model = "" },
		func(a *annotationArgs) { a.fallback = a.model; a.flags |= fzFallbackVersion | fzDefaultCallModel },
		// The mistakes of issue 9: names that cannot go on the wire, too
		// many elements, the fallback as an rpc's model, one model with two
		// signatures, options without effect, a wait longer than a timeout.
		func(a *annotationArgs) { a.model = "m\n\"q\"\u2028"; a.version = "1/2"; a.fallback = ".." },
		func(a *annotationArgs) { a.shape = "4294967296,4294967296,4294967296" },
		func(a *annotationArgs) { a.shape = "8192,8192" },
		func(a *annotationArgs) { a.rpcModel = a.fallback; a.flags |= fzRPCModel },
		func(a *annotationArgs) { a.flags |= fzSecondSwapped },
		func(a *annotationArgs) { a.flags &^= fzIdempotent },
		func(a *annotationArgs) { a.protocol = 2; a.flags &^= fzFallback | fzIdempotentSet },
		func(a *annotationArgs) {
			a.maxAttempts = 0
			a.flags |= fzBreakerDisabled | fzMinRequests
			a.failureRatio = 0
		},
		func(a *annotationArgs) {
			a.batchMaxQueue = 4
			a.batchMaxDelay = "5s"
			a.timeout = "100ms"
			a.attemptTimeout = "100ns"
		},
		func(a *annotationArgs) { a.attemptTimeout = a.timeout; a.flags |= fzDefaultTimeouts },
	} {
		a := valid
		mutate(&a)
		add(a)
	}
	f.Fuzz(func(t *testing.T,
		syntax, fieldType, service, rpcs uint8, tensorName string, dtype int32, shape string,
		model, version string, protocol, maxBatchSize int32,
		batchMaxSize int32, batchMaxDelay string, batchMaxBytes int64, batchMaxQueue int32,
		rate float64, burst, maxConcurrent int32,
		timeout, attemptTimeout string, maxAttempts int32, initialBackoff, maxBackoff string,
		multiplier, jitter float64, codes string,
		failureRatio float64, interval, openTimeout string, consecutiveFailures uint32,
		fallback, rpcModel string, flags uint32,
	) {
		// A request with invalid UTF-8 in a string option cannot reach the
		// generator: protogen fails to unmarshal it.
		for _, s := range []*string{
			&tensorName, &shape, &model, &version, &batchMaxDelay, &timeout, &attemptTimeout,
			&initialBackoff, &maxBackoff, &codes, &interval, &openTimeout, &fallback, &rpcModel,
		} {
			*s = strings.ToValidUTF8(*s, "\uFFFD")
		}
		a := annotationArgs{
			syntax, fieldType, service, rpcs, tensorName, dtype, shape,
			model, version, protocol, maxBatchSize,
			batchMaxSize, batchMaxDelay, batchMaxBytes, batchMaxQueue,
			rate, burst, maxConcurrent,
			timeout, attemptTimeout, maxAttempts, initialBackoff, maxBackoff,
			multiplier, jitter, codes,
			failureRatio, interval, openTimeout, consecutiveFailures,
			fallback, rpcModel, flags,
		}
		src := fuzzProto(&a)
		opts := Options{Fakes: flags&fzNoFakes == 0}
		checkGenerated(t, src, opts)
	})
}

// fuzzProto returns the template .proto with a's values spliced in.
func fuzzProto(a *annotationArgs) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	has := func(bit uint32) bool { return a.flags&bit != 0 }
	syntax := [...]string{`syntax = "proto3";`, `syntax = "proto2";`, `edition = "2023";`}[int(a.syntax)%3]

	p("%s", syntax)
	p("")
	p("package fuzz.v1;")
	p("")
	p(`import "goai/v1/options.proto";`)
	p(`import "google/protobuf/descriptor.proto";`)
	p(`import "google/protobuf/wrappers.proto";`)
	p("")
	p(`option go_package = "example.com/fuzz/v1;fuzzv1";`)
	p("")
	p("message Image {")
	p("  repeated float data = 1;")
	p("}")
	p("")
	p("enum Color {")
	p("  COLOR_UNSPECIFIED = 0;")
	p("  COLOR_RED = 1;")
	p("}")
	p("")

	// The tensor.
	var t lit
	t.str("name", a.tensorName)
	t.num("dtype", int64(a.dtype))
	if a.shape != "" {
		var dims []string
		for s := range strings.SplitSeq(a.shape, ",") {
			if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
				dims = append(dims, strconv.FormatInt(n, 10))
			}
		}
		t.raw("shape", "["+strings.Join(dims, ", ")+"]")
	}
	field := fieldDecl(int(a.syntax)%3 == 1, fuzzFieldTypes[int(a.fieldType)%len(fuzzFieldTypes)], "pixels", 1,
		" [(goai.v1.tensor) = "+t.String()+"]")
	p("message Digit {")
	if has(fzNested) {
		p("  message Inner {")
		p("    %s", field)
		if has(fzRecursive) {
			p("    Digit outer = 8;")
		}
		p("  }")
		p("  Inner inner = 1;")
	} else {
		p("  %s", field)
	}
	if has(fzRecursive) {
		p("  Digit next = 9;")
	}
	if has(fzDupTensor) {
		p("  repeated float mask = 2 [(goai.v1.tensor) = {name: %s}];", quote(cmpOr(a.tensorName, "pixels")))
	}
	p("}")
	p("")
	p("message Scores {")
	if has(fzNoOutTensor) {
		p("  repeated float probs = 1;")
	} else {
		p("  repeated float probs = 1 [(goai.v1.tensor) = {}];")
	}
	p("}")
	p("")
	if has(fzTensorsMessage) {
		p("message DigitTensors {}")
		p("")
	}
	if has(fzExtension) {
		p("extend google.protobuf.FieldOptions {")
		p("  repeated float extra = 58999 [(goai.v1.tensor) = {}];")
		p("}")
		p("")
	}

	// The call options, each group in default_call or the rpc's call.
	var def, call lit
	into := func(bit uint32) *lit {
		if has(bit) {
			return &def
		}
		return &call
	}
	into(fzDefaultTimeouts).str("timeout", a.timeout)
	if has(fzSplitTimeouts) { // attempt_timeout in the other one
		if has(fzDefaultTimeouts) {
			call.str("attempt_timeout", a.attemptTimeout)
		} else {
			def.str("attempt_timeout", a.attemptTimeout)
		}
	} else {
		into(fzDefaultTimeouts).str("attempt_timeout", a.attemptTimeout)
	}
	var backoffs, retry, breaker lit
	backoffs.str("initial_backoff", a.initialBackoff)
	backoffs.str("max_backoff", a.maxBackoff)
	retry.num("max_attempts", int64(a.maxAttempts))
	retry.float("backoff_multiplier", a.multiplier)
	retry.float("jitter", a.jitter)
	if a.codes != "" {
		var codes []string
		for c := range strings.SplitSeq(a.codes, ",") {
			codes = append(codes, quote(c))
		}
		retry.raw("retryable_codes", "["+strings.Join(codes, ", ")+"]")
	}
	switch {
	case has(fzDefaultBackoffs) == has(fzDefaultRetry):
		into(fzDefaultRetry).raw("retry", backoffs.join(retry).String())
	default:
		into(fzDefaultBackoffs).raw("retry", backoffs.String())
		into(fzDefaultRetry).raw("retry", retry.String())
	}
	breaker.unsigned("consecutive_failures", uint64(a.consecutiveFailures))
	breaker.float("failure_ratio", a.failureRatio)
	breaker.str("interval", a.interval)
	breaker.str("open_timeout", a.openTimeout)
	if has(fzBreakerDisabled) {
		breaker.raw("disabled", "true")
	}
	if has(fzMinRequests) {
		breaker.raw("min_requests", "10")
	}
	if has(fzReenable) { // may repeat disabled, which protocompile rejects
		if has(fzDefaultBreaker) {
			breaker.raw("disabled", "true")
			call.raw("breaker", "{disabled: false}")
		} else {
			breaker.raw("disabled", "false")
			def.raw("breaker", "{disabled: true}")
		}
	}
	into(fzDefaultBreaker).raw("breaker", breaker.String())
	if has(fzIdempotentSet) {
		call.raw("idempotent", strconv.FormatBool(has(fzIdempotent)))
	}
	if has(fzRPCModel) {
		var ref lit
		ref.str("name", a.rpcModel)
		call.raw("model", ref.String())
	}
	if has(fzDefaultCallModel) {
		var ref lit
		ref.str("name", a.rpcModel)
		def.raw("model", ref.String())
	}

	var m lit
	m.str("name", a.model)
	m.str("version", a.version)
	m.num("protocol", int64(a.protocol))
	m.num("max_batch_size", int64(a.maxBatchSize))
	if has(fzBatching) {
		var l lit
		l.num("max_size", int64(a.batchMaxSize))
		l.str("max_delay", a.batchMaxDelay)
		l.num("max_bytes", a.batchMaxBytes)
		l.num("max_queue", int64(a.batchMaxQueue))
		m.raw("batching", l.String())
	}
	if len(def) > 0 {
		m.raw("default_call", def.String())
	}
	if has(fzFallback) {
		var l lit
		l.str("name", a.fallback)
		if has(fzFallbackVersion) {
			l.str("version", a.version)
		}
		m.raw("fallback", l.String())
	}
	if has(fzLimits) {
		var l lit
		l.float("rate_per_second", a.rate)
		l.num("burst", int64(a.burst))
		l.num("max_concurrent", int64(a.maxConcurrent))
		if has(fzFailFast) {
			l.raw("fail_fast", "true")
		}
		m.raw("limits", l.String())
	}

	in, out := "Digit", "Scores"
	if has(fzOutIsIn) {
		out = "Digit"
	}
	if has(fzClientStream) {
		in = "stream " + in
	}
	if has(fzServerStream) {
		out = "stream " + out
	}
	p("service %s {", fuzzServices[int(a.service)%len(fuzzServices)])
	if !has(fzNoModel) {
		p("  option (goai.v1.model) = %s;", m.block("  "))
	}
	i := int(a.rpcs&0xf) % len(fuzzRPCs)
	rpc := fuzzRPCs[i]
	if has(fzNoCall) {
		p("  rpc %s(%s) returns (%s);", rpc, in, out)
	} else {
		p("  rpc %s(%s) returns (%s) {", rpc, in, out)
		p("    option (goai.v1.call) = %s;", call.block("    "))
		p("  }")
	}
	if has(fzSecondRPC) {
		second := fuzzRPCs[(i+1+int(a.rpcs>>4)%(len(fuzzRPCs)-1))%len(fuzzRPCs)]
		if has(fzSecondSwapped) {
			p("  rpc %s(Scores) returns (Digit);", second)
		} else {
			p("  rpc %s(Digit) returns (Scores);", second)
		}
	}
	p("}")
	if has(fzGRPCService) {
		p("")
		p("service DigitsModel {")
		p("  rpc Get(Digit) returns (Scores);")
		p("}")
	}
	return b.String()
}

// fieldDecl declares the field name = number of type typ (an entry of
// fuzzFieldTypes) with the options opts, in proto2 syntax if proto2.
func fieldDecl(proto2 bool, typ, name string, number int, opts string) string {
	switch {
	case strings.HasPrefix(typ, "oneof "):
		return fmt.Sprintf("oneof source { %s %s = %d%s; }", strings.TrimPrefix(typ, "oneof "), name, number, opts)
	case typ == "group":
		return fmt.Sprintf("optional group %s = %d%s { optional float x = 1; }", export(name), number, opts)
	case proto2 && (slices.Contains(fuzzScalars, typ) || typ == "Image" || typ == "Color" ||
		typ == "google.protobuf.FloatValue"):
		typ = "optional " + typ
	}
	return fmt.Sprintf("%s %s = %d%s;", typ, name, number, opts)
}

// A lit collects the fields of a message literal of the text format,
// leaving out zero values.
type lit []string

func (l *lit) raw(name, value string) { *l = append(*l, name+": "+value) }

func (l *lit) str(name, s string) {
	if s != "" {
		l.raw(name, quote(s))
	}
}

func (l *lit) num(name string, n int64) {
	if n != 0 {
		l.raw(name, strconv.FormatInt(n, 10))
	}
}

func (l *lit) unsigned(name string, n uint64) {
	if n != 0 {
		l.raw(name, strconv.FormatUint(n, 10))
	}
}

func (l *lit) float(name string, f float64) {
	switch {
	case f == 0 && !math.Signbit(f):
	case math.IsNaN(f):
		l.raw(name, "nan")
	case math.IsInf(f, 1):
		l.raw(name, "inf")
	case math.IsInf(f, -1):
		l.raw(name, "-inf")
	default:
		l.raw(name, strconv.FormatFloat(f, 'g', -1, 64))
	}
}

func (l lit) join(other lit) lit { return append(slices.Clip(l), other...) }

func (l lit) String() string { return "{" + strings.Join(l, ", ") + "}" }

// block returns l with one field per line, indented by indent.
func (l lit) block(indent string) string {
	if len(l) == 0 {
		return "{}"
	}
	return "{\n" + indent + "  " + strings.Join(l, "\n"+indent+"  ") + "\n" + indent + "}"
}

// quote returns s as a string literal of the protobuf language: printable
// ASCII as is, every other byte escaped.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := range len(s) {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c >= 0x7f:
			fmt.Fprintf(&b, `\%03o`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func cmpOr(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}

func FuzzProtoSource(f *testing.F) {
	err := filepath.WalkDir(protoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".proto" {
			return err
		}
		src, err := os.ReadFile(path)
		f.Add(string(src))
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src string) {
		checkGenerated(t, src, defaults)
	})
}

// checkGenerated compiles src as fuzzPath and generates it with opts,
// skipping the test if protocompile or protogen rejects it, and checks the
// invariants of the package comment.
func checkGenerated(t *testing.T, src string, opts Options) {
	if bug, ok := knownBugs[fmt.Sprintf("%x", sha256.Sum256([]byte(src)))]; ok {
		t.Skip("known bug: " + bug)
	}
	req, lines, err := fuzzRequest(src)
	if err != nil {
		t.Skip(err)
	}
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		t.Skipf("protogen rejects the request: %v", err)
	}
	got := runGenerator(t, gen, opts)

	if got.respErr != "" {
		if msg := goGenFails(req); msg != "" {
			t.Skipf("protoc-gen-go cannot generate the file either: %s", msg)
		}
		t.Fatalf("generated code does not compile as Go: %s\nsource:\n%s", got.respErr, src)
	}
	if got.warnings != "" {
		if strings.Contains(got.warnings, "%!") {
			t.Errorf("warning has a formatting mistake:\n%s", got.warnings)
		}
		for line := range strings.SplitSeq(got.warnings, "\n") {
			if !strings.Contains(line, ": warning: ") {
				t.Errorf("warning without \"warning: \": %q", line)
			}
			if msg := checkProblem(gen, lines, line); msg != "" {
				t.Errorf("malformed warning: %s\n\t%q", msg, line)
			}
		}
	}
	if got.err != "" {
		if strings.Contains(got.err, "%!") {
			t.Errorf("error has a formatting mistake:\n%s", got.err)
		}
		if len(got.files) > 0 {
			t.Errorf("wrote %d files despite the errors", len(got.files))
		}
		var prev []string
		for line := range strings.SplitSeq(got.err, "\n") {
			if msg := checkProblem(gen, lines, line); msg != "" {
				t.Errorf("malformed problem: %s\n\t%q", msg, line)
			}
			if pos := problemLine.FindStringSubmatch(line); pos != nil {
				if prev != nil && comparePositions(pos, prev) < 0 {
					t.Errorf("problems out of source order:\n\t%s\n\t%s", prev[0], line)
				}
				prev = pos
			}
		}
	} else {
		annotated := hasAnnotations(gen.FilesByPath[fuzzPath])
		main, fakes := countFiles(got.files)
		switch {
		case annotated && (main != 1 || fakes > 1):
			t.Errorf("wrote %d files and %d fake files for an annotated file without mistakes, want 1 and at most 1", main, fakes)
		case !annotated && len(got.files) != 0:
			t.Errorf("wrote %d files for a file without annotations, want none", len(got.files))
		}
		for name, content := range got.files {
			checkGo(t, name, content)
		}
	}

	// Generating is deterministic.
	gen2, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatalf("protogen rejects the request the second time: %v", err)
	}
	if again := runGenerator(t, gen2, opts); !again.equal(got) {
		t.Errorf("a second run differs:\nfirst error: %s\nsecond error: %s\nfirst files: %d, second: %d",
			got.err, again.err, len(got.files), len(again.files))
	}
	if t.Failed() {
		t.Logf("source:\n%s", src)
	}
}

// countFiles returns how many of files are <name>_goai.pb.go files and how
// many are the fake package's <name>_goaitest.pb.go.
func countFiles(files map[string]string) (main, fakes int) {
	for name := range files {
		switch {
		case strings.HasSuffix(name, fakeFileSuffix):
			fakes++
		case strings.HasSuffix(name, fileSuffix):
			main++
		}
	}
	return main, fakes
}

// knownBugs are the inputs that reproduce known bugs, by the SHA-256 of the
// source, for the seeds of testdata/fuzz that hold them to skip rather than
// fail until the bug is fixed. Fixing a bug, remove its entry: its seeds
// then run as regression tests.
var knownBugs = map[string]string{}

// goGenFails returns protoc-gen-go's error for req when the Go it generates
// does not parse either, such as for a go_package whose package name is not
// an identifier: goai cannot be expected to do better. It returns "" when
// protoc-gen-go succeeds.
func goGenFails(req *pluginpb.CodeGeneratorRequest) string {
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		return err.Error()
	}
	for _, f := range gen.Files {
		if f.Generate {
			gengo.GenerateFile(gen, f)
		}
	}
	return gen.Response().GetError()
}

// result is what one run of the generator produces.
type result struct {
	err      string            // GenerateFile's errors, joined
	warnings string            // GenerateFile's warnings, one per line
	respErr  string            // the response's error: generated Go that does not parse
	files    map[string]string // the generated files' contents by name
}

func (r result) equal(o result) bool {
	return r.err == o.err && r.warnings == o.warnings && r.respErr == o.respErr && fmt.Sprint(r.files) == fmt.Sprint(o.files)
}

// runGenerator runs GenerateFile over the files of gen to generate, as
// protoc-gen-goai does.
func runGenerator(t *testing.T, gen *protogen.Plugin, opts Options) result {
	t.Helper()
	var (
		errs     []error
		warnings []string
	)
	for _, f := range gen.Files {
		if f.Generate {
			w, err := GenerateFile(gen, f, opts)
			warnings = append(warnings, w...)
			errs = append(errs, err)
		}
	}
	resp := gen.Response()
	r := result{respErr: resp.GetError(), files: map[string]string{}, warnings: strings.Join(warnings, "\n")}
	if err := errors.Join(errs...); err != nil {
		r.err = err.Error()
	}
	for _, f := range resp.File {
		r.files[f.GetName()] = f.GetContent()
	}
	return r
}

// problemLine is one reported problem: file.proto:line:col: full.Name:
// what is wrong; how to fix it.
var problemLine = regexp.MustCompile(`^([^:]+\.proto):(\d+):(\d+): ([\w.]+): .+; .+$`)

// checkProblem returns what is wrong with the problem line, or "" if it is
// well formed: it must match problemLine, name a declaration that gen
// knows, and sit within the source of that declaration, and so within the
// file (fuzzPath has lines lines).
func checkProblem(gen *protogen.Plugin, lines int, line string) string {
	m := problemLine.FindStringSubmatch(line)
	if m == nil {
		return "not file.proto:line:col: full.Name: what is wrong; how to fix it"
	}
	path, name := m[1], protoreflect.FullName(m[4])
	l, _ := strconv.Atoi(m[2])
	c, _ := strconv.Atoi(m[3])
	f := gen.FilesByPath[path]
	if f == nil {
		return "no such file"
	}
	if path == fuzzPath && (l < 1 || l > lines) {
		return fmt.Sprintf("line %d is outside the file's %d lines", l, lines)
	}
	var files protoregistry.Files
	if err := files.RegisterFile(f.Desc); err != nil {
		return err.Error()
	}
	d, err := files.FindDescriptorByName(name)
	if err != nil {
		return fmt.Sprintf("%s is no declaration of %s", name, path)
	}
	loc := f.Desc.SourceLocations().ByDescriptor(d)
	if loc.Path == nil {
		return fmt.Sprintf("%s has no source location", name)
	}
	pos := [2]int{l - 1, c - 1}
	start, end := [2]int{loc.StartLine, loc.StartColumn}, [2]int{loc.EndLine, loc.EndColumn}
	if slices.Compare(pos[:], start[:]) < 0 || slices.Compare(pos[:], end[:]) > 0 {
		return fmt.Sprintf("position %d:%d is outside %s, which spans %d:%d to %d:%d",
			l, c, name, start[0]+1, start[1]+1, end[0]+1, end[1]+1)
	}
	return ""
}

// comparePositions compares the positions of two problemLine matches, by
// file, line and column.
func comparePositions(a, b []string) int {
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if c := strings.Compare(a[1], b[1]); c != 0 {
		return c
	}
	if c := atoi(a[2]) - atoi(b[2]); c != 0 {
		return c
	}
	return atoi(a[3]) - atoi(b[3])
}

// hasAnnotations reports whether file has a goai annotation: a tensor on a
// field or extension, a model on a service, a call on an rpc.
func hasAnnotations(file *protogen.File) bool {
	has := func(d protoreflect.Descriptor, xt protoreflect.ExtensionType) bool {
		return proto.HasExtension(d.Options(), xt)
	}
	fields := func(fs []*protogen.Field) bool {
		return slices.ContainsFunc(fs, func(f *protogen.Field) bool { return has(f.Desc, goaiv1.E_Tensor) })
	}
	var messages func([]*protogen.Message) bool
	messages = func(ms []*protogen.Message) bool {
		return slices.ContainsFunc(ms, func(m *protogen.Message) bool {
			return fields(m.Fields) || fields(m.Extensions) || messages(m.Messages)
		})
	}
	return messages(file.Messages) || fields(file.Extensions) ||
		slices.ContainsFunc(file.Services, func(s *protogen.Service) bool {
			return has(s.Desc, goaiv1.E_Model) ||
				slices.ContainsFunc(s.Methods, func(m *protogen.Method) bool { return has(m.Desc, goaiv1.E_Call) })
		})
}

// checkGo checks that content is Go source that parses and is gofmt'd.
func checkGo(t *testing.T, name, content string) {
	t.Helper()
	if _, err := parser.ParseFile(token.NewFileSet(), name, content, parser.ParseComments|parser.AllErrors); err != nil {
		t.Errorf("%s does not parse: %v\n%s", name, err, content)
		return
	}
	formatted, err := format.Source([]byte(content))
	if err != nil {
		t.Errorf("%s: gofmt: %v", name, err)
		return
	}
	if !bytes.Equal(formatted, []byte(content)) {
		t.Errorf("%s is not gofmt'd:\n%s", name, content)
	}
}

// The annotation schema, compiled once: every input imports it.
var (
	optionsOnce sync.Once
	optionsFile linker.File
	optionsErr  error
)

// fuzzRequest compiles src as fuzzPath, its imports resolved as the other
// tests resolve them, into a request to generate it, sent through the wire
// as protoc sends it. It returns the number of lines of src, and an error
// for a src that protocompile rejects.
func fuzzRequest(src string) (_ *pluginpb.CodeGeneratorRequest, lines int, err error) {
	optionsOnce.Do(func() {
		c := protocompile.Compiler{
			Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: importPaths}),
			SourceInfoMode: protocompile.SourceInfoStandard,
		}
		var files linker.Files
		if files, optionsErr = c.Compile(context.Background(), optionsPath); optionsErr == nil {
			optionsFile = files[0]
		}
	})
	if optionsErr != nil {
		return nil, 0, fmt.Errorf("compiling %s: %w", optionsPath, optionsErr)
	}

	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(protocompile.CompositeResolver{
			protocompile.ResolverFunc(func(path string) (protocompile.SearchResult, error) {
				switch path {
				case fuzzPath:
					return protocompile.SearchResult{Source: strings.NewReader(src)}, nil
				case optionsPath:
					return protocompile.SearchResult{Desc: optionsFile}, nil
				}
				return protocompile.SearchResult{}, os.ErrNotExist
			}),
			&protocompile.SourceResolver{ImportPaths: importPaths},
		}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	linked, err := compileNoPanic(c, fuzzPath)
	if err != nil {
		return nil, 0, fmt.Errorf("protocompile rejects the source: %w", err)
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: []string{fuzzPath}, Parameter: proto.String("")}
	seen := map[string]bool{}
	var add func(protoreflect.FileDescriptor)
	add = func(fd protoreflect.FileDescriptor) { // dependencies first, as protoc orders them
		if seen[fd.Path()] {
			return
		}
		seen[fd.Path()] = true
		for i := range fd.Imports().Len() {
			add(fd.Imports().Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, protodesc.ToFileDescriptorProto(fd))
	}
	for _, fd := range linked {
		add(fd)
	}
	b, err := proto.Marshal(req)
	if err != nil {
		return nil, 0, fmt.Errorf("marshaling the request: %w", err)
	}
	req = new(pluginpb.CodeGeneratorRequest)
	if err := proto.Unmarshal(b, req); err != nil {
		// protogen.Run fails the same way, before the generator runs.
		return nil, 0, fmt.Errorf("unmarshaling the request: %w", err)
	}
	return req, strings.Count(src, "\n") + 1, nil
}

// compileNoPanic compiles files with c, turning a panic of protocompile
// into an error: protocompile, not the generator, is under test there.
func compileNoPanic(c protocompile.Compiler, files ...string) (_ linker.Files, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("protocompile panicked: %v", r)
		}
	}()
	return c.Compile(context.Background(), files...)
}

// TestCheckProblem checks that checkProblem, which the fuzz targets rely
// on, tells well-formed problems from malformed ones.
func TestCheckProblem(t *testing.T) {
	const source = `syntax = "proto3";

package fuzz.v1;

import "goai/v1/options.proto";

option go_package = "example.com/fuzz/v1;fuzzv1";

message In {
  repeated float x = 1 [(goai.v1.tensor) = {}];
}

service S {
  option (goai.v1.model) = {name: "m"};
  rpc Run(In) returns (In);
}
`
	req, lines, err := fuzzRequest(source)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := protogen.Options{}.New(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		line string
		ok   bool
	}{
		{"fuzz/v1/fuzz.proto:10:3: fuzz.v1.In.x: what; fix", true},
		{"fuzz/v1/fuzz.proto:14:3: fuzz.v1.S: what; fix", true},
		{"fuzz/v1/fuzz.proto:15:3: fuzz.v1.S.Run: what; fix", true},
		{"fuzz/v1/fuzz.proto: fuzz.v1.S: no position; fix", false},
		{"fuzz/v1/fuzz.proto:14:3: fuzz.v1.S: no fix", false},
		{"fuzz/v1/fuzz.proto:14:3: fuzz.v1.Nope: what; fix", false},
		{"fuzz/v1/fuzz.proto:10:3: fuzz.v1.S: outside S; fix", false},
		{"fuzz/v1/fuzz.proto:99:1: fuzz.v1.S: past the end; fix", false},
		{"other.proto:14:3: fuzz.v1.S: unknown file; fix", false},
	} {
		if msg := checkProblem(gen, lines, tt.line); (msg == "") != tt.ok {
			t.Errorf("checkProblem(%q) = %q, want ok %v", tt.line, msg, tt.ok)
		}
	}
}
