//go:build !race

package modelrepo

const raceEnabled = false
