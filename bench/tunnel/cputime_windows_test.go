package tunnel_test

import (
	"time"

	"golang.org/x/sys/windows"
)

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var creation, exit, kernel, user windows.Filetime
	_ = windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user)
	// Filetime counts 100 ns steps; Nanoseconds() would count from 1601.
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return time.Duration((ticks(kernel) + ticks(user)) * 100)
}
