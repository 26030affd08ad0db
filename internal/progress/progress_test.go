package progress

import (
	"bytes"
	"testing"
)

// TestProgressOnlyOnTerminal: the progress helper draws nothing off a
// terminal (a pipe, a log, this buffer), and its bar fills with the fraction.
func TestProgressOnlyOnTerminal(t *testing.T) {
	var b bytes.Buffer
	if f := Bar(&b, "profiling"); f != nil {
		t.Error("progress callback for a non-terminal")
	}
	for frac, want := range map[float64]string{0: ">" + spaces(29), 0.5: "===============>" + spaces(14), 1: "=============================="} {
		if got := bar(frac); got != want {
			t.Errorf("bar(%v) = %q, want %q", frac, got, want)
		}
	}
}

func spaces(n int) string { return string(bytes.Repeat([]byte{' '}, n)) }
