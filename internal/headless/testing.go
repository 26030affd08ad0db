package headless

import (
	"os"
	"testing"
)

// StartForTest runs Chromium for the test and closes it at cleanup.
// Without Chromium the test is skipped, except under CI (CI set and not
// "false" or "0"), where it fails: scripts/test-deps.sh installs it.
func StartForTest(tb testing.TB) *Browser {
	tb.Helper()
	bin, err := Binary()
	if err != nil {
		if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
			tb.Fatalf("%v; CI is set, so the browser test must run", err)
		}
		tb.Skipf("%v; skipping (CI unset)", err)
	}
	b, err := Start(bin)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Error(err)
		}
	})
	return b
}
