package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/pipeline/pipetest"
)

// TestExitCodes: --n above the data set is a usage error, and an edge whose
// inputs end in errors exits non-zero after printing its summary.
func TestExitCodes(t *testing.T) {
	for _, args := range [][]string{{"run"}, {"edge", "--nats", "nats://127.0.0.1:1"}} {
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), append(args, "--n", "10001"), &out, &errb); code != 2 || !strings.Contains(errb.String(), "holds 10000") {
			t.Errorf("%s --n 10001: exit %d, stderr %q", args[0], code, errb.String())
		}
	}
	// A server without cloud workers: every request ends in "no responders".
	s := pipetest.StartServer(t)
	var out, errb bytes.Buffer
	code := runMain(context.Background(), []string{"edge", "--nats", s.ClientURL(), "--n", "3", "--wait", "0", "--deadline", "300ms", "--json"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "3 of 3 inputs ended in an error") || !strings.Contains(out.String(), `"errors":3`) {
		t.Errorf("edge without cloud: exit %d\nstdout %s\nstderr %s", code, out.String(), errb.String())
	}
}
