//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/internal/natstest"
	"github.com/splitinfer/splitinfer/internal/oiptest"
)

// TestServeProcesses: a real nats-server, a cloud worker and `edge --serve
// --serve-grpc` as processes. 1,000 MNIST test images, as 28x28 PNG files,
// go through HTTP (JSON base64 and the binary extension), through gRPC
// with grpcurl, and through `edge --input DIR` and `infer --input DIR`;
// every path gives eval's prediction for every image. Bad requests get
// their code and a message naming the cause, the next valid request
// succeeds, the edge stays under 200 MiB, and SIGTERM drains it.
func TestServeProcesses(t *testing.T) {
	const n, batch = 1000, 50
	set := testSet(t)
	g, _, err := loadModel("")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := evaluate.MNIST(context.Background(), g, set, n, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := ev.Predictions
	dir := t.TempDir()
	imgDir := filepath.Join(dir, "digits")
	if err := os.Mkdir(imgDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pngs := make([][]byte, n)
	for i := range pngs {
		if pngs[i], err = set.PNG(i); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(imgDir, fmt.Sprintf("%04d.png", i)), pngs[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := natstest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("bash", filepath.Join(root, "scripts", "grpcurl-build.sh")).Output()
	if err != nil {
		t.Fatalf("scripts/grpcurl-build.sh: %v", err)
	}
	grpcurl := strings.TrimSpace(string(out))
	bin := filepath.Join(dir, "splitinfer")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	url, _ := startNATS(t, natstest.Binary(t))
	start(t, "cloud", nil, bin, "cloud", "--nats", url)
	httpAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	const maxBody = 256 << 10
	edge := start(t, "edge", nil, bin, "edge", "--nats", url, "--serve", httpAddr, "--serve-grpc", grpcAddr,
		"--max-body", strconv.Itoa(maxBody), "--concurrency", "2")
	base := "http://" + httpAddr
	infer := base + "/v2/models/seednet_mnist_pq8/infer"
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(base + "/v2/health/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the edge was not ready within 30s:\n%s", edge.output())
		}
		time.Sleep(100 * time.Millisecond)
	}

	check := func(path string, lo int, logits []float32) {
		t.Helper()
		if len(logits) != batch*10 {
			t.Fatalf("%s: %d logits for %d images", path, len(logits), batch)
		}
		for i := 0; i < batch; i++ {
			if got := evaluate.Argmax(logits[i*10 : (i+1)*10]); got != int(want[lo+i]) {
				t.Errorf("%s: image %d class %d, eval %d", path, lo+i, got, want[lo+i])
			}
		}
	}
	for lo := 0; lo < n; lo += batch {
		// JSON, base64 images (MLServer's content_type).
		var data []string
		for _, b := range pngs[lo : lo+batch] {
			data = append(data, strconv.Quote(base64.StdEncoding.EncodeToString(b)))
		}
		body := fmt.Sprintf(`{"id":"b%d","inputs":[{"name":"input","shape":[%d],"datatype":"BYTES","parameters":{"content_type":"base64"},"data":[%s]}]}`,
			lo, batch, strings.Join(data, ","))
		status, _, resp := oiptest.Post(t, infer, nil, []byte(body))
		var r struct {
			ID      string `json:"id"`
			Outputs []struct {
				Data []float32 `json:"data"`
			} `json:"outputs"`
		}
		if err := json.Unmarshal(resp, &r); status != 200 || err != nil || r.ID != fmt.Sprintf("b%d", lo) || len(r.Outputs) != 1 {
			t.Fatalf("JSON batch %d: %d %s", lo, status, resp)
		}
		check("HTTP JSON", lo, r.Outputs[0].Data)

		// The binary tensor data extension, both ways.
		var raw []byte
		for _, b := range pngs[lo : lo+batch] {
			raw = binary.LittleEndian.AppendUint32(raw, uint32(len(b)))
			raw = append(raw, b...)
		}
		hdr := fmt.Sprintf(`{"inputs":[{"name":"input","shape":[%d,1],"datatype":"BYTES","parameters":{"binary_data_size":%d}}],"outputs":[{"name":"logits","parameters":{"binary_data":true}}]}`, batch, len(raw))
		status, h, resp := oiptest.Post(t, infer, map[string]string{"Inference-Header-Content-Length": strconv.Itoa(len(hdr))}, append([]byte(hdr), raw...))
		jl, err := strconv.Atoi(h.Get("Inference-Header-Content-Length"))
		if status != 200 || err != nil || len(resp)-jl != batch*40 {
			t.Fatalf("binary batch %d: %d %q (%d bytes)", lo, status, h.Get("Inference-Header-Content-Length"), len(resp))
		}
		logits := make([]float32, batch*10)
		for i := range logits {
			logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(resp[jl+4*i:]))
		}
		check("HTTP binary", lo, logits)
	}

	// gRPC through grpcurl (reflection; bytes travel base64 in its JSON).
	if out, err := exec.Command(grpcurl, "-plaintext", grpcAddr, "list").CombinedOutput(); err != nil || !strings.Contains(string(out), "inference.GRPCInferenceService") {
		t.Fatalf("grpcurl list: %v\n%s", err, out)
	}
	const gbatch = 50 // under the default batch limit (64)
	for lo := 0; lo < n; lo += gbatch {
		var data []string
		for _, b := range pngs[lo : lo+gbatch] {
			data = append(data, strconv.Quote(base64.StdEncoding.EncodeToString(b)))
		}
		req := fmt.Sprintf(`{"model_name":"seednet_mnist_pq8","id":"g%d","inputs":[{"name":"input","datatype":"BYTES","shape":[%d],"contents":{"bytes_contents":[%s]}}]}`,
			lo, gbatch, strings.Join(data, ","))
		cmd := exec.Command(grpcurl, "-plaintext", "-d", "@", grpcAddr, "inference.GRPCInferenceService/ModelInfer")
		cmd.Stdin = strings.NewReader(req)
		var errb bytes.Buffer
		cmd.Stderr = &errb
		out, err := cmd.Output()
		var r struct {
			ID      string `json:"id"`
			Outputs []struct {
				Contents struct {
					FP32 []float32 `json:"fp32Contents"`
				} `json:"contents"`
			} `json:"outputs"`
		}
		if err != nil || json.Unmarshal(out, &r) != nil || len(r.Outputs) != 1 || r.ID != fmt.Sprintf("g%d", lo) {
			t.Fatalf("grpcurl ModelInfer %d: %v %s\n%.500s", lo, err, errb.String(), out)
		}
		for i := 0; i < gbatch; i++ {
			if got := evaluate.Argmax(r.Outputs[0].Contents.FP32[i*10 : (i+1)*10]); got != int(want[lo+i]) {
				t.Errorf("gRPC: image %d class %d, eval %d", lo+i, got, want[lo+i])
			}
		}
	}
	// grpcurl shows a gRPC error's code and message.
	cmd := exec.Command(grpcurl, "-plaintext", "-d", `{"model_name":"resnet"}`, grpcAddr, "inference.GRPCInferenceService/ModelInfer")
	if out, _ := cmd.CombinedOutput(); !strings.Contains(string(out), "NotFound") || !strings.Contains(string(out), `unknown model "resnet"`) {
		t.Errorf("grpcurl, unknown model: %s", out)
	}

	// Bad requests: each its code and a message naming the cause; the next
	// valid request succeeds.
	bombPNG := oiptest.BombPNG(t, 20000, 20000)
	one := func(img []byte) string {
		return `{"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","parameters":{"content_type":"base64"},"data":["` + base64.StdEncoding.EncodeToString(img) + `"]}]}`
	}
	good := one(pngs[0])
	for _, tc := range []struct {
		name, url, body string
		status          int
		msg             string
	}{
		{"malformed JSON", infer, `{"inputs":[{"name":`, 400, "malformed JSON"},
		{"data length vs shape", infer, `{"inputs":[{"name":"input","shape":[2,1,32,32],"datatype":"FP32","data":[0.5,0.25]}]}`, 400, `input "input": data has 2 elements, the shape needs 2048`},
		{"wrong datatype", infer, `{"inputs":[{"name":"input","shape":[1,1,32,32],"datatype":"INT64","data":[1]}]}`, 400, `input "input": datatype INT64, the model wants FP32 [-1,1,32,32]`},
		{"non-image BYTES", infer, one([]byte("%PDF-1.7 not an image")), 400, "not a PNG or JPEG image"},
		{"20,000x20,000 PNG", infer, one(bombPNG), 400, "20000x20000 pixels declared, the limit is"},
		{"body over the limit", infer, good + strings.Repeat(" ", maxBody), 413, "over the limit"},
		{"unknown model", base + "/v2/models/resnet50/infer", good, 404, `unknown model "resnet50"`},
	} {
		status, _, resp := oiptest.Post(t, tc.url, nil, []byte(tc.body))
		var e struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(resp, &e); status != tc.status || err != nil || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, status, resp, tc.status, tc.msg)
		}
		if status, _, resp := oiptest.Post(t, infer, nil, []byte(good)); status != 200 {
			t.Fatalf("after %s: %d %s", tc.name, status, resp)
		}
	}
	if rss := peakRSS(t, edge.cmd.Process.Pid); rss > 200<<20 {
		t.Errorf("edge peak RSS %d MiB, want < 200", rss>>20)
	} else {
		t.Logf("edge peak RSS %.1f MiB", float64(rss)/(1<<20))
	}

	// Batch jobs without a protocol client: through the split, and locally.
	for _, args := range [][]string{
		{"edge", "--nats", url, "--input", imgDir, "--top", "3", "--concurrency", "2"},
		{"infer", "--input", imgDir, "--top", "1"},
	} {
		var stdout bytes.Buffer
		p := start(t, args[0]+" --input", &stdout, bin, args...)
		<-p.done
		if p.err != nil {
			t.Fatalf("%s --input: %v\n%s", args[0], p.err, p.output())
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		if len(lines) != n {
			t.Fatalf("%s --input: %d lines for %d files", args[0], len(lines), n)
		}
		for i, line := range lines {
			var fr edgeworker.FileResult
			if err := json.Unmarshal([]byte(line), &fr); err != nil || fr.Error != "" || len(fr.Top) == 0 {
				t.Fatalf("%s --input line %d: %v %s", args[0], i, err, line)
			}
			if filepath.Base(fr.File) != fmt.Sprintf("%04d.png", i) || fr.Top[0].Index != int(want[i]) || fr.Top[0].Label != strconv.Itoa(int(want[i])) {
				t.Errorf("%s --input line %d: %s, eval %d", args[0], i, line, want[i])
			}
		}
		if args[0] == "edge" && !strings.Contains(lines[0], `"cut":"`) || args[0] == "infer" && !strings.Contains(lines[0], `"cut":"local"`) {
			t.Errorf("%s --input: no cut in %s", args[0], lines[0])
		}
	}

	// SIGTERM: the edge drains and exits cleanly.
	if err := edge.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-edge.done:
		if edge.err != nil {
			t.Errorf("edge after SIGTERM: %v\n%s", edge.err, edge.output())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("edge did not exit within 15s of SIGTERM")
	}
}
