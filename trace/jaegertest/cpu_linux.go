//go:build linux

package jaegertest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux
// for every architecture Go supports).
const clockTick = 10 * time.Millisecond

// CPUTime returns the CPU time (user + system) the Jaeger process has used
// so far, in steps of 10ms: what ingesting spans costs on the machine when
// Jaeger runs beside the traced process.
func (j *Jaeger) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", j.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 || i+2 > len(s) {
		return 0, fmt.Errorf("jaegertest: unexpected /proc stat %.80q", s)
	}
	f := strings.Fields(s[i+2:]) // from field 3 (state) on
	if len(f) < 13 {
		return 0, fmt.Errorf("jaegertest: unexpected /proc stat %.80q", s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("jaegertest: unexpected /proc stat %.80q", s)
	}
	return time.Duration(utime+stime) * clockTick, nil
}
