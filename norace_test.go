//go:build !race

package goai

const raceEnabled = false
