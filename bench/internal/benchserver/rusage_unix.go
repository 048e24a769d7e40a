//go:build unix

package benchserver

import (
	"syscall"
	"time"
)

// CPUTime returns the CPU time, user and system, this process has used,
// from getrusage(RUSAGE_SELF); zero where it fails.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
