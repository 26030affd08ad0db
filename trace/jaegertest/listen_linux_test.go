//go:build linux

package jaegertest

import "testing"

func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:10DD":                         "127.0.0.1:4317",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000001000000:0016": "[::1]:22",
		"00000000000000000000000000000000:1F90": "[::]:8080",
	} {
		got, err := parseProcAddr(in)
		if err != nil || got != want {
			t.Errorf("parseProcAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0100007F", "01000:10DD", "zz00007F:10DD", "0100007F:XYZ"} {
		if _, err := parseProcAddr(bad); err == nil {
			t.Errorf("parseProcAddr(%q): no error", bad)
		}
	}
}
