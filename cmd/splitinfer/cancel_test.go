package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCancelLongCommands: Ctrl-C (main's signal.NotifyContext cancels the
// context) ends a long command promptly, with an error and no output: no
// file (partition's is --save-profile), nothing on stdout (sweep's report).
func TestCancelLongCommands(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"train", "--epochs", "50", "--out", filepath.Join(dir, "train.onnx")},
		{"compress", "--model", "seednet_mnist", "--quantize", "int8", "--calib", "10000", "--calib-method", "entropy", "--out", filepath.Join(dir, "q.sinf")},
		{"partition", "--bandwidth", "10mbit", "--samples", "64", "--runs", "1000", "--clock", "wall", "--save-profile", filepath.Join(dir, "edge.json")},
		{"sweep", "--link", "100mbit/1ms", "--samples", "1", "--runs", "1", "--requests", "100000", "--max-predicted", "0", "--json"},
	} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(500*time.Millisecond, cancel)
			var out, errb bytes.Buffer
			start := time.Now()
			code := runMain(ctx, args, &out, &errb)
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("%v took %v after the cancel at 500ms", args, d)
			}
			if code == 0 {
				t.Errorf("%v: exit 0 after cancel", args)
			}
			if !strings.Contains(errb.String(), "context canceled") {
				t.Errorf("%v: stderr does not say it was cancelled: %q", args, errb.String())
			}
			if _, err := os.Stat(args[len(args)-1]); err == nil {
				t.Errorf("%v: output written after cancel", args)
			}
			if out.Len() > 0 {
				t.Errorf("%v: report printed after cancel: %q", args, out.String())
			}
		})
	}
}
