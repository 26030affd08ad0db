// Package allocstest measures allocations of code that must allocate
// nothing in steady state (a warm Runner's run, a kernel's call), robustly
// on a loaded machine.
package allocstest

import "testing"

// measurements bounds how many times Steady measures.
const measurements = 3

// Steady returns the average number of allocations per call of f, as
// testing.AllocsPerRun(runs, f) does, but measures again while a
// measurement is non-zero, up to 3 times, and returns the smallest.
//
// testing.AllocsPerRun counts every allocation of the process. On a loaded
// machine a one-off one lands in a window now and then: the engine's idle
// workers exit when the OS deschedules the test past their idle timeout,
// and the runtime may allocate a goroutine anew to start one again (its
// free goroutines sit on another P), or another goroutine allocates. Those
// do not recur in the next window; an allocation f makes on every call
// shows in every measurement, so it still fails.
func Steady(runs int, f func()) float64 {
	a := testing.AllocsPerRun(runs, f)
	for i := 1; i < measurements && a != 0; i++ {
		a = min(a, testing.AllocsPerRun(runs, f))
	}
	return a
}
