//go:build !race

package goai_test

const raceEnabled = false
