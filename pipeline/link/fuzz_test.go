package link

import (
	"errors"
	"testing"
)

// FuzzParse: any spec parses to one that prints back to itself, or fails
// with ErrSpec; never a panic, a negative value or a NaN.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"10mbit/20ms", "1gbit", "unlimited/5ms", "512kbit/1s", "0.5mbit/1.5ms", "", "/", "mbit", "1e309mbit", "-0mbit"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("Parse(%q): error %v is not ErrSpec", s, err)
			}
			return
		}
		if sp.Bandwidth < 0 || sp.Bandwidth != sp.Bandwidth || sp.RTT < 0 {
			t.Fatalf("Parse(%q) = %+v", s, sp)
		}
		back, err := Parse(sp.String())
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, sp.String(), err)
		}
		if back.String() != sp.String() {
			t.Fatalf("round trip %q -> %q -> %q", s, sp.String(), back.String())
		}
	})
}
