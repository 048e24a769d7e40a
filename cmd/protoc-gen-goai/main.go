// protoc-gen-goai generates, from an annotated inference-service .proto, the
// Go descriptors of its model, tensors and call policies that goai's runtime
// and typed clients use. Build it onto your PATH, then run it with protoc
// or buf beside protoc-gen-go.
//
// With protoc:
//
//	protoc -I proto -I path/to/goai/proto \
//	  --go_out=. --go_opt=paths=source_relative \
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
// protoc-gen-goai has no parameters of its own yet; any other is an error.
//
// Annotation mistakes are reported like compiler errors, all at once:
//
//	models/mnist/v1/mnist.proto:9:30: mnist.v1.Digit.pixels: dtype FP32 does not fit field type int64; use repeated float or bytes
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/goai-dev/goai/generator"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

const usage = `protoc-gen-goai generates goai model descriptors from annotated .proto files.
It is run by protoc or buf, which pass it a CodeGeneratorRequest on stdin:

  protoc --go_out=. --goai_out=. path/to/model.proto

  # buf.gen.yaml
  plugins:
    - local: protoc-gen-go
      out: gen
    - local: protoc-gen-goai
      out: gen

Parameters (--goai_opt=name=value, or opt: in buf.gen.yaml):
  paths=import|source_relative  where outputs go (default import)
  module=PREFIX                 strip PREFIX from output paths (default none)
  M<file.proto>=<import path>   Go import path of a .proto file (default its go_package)
  annotate_code=true|false      write .meta annotation files (default false)

Flags:
  --version  print the version and exit
  --help     print this help and exit
`

func main() {
	if len(os.Args) > 1 {
		os.Exit(command(os.Args[1:], os.Stdout, os.Stderr))
	}
	options().Run(generate)
}

// options returns the plugin's options: parameters that protogen does not
// handle itself go to the plugin's own flag set, which rejects any but
// goai's (none yet).
func options() protogen.Options {
	var flags flag.FlagSet
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
func generate(gen *protogen.Plugin) error {
	gen.SupportedFeatures = uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL |
		pluginpb.CodeGeneratorResponse_FEATURE_SUPPORTS_EDITIONS)
	gen.SupportedEditionsMinimum = descriptorpb.Edition_EDITION_PROTO2
	gen.SupportedEditionsMaximum = descriptorpb.Edition_EDITION_2024
	var errs []error
	for _, f := range gen.Files {
		if f.Generate {
			errs = append(errs, generator.GenerateFile(gen, f))
		}
	}
	return errors.Join(errs...)
}
