//go:build race

package goaiimpl

// raceEnabled reports a -race build, whose instrumented code allocates
// more than the code measured by the allocation bounds.
const raceEnabled = true
