// Package tfscoexist holds the tests that hold goai's private copy of TF
// Serving's and TensorFlow's messages (internal/tfspb) against the real
// protos, and link it beside Go stubs of them, as a team that already
// calls TF Serving from Go has. Package realpb/... is generated, one Go
// package per proto directory, from the real files in testdata/protos
// (see the README there) by this directory's own buf workspace, kept
// apart from goai's.
//
// The tests prove that goai's copy agrees with the real messages field for
// field, that both register in protobuf-go's global registry without a
// conflict, that each side's client calls the other side's server, and
// that the JSON TF Serving's REST API writes with the real messages reads
// the same with goai's.
package tfscoexist
