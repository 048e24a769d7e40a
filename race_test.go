//go:build race

package goai

const raceEnabled = true
