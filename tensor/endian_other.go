//go:build !(386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm) || goai_portable

package tensor

// nativeLittleEndian is false on big-endian ports, and on any port not
// listed in endian_little.go: the portable encoding/binary path is correct
// everywhere, so an unknown port is only slower, never wrong. The
// goai_portable build tag selects this file on any port, for testing.
const nativeLittleEndian = false
