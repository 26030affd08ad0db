package nn

import (
	"syscall"
	"unsafe"
)

// ThreadCPUSeconds returns the CPU time of the calling OS thread
// (CLOCK_THREAD_CPUTIME_ID), or 0 when unavailable.
func ThreadCPUSeconds() float64 {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return float64(ts.Nano()) / 1e9
}

// ProcessCPUSeconds returns the CPU time of the process, all threads
// (getrusage), or 0 when unavailable.
func ProcessCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
