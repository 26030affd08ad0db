package testref

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "copy the goldens (Goldens) from ../shared/refs into testdata/refs")

// TestGoldens: the committed goldens are byte for byte the shared
// references (when ../shared/refs is present); -update copies them again.
func TestGoldens(t *testing.T) {
	shared, golden := SharedDir(t), GoldenDir(t)
	if shared == "" {
		if *update {
			t.Fatal("-update needs ../shared/refs (or $SPLITINFER_REFS)")
		}
		t.Skip("../shared/refs absent: nothing to compare the goldens with")
	}
	for _, name := range Goldens {
		err := filepath.WalkDir(filepath.Join(shared, name), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(shared, p)
			want, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			dst := filepath.Join(golden, rel)
			if *update {
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				return os.WriteFile(dst, want, 0o644)
			}
			got, err := os.ReadFile(dst)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("golden %s differs from %s (run go test ./internal/testref -update): %v", rel, p, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
