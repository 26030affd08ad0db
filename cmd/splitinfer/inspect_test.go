package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn/inspect"
)

// TestInspectSeednet checks the JSON report of the float seed network against
// hand-computed figures of the seed network.
func TestInspectSeednet(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"inspect", "seednet_mnist", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rep inspect.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	// conv 1->16 3x3: 16*9+16; conv 16->32: 32*16*9+32; fc 2048->128; fc 128->10.
	const params = 160 + 4640 + 2048*128 + 128 + 128*10 + 10
	if rep.TotalParams != params {
		t.Errorf("total params %d, want %d", rep.TotalParams, params)
	}
	if rep.TotalNonzero != params { // the float network has no exact zeros
		t.Errorf("total nonzero params %d, want %d", rep.TotalNonzero, params)
	}
	wantMACs := map[string]int64{
		"/conv1/Conv": 16 * 1 * 9 * 32 * 32,
		"/conv2/Conv": 32 * 16 * 9 * 16 * 16,
		"/fc1/Gemm":   2048 * 128,
		"/fc2/Gemm":   128 * 10,
	}
	var sumF32, sumI8 int64
	for _, n := range rep.Nodes {
		if w, ok := wantMACs[n.Name]; ok {
			if n.MACs != w {
				t.Errorf("%s: %d MACs, want %d", n.Name, n.MACs, w)
			}
			delete(wantMACs, n.Name)
		}
		if n.BytesF32 != 4*n.BytesInt8 {
			t.Errorf("%s: %d float32 bytes, %d int8 bytes", n.Name, n.BytesF32, n.BytesInt8)
		}
		if n.Name == "/conv1/Conv" && (len(n.Outputs) != 1 || n.BytesF32 != 16*32*32*4) {
			t.Errorf("conv1 outputs %+v, %d bytes", n.Outputs, n.BytesF32)
		}
		sumF32 += n.BytesF32
		sumI8 += n.BytesInt8
	}
	if len(wantMACs) != 0 {
		t.Errorf("nodes not found: %v", wantMACs)
	}
	if sumF32 != rep.TotalBytesF32 || sumI8 != rep.TotalBytesInt8 {
		t.Errorf("totals %d/%d, sums %d/%d", rep.TotalBytesF32, rep.TotalBytesInt8, sumF32, sumI8)
	}
	if len(rep.Outputs) != 1 || len(rep.Outputs[0].Shape) != 2 || rep.Outputs[0].Shape[0] != 1 || rep.Outputs[0].Shape[1] != 10 {
		t.Errorf("outputs %+v", rep.Outputs)
	}
}

// TestInspectTable runs the text form on a DAG model given as a positional
// argument before the flags.
func TestInspectTable(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"inspect", testref.Path(t, "tinyresnet_mnist.onnx")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"tinyresnet_mnist", "Conv", "Add", "GlobalAveragePool", "total", "[1 10]"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
	if code := runMain(context.Background(), []string{"inspect", "a", "b"}, &out, &errb); code != 2 {
		t.Errorf("two models: exit %d, want 2", code)
	}
}
