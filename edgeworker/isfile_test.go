package edgeworker_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/edgeworker"
)

// TestIsFileInput: directories and PNG/JPEG files are per-file inputs;
// a tensor file, a short file and a missing path are not.
func TestIsFileInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for path, want := range map[string]bool{
		dir:                                       true,
		write("a.png", "\x89PNG\r\n\x1a\n rest"):  true,
		write("b.jpg", "\xff\xd8\xff\xe0 rest"):   true,
		write("x.pb", "\x08\x01\x08\x03\x10\x01"): false,
		write("short", "\x89P"):                   false,
		filepath.Join(dir, "missing"):             false,
	} {
		if got := edgeworker.IsFileInput(path); got != want {
			t.Errorf("%s: %v, want %v", filepath.Base(path), got, want)
		}
	}
}
