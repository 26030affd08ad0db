package edgeworker

import (
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/splitinfer/splitinfer/internal/cputime"
)

// EmulateSlower runs f (single-threaded work, such as a head run with a
// one-thread runner) as a device factor times slower would: it measures
// the CPU time f used on its OS thread and then sleeps until the wall time
// since the start reaches factor x that CPU time. Using CPU time, not wall
// time, keeps the emulated device's speed steady when the host is loaded.
// Where thread CPU time is not available it uses the wall time of f. It
// returns the CPU (or wall) time of f and the emulated duration.
func EmulateSlower(factor float64, f func() error) (compute, emulated time.Duration, err error) {
	if !(factor >= 1) || math.IsInf(factor, 0) {
		return 0, 0, fmt.Errorf("edgeworker: slowdown factor %v, want >= 1", factor)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := time.Now()
	c0, ok := cputime.Thread()
	err = f()
	c1, _ := cputime.Thread()
	wall := time.Since(start)
	compute = c1 - c0
	if !ok {
		compute = wall
	}
	if err != nil {
		return compute, wall, err
	}
	target := time.Duration(float64(compute) * factor)
	if target > wall {
		sleepUntil(start.Add(target))
	}
	return compute, time.Since(start), nil
}

// spinWindow is the end of an emulated run that sleepUntil spins through:
// time.Sleep may overshoot by up to a millisecond (timer granularity),
// which would dwarf the emulated time of a small head.
const spinWindow = 2 * time.Millisecond

// sleepUntil sleeps until t: the bulk with time.Sleep, the last spinWindow
// by polling the clock (yielding the processor meanwhile).
func sleepUntil(t time.Time) {
	if d := time.Until(t) - spinWindow; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}
