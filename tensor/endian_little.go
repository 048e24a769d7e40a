//go:build (386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm) && !goai_portable

package tensor

// nativeLittleEndian reports that this GOARCH stores integers and floats
// little-endian, the byte order of raw contents, so a slice can be copied
// to and from the wire as its memory. It is a constant, chosen by build
// tags, so the compiler drops the portable path from these builds; the
// list is the little-endian ports of Go, and a port missing from it falls
// into endian_other.go, which is slower but correct. TestNativeEndian
// checks the constant against the machine. The goai_portable build tag
// forces the portable path, so that the whole test suite can run it on a
// little-endian machine: go test -tags goai_portable ./runtime/tensor
const nativeLittleEndian = true
