//go:build race

package modelrepo

const raceEnabled = true
