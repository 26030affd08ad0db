package nn

import (
	"flag"
	"os"
	"testing"
)

// The nn tests run with shared outputs poisoned (share.go); benchmarks
// (-test.bench given) do not, as the NaN fill would be timed with them.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		poisonShared = true
	}
	os.Exit(m.Run())
}

// TestPoisonOn guards the check itself: without it the tests above would
// pass with a kernel that leaves part of a shared output unwritten.
func TestPoisonOn(t *testing.T) {
	if f := flag.Lookup("test.bench"); f != nil && f.Value.String() != "" {
		t.Skip("benchmarks run without poisoning")
	}
	if !poisonShared {
		t.Fatal("shared outputs are not poisoned in the nn tests")
	}
}
