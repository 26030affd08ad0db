//go:build linux

package jaegertest

import (
	"testing"
	"time"
)

// TestCPUTime: the running Jaeger has used some CPU to start, and the
// count never goes back.
func TestCPUTime(t *testing.T) {
	j := Start(t)
	a, err := j.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	if a <= 0 || a > time.Hour {
		t.Errorf("CPU time after start %v", a)
	}
	b, err := j.CPUTime()
	if err != nil || b < a {
		t.Errorf("CPU time went from %v to %v (%v)", a, b, err)
	}
}
