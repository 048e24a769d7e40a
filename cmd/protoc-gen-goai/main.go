// protoc-gen-goai generates, from an annotated inference-service .proto, a
// typed Go client for each model service: the descriptors of its model,
// tensors and call policies; a <Service>ModelClient whose methods call the
// model through ModelInfer of the Open Inference Protocol (KServe v2,
// Triton), one item, a batch, or concurrent single calls coalesced by a
// micro-batcher, under goai's resilience policies, or, for an rpc that
// returns a stream, a decoupled model through ModelStreamInfer, as a
// sequence of its responses; and a <Service>Fake to
// implement the model in Go for tests, served by package inferencetest.
// For a service annotated protocol: PROTOCOL_DIRECT, which is itself the
// model's gRPC API, the <Service>ModelClient calls its unary rpcs through
// the protoc-gen-go-grpc client under the same policies, after checking
// the lengths of the request's tensors; streaming rpcs are left to the
// protoc-gen-go-grpc client.
//
// Build it onto your PATH, then run it with protoc or buf beside
// protoc-gen-go. A file with a PROTOCOL_DIRECT service needs
// protoc-gen-go-grpc too, writing into the same directory: the generated
// client calls its New<Service>Client, and does not compile without it.
//
// With protoc:
//
//	protoc -I proto -I path/to/goai/proto \
//	  --go_out=. --go_opt=paths=source_relative \
//	  --go-grpc_out=. --go-grpc_opt=paths=source_relative \
//	  --goai_out=. --goai_opt=paths=source_relative \
//	  models/mnist/v1/mnist.proto
//
// With buf, in buf.gen.yaml:
//
//	version: v2
//	plugins:
//	  - local: protoc-gen-go
//	    out: gen
//	    opt: paths=source_relative
//	  - local: protoc-gen-go-grpc # needed by PROTOCOL_DIRECT services
//	    out: gen
//	    opt: paths=source_relative
//	  - local: protoc-gen-goai
//	    out: gen
//	    opt: paths=source_relative
//
// For models/mnist/v1/mnist.proto both write gen/models/mnist/v1/mnist_goai.pb.go,
// in the Go package of mnist.pb.go. A file without goai annotations gets no
// output.
//
// Parameters (--goai_opt=name=value, or opt: in buf.gen.yaml) are those of
// protoc-gen-go, which protogen handles:
//
//	paths=import|source_relative  where outputs go (default import: by Go import path)
//	module=PREFIX                 strip PREFIX from output paths (default none)
//	M<file.proto>=<import path>   Go import path of a .proto file (default its go_package)
//	annotate_code=true|false      write .meta annotation files (default false)
//
// and protoc-gen-goai's own:
//
//	fakes=true|false  generate <Service>Fake and Register<Service>Fake, which
//	                  import package inferencetest (default true); false keeps
//	                  the in-process test server out of the package
//
// Any other parameter is an error. Files of one Go package must be
// generated together, as protoc-gen-go expects: the functions that map a
// message to tensors are declared once per package.
//
// Annotation mistakes are reported like compiler errors, all at once:
//
//	models/mnist/v1/mnist.proto:9:30: mnist.v1.Digit.pixels: dtype FP32 does not fit field type int64; use repeated float or bytes
//
// An annotation that works but is likely not what was meant draws a
// warning on standard error, which protoc and buf show, and generation
// goes on:
//
//	models/mnist/v1/mnist.proto:14:3: mnist.v1.DigitModel: warning: batching.max_delay "500ms" is longer than the timeout "200ms" of rpc Classify: ...
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/goai-dev/goai/cmd/protoc-gen-goai/internal/generator"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

const usage = `protoc-gen-goai generates typed goai model clients from annotated .proto files.
It is run by protoc or buf, which pass it a CodeGeneratorRequest on stdin:

  protoc --go_out=. --go-grpc_out=. --goai_out=. path/to/model.proto

  # buf.gen.yaml
  plugins:
    - local: protoc-gen-go
      out: gen
    - local: protoc-gen-go-grpc
      out: gen
    - local: protoc-gen-goai
      out: gen

protoc-gen-go-grpc is needed for services with protocol: PROTOCOL_DIRECT,
whose generated clients call its New<Service>Client; without it they do
not compile.

Parameters (--goai_opt=name=value, or opt: in buf.gen.yaml):
  paths=import|source_relative  where outputs go (default import)
  module=PREFIX                 strip PREFIX from output paths (default none)
  M<file.proto>=<import path>   Go import path of a .proto file (default its go_package)
  annotate_code=true|false      write .meta annotation files (default false)
  fakes=true|false              generate test fakes, which import inferencetest (default true)

Flags:
  --version  print the version and exit
  --help     print this help and exit
`

func main() {
	if len(os.Args) > 1 {
		os.Exit(command(os.Args[1:], os.Stdout, os.Stderr))
	}
	var opts generator.Options
	options(&opts).Run(func(gen *protogen.Plugin) error { return generate(gen, opts, os.Stderr) })
}

// options returns the plugin's options: parameters that protogen does not
// handle itself go to the plugin's own flag set, which sets opts and
// rejects any other.
func options(opts *generator.Options) protogen.Options {
	var flags flag.FlagSet
	flags.BoolVar(&opts.Fakes, "fakes", true, "generate test fakes")
	return protogen.Options{ParamFunc: func(name, value string) error {
		if err := flags.Set(name, value); err != nil {
			return fmt.Errorf("parameter %s=%s: %v; see protoc-gen-goai --help", name, value, err)
		}
		return nil
	}}
}

// command handles a command-line invocation, which protoc never makes.
func command(args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 1 && args[0] == "--version":
		fmt.Fprintln(stdout, "protoc-gen-goai", generator.Version)
		return 0
	case len(args) == 1 && (args[0] == "--help" || args[0] == "-h"):
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// generate declares the features the plugin supports, without which protoc
// refuses proto3 optional fields and editions, and generates every file.
// Warnings go to stderr, one per line: a CodeGeneratorResponse has no
// place for them, and protoc and buf show what a plugin writes there.
func generate(gen *protogen.Plugin, opts generator.Options, stderr io.Writer) error {
	gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL |
		pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	gen.SupportedEditionsMinimum = descriptorpb.Edition_EDITION_PROTO2
	gen.SupportedEditionsMaximum = descriptorpb.Edition_EDITION_2024
	var errs []error
	for _, f := range gen.Files {
		if f.Generate {
			warnings, err := generator.GenerateFile(gen, f, opts)
			for _, w := range warnings {
				fmt.Fprintln(stderr, w)
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
