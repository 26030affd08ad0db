package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/internal/testref"
)

func testSet(t *testing.T) *mnist.Set {
	t.Helper()
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 10000 {
		t.Fatalf("test set has %d images", set.Len())
	}
	return set
}

// TestEvalSeednet: the embedded float seed network reaches exactly
// ONNX Runtime's accuracy on the 10,000 test images, and its predictions
// agree with ONNX Runtime's on at least 9,995 images.
func TestEvalSeednet(t *testing.T) {
	set := testSet(t)
	g, name, err := loadModel("seednet_mnist")
	if err != nil {
		t.Fatal(err)
	}
	if name != "seednet_mnist" {
		t.Fatalf("default model %q", name)
	}
	res, err := evaluate.MNIST(context.Background(), g, set, 0, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seednet_mnist: accuracy %.4f on %d images", res.Accuracy, res.Images)
	if res.Images != 10000 || res.Correct != 9842 {
		t.Errorf("seednet_mnist: %d/%d correct, want 9842/10000 (0.9842)", res.Correct, res.Images)
	}
	ort, err := os.ReadFile(testref.Path(t, "seednet_mnist", "ort_test_predictions.u8"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ort) != len(res.Predictions) {
		t.Fatalf("%d reference predictions, %d ours", len(ort), len(res.Predictions))
	}
	agree := 0
	for i := range ort {
		if ort[i] == res.Predictions[i] {
			agree++
		}
	}
	t.Logf("seednet_mnist: predictions agree with ONNX Runtime on %d of %d images", agree, len(ort))
	if agree < 9995 {
		t.Errorf("predictions agree with ONNX Runtime on %d images, want at least 9995", agree)
	}
}

// TestEvalTinyResNet: the small ResNet (a DAG) reaches exactly ONNX
// Runtime's accuracy.
func TestEvalTinyResNet(t *testing.T) {
	set := testSet(t)
	g, _, err := loadModel(testref.Path(t, "tinyresnet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := evaluate.MNIST(context.Background(), g, set, 0, 250, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tinyresnet_mnist: accuracy %.4f on %d images", res.Accuracy, res.Images)
	if res.Images != 10000 || res.Correct != 9888 {
		t.Errorf("tinyresnet_mnist: %d/%d correct, want 9888/10000 (0.9888)", res.Correct, res.Images)
	}
}

// TestEvalCommand runs the command end to end on a few images, with an
// uneven last batch, and checks the JSON fields.
func TestEvalCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := runMain(context.Background(), []string{"eval", "seednet_mnist", "--n", "250", "--batch", "64", "--threads", "2", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for _, k := range []string{"accuracy", "images", "seconds"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out.String())
		}
	}
	if res["images"] != 250.0 || res["model"] != "seednet_mnist" {
		t.Errorf("JSON %s", out.String())
	}
	if acc, _ := res["accuracy"].(float64); acc < 0.95 || acc > 1 {
		t.Errorf("accuracy %v on the first 250 images", acc)
	}
	// The same 250 images in one batch must give the same accuracy.
	out.Reset()
	if code := runMain(context.Background(), []string{"eval", "seednet_mnist", "--n", "250", "--batch", "250", "--threads", "1", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res2 map[string]any
	if err := json.Unmarshal(out.Bytes(), &res2); err != nil {
		t.Fatal(err)
	}
	if res2["accuracy"] != res["accuracy"] {
		t.Errorf("accuracy %v with batch 250, %v with batch 64", res2["accuracy"], res["accuracy"])
	}
	out.Reset()
	if code := runMain(context.Background(), []string{"eval", "--n", "20"}, &out, &errb); code != 0 {
		t.Fatalf("text output: exit %d: %s", code, errb.String())
	}
	if !bytes.Contains(out.Bytes(), []byte("accuracy")) || !bytes.Contains(out.Bytes(), []byte("images/s")) {
		t.Errorf("text output %q", out.String())
	}
}

func TestEvalBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"eval", "--batch", "0"},
		{"eval", "--threads", "0"},
		{"eval", "--n", "-1"},
		{"eval", "--bogus"},
		{"eval", "a", "b"},
	} {
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"eval", "--model", "no-such-model"}, &out, &errb); code != 1 {
		t.Errorf("unknown model: exit %d, want 1", code)
	}
	// A model whose input is not an MNIST image is refused with a clear error.
	out.Reset()
	errb.Reset()
	if code := runMain(context.Background(), []string{"eval", "--model", testref.Path(t, "mobilenet_v2.onnx")}, &out, &errb); code != 1 ||
		!bytes.Contains(errb.Bytes(), []byte("input")) {
		t.Errorf("mobilenet eval: exit %d, stderr %q", code, errb.String())
	}
}

// TestEvalQDQ: an ONNX Runtime QDQ model, lowered onto the int8 kernels by
// loadModel, reaches ONNX Runtime's int8 accuracy (figures.json).
func TestEvalQDQ(t *testing.T) {
	set := testSet(t)
	g, _, err := loadModel(testref.Path(t, "seednet_mnist_int8_qdq_pc.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := evaluate.MNIST(context.Background(), g, set, 0, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seednet_mnist_int8_qdq_pc: accuracy %.4f", res.Accuracy)
	if res.Correct != 9844 {
		t.Errorf("%d/%d correct, want 9844 (ONNX Runtime's 0.9844)", res.Correct, res.Images)
	}
}
