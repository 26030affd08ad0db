package oip_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/oip"
	"github.com/splitinfer/splitinfer/internal/oiptest"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline/pipetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixture struct {
	url  string
	prog *nn.Program
	set  *mnist.Set
	srv  *oip.Server
	edge *edgeworker.Worker
}

// newFixture runs the built-in model split between an in-process cloud
// worker and an edge worker, served over HTTP.
func newFixture(t testing.TB, cfg oip.Config, pcfg edgeworker.PredictorConfig) *fixture {
	t.Helper()
	set, err := mnist.Test()
	if err != nil {
		t.Skip("MNIST data:", err)
	}
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	s := pipetest.StartServer(t)
	cw, err := cloudworker.New(pipetest.Connect(t, s), []cloudworker.Model{{Name: models.DefaultName, Program: prog}}, cloudworker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cw.Stop() })
	ew, err := edgeworker.New(pipetest.Connect(t, s), prog, edgeworker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if pcfg.Name == "" {
		pcfg.Name = models.DefaultName
	}
	p, err := edgeworker.NewPredictor(ew, g, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Ready == nil {
		cfg.Ready = ew.Ready
	}
	srv, err := oip.New(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &fixture{url: hs.URL, prog: prog, set: set, srv: srv, edge: ew}
}

// want is the unsplit model's class for each image.
func (f *fixture) want(t *testing.T, idx []int) []int {
	x := nn.New(nn.Float32, len(idx), 1, 32, 32)
	for i, k := range idx {
		copy(x.F32[i*1024:], f.set.Image(k))
	}
	out, err := f.prog.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	cls := make([]int, len(idx))
	for i := range idx {
		cls[i] = argmax(out[0].F32[i*10 : (i+1)*10])
	}
	return cls
}

func argmax(v []float32) int {
	b := 0
	for i, x := range v {
		if x > v[b] {
			b = i
		}
	}
	return b
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (f *fixture) pngs(t testing.TB, idx []int) [][]byte {
	var out [][]byte
	for _, k := range idx {
		b, err := f.set.PNG(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func base64Request(imgs [][]byte, extra string) []byte {
	var data []string
	for _, b := range imgs {
		data = append(data, strconv.Quote(base64.StdEncoding.EncodeToString(b)))
	}
	return []byte(fmt.Sprintf(`{"id":"req-1","inputs":[{"name":"input","shape":[%d],"datatype":"BYTES","parameters":{"content_type":"base64"},"data":[%s]}]%s}`,
		len(imgs), strings.Join(data, ","), extra))
}

type response struct {
	ModelName string `json:"model_name"`
	ID        string `json:"id"`
	Outputs   []struct {
		Name       string          `json:"name"`
		Datatype   string          `json:"datatype"`
		Shape      []int           `json:"shape"`
		Parameters map[string]any  `json:"parameters"`
		Data       json.RawMessage `json:"data"`
	} `json:"outputs"`
	Error string `json:"error"`
}

func decode(t *testing.T, b []byte) response {
	t.Helper()
	var r response
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return r
}

func TestMetadataAndHealth(t *testing.T) {
	f := newFixture(t, oip.Config{}, edgeworker.PredictorConfig{})
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/v2/health/live", 200, ""},
		{"/v2/health/ready", 200, ""},
		{"/v2", 200, `"extensions":["binary_tensor_data","classification"]`},
		{"/v2/models/seednet_mnist_pq8", 200, `"inputs":[{"name":"input","datatype":"FP32","shape":[-1,1,32,32]}]`},
		{"/v2/models/seednet_mnist_pq8/versions/1", 200, `"outputs":[{"name":"logits","datatype":"FP32","shape":[-1,10]}]`},
		{"/v2/models/seednet_mnist_pq8/ready", 200, ""},
		{"/v2/models/nope", 404, `{"error":"oip: unknown model \"nope\" (this server serves \"seednet_mnist_pq8\")"}`},
		{"/v2/models/seednet_mnist_pq8/versions/7/ready", 404, `version \"7\"`},
	} {
		status, body := get(t, f.url+tc.path)
		if status != tc.status || !strings.Contains(string(body), tc.body) {
			t.Errorf("GET %s = %d %s, want %d with %s", tc.path, status, body, tc.status, tc.body)
		}
	}
}

// TestInferImages sends MNIST PNGs as base64 JSON, through the binary
// extension, and as FP32 tensors, and compares with the unsplit model.
func TestInferImages(t *testing.T) {
	f := newFixture(t, oip.Config{}, edgeworker.PredictorConfig{})
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7}
	want := f.want(t, idx)
	imgs := f.pngs(t, idx)
	url := f.url + "/v2/models/seednet_mnist_pq8/infer"

	status, _, body := oiptest.Post(t, url, nil, base64Request(imgs, ""))
	r := decode(t, body)
	if status != 200 || r.ID != "req-1" || len(r.Outputs) != 1 || r.Outputs[0].Datatype != "FP32" || fmt.Sprint(r.Outputs[0].Shape) != "[8 10]" {
		t.Fatalf("base64: %d %s", status, body)
	}
	var logits []float32
	if err := json.Unmarshal(r.Outputs[0].Data, &logits); err != nil {
		t.Fatal(err)
	}
	for i := range idx {
		if got := argmax(logits[i*10 : (i+1)*10]); got != want[i] {
			t.Errorf("base64 image %d: class %d, want %d", idx[i], got, want[i])
		}
	}

	// Classification, top 2 with labels.
	status, _, body = oiptest.Post(t, url, nil, base64Request(imgs[:2], `,"outputs":[{"name":"logits","parameters":{"classification":2}}]`))
	r = decode(t, body)
	var cls []string
	if status != 200 || json.Unmarshal(r.Outputs[0].Data, &cls) != nil || len(cls) != 4 || r.Outputs[0].Datatype != "BYTES" {
		t.Fatalf("classification: %d %s", status, body)
	}
	for i := 0; i < 2; i++ {
		parts := strings.Split(cls[2*i], ":")
		if len(parts) != 3 || parts[1] != strconv.Itoa(want[i]) || parts[2] != strconv.Itoa(want[i]) {
			t.Errorf("classification row %d: %q, want class %d", i, cls[2*i], want[i])
		}
	}

	// Binary extension: raw PNGs in, binary logits out.
	var bin []byte
	for _, b := range imgs {
		bin = binary.LittleEndian.AppendUint32(bin, uint32(len(b)))
		bin = append(bin, b...)
	}
	hdr := fmt.Sprintf(`{"inputs":[{"name":"input","shape":[%d,1],"datatype":"BYTES","parameters":{"binary_data_size":%d}}],"parameters":{"binary_data_output":true}}`, len(imgs), len(bin))
	status, h, body := oiptest.Post(t, url, map[string]string{oip.HeaderInferenceLength: strconv.Itoa(len(hdr))}, append([]byte(hdr), bin...))
	if status != 200 {
		t.Fatalf("binary: %d %s", status, body)
	}
	n, err := strconv.Atoi(h.Get(oip.HeaderInferenceLength))
	if err != nil || n > len(body) {
		t.Fatalf("binary response header %q", h.Get(oip.HeaderInferenceLength))
	}
	r = decode(t, body[:n])
	raw := body[n:]
	if size, _ := r.Outputs[0].Parameters["binary_data_size"].(float64); int(size) != len(raw) || len(raw) != 8*10*4 {
		t.Fatalf("binary output: %v, %d bytes", r.Outputs[0].Parameters, len(raw))
	}
	for i := range idx {
		row := make([]float32, 10)
		for j := range row {
			row[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[(i*10+j)*4:]))
		}
		if got := argmax(row); got != want[i] {
			t.Errorf("binary image %d: class %d, want %d", idx[i], got, want[i])
		}
	}

	// The model's own tensor, FP32 JSON (nested arrays are fine too).
	vals, _ := json.Marshal(f.set.Image(0))
	status, _, body = oiptest.Post(t, url, nil, []byte(`{"inputs":[{"name":"input","shape":[1,1,32,32],"datatype":"FP32","data":[`+string(vals)+`]}]}`))
	r = decode(t, body)
	if status != 200 || json.Unmarshal(r.Outputs[0].Data, &logits) != nil || argmax(logits) != want[0] {
		t.Fatalf("FP32: %d %s", status, body)
	}
}

func TestBadRequests(t *testing.T) {
	const limit = 64 << 10
	f := newFixture(t, oip.Config{MaxBodyBytes: limit}, edgeworker.PredictorConfig{})
	url := f.url + "/v2/models/seednet_mnist_pq8/infer"
	good := base64Request(f.pngs(t, []int{0}), "")
	// A valid request padded with spaces to exactly the limit, and one byte more.
	atLimit := append(append([]byte(nil), good...), bytes.Repeat([]byte(" "), limit-len(good))...)
	for _, tc := range []struct {
		name, url string
		body      []byte
		status    int
		msg       string
	}{
		{"malformed JSON", url, []byte(`{"inputs": [`), 400, "malformed JSON"},
		{"data length vs shape", url, []byte(`{"inputs":[{"name":"input","shape":[1,1,32,32],"datatype":"FP32","data":[1,2,3]}]}`), 400, `input "input": data has 3 elements, the shape needs 1024`},
		{"wrong shape", url, []byte(`{"inputs":[{"name":"input","shape":[1,1,28,28],"datatype":"FP32","data":[` + strings.Repeat("0,", 783) + `0]}]}`), 400, `input "input": shape [1,1,28,28], the model wants FP32 [-1,1,32,32]`},
		{"wrong datatype", url, []byte(`{"inputs":[{"name":"input","shape":[1],"datatype":"FP64","data":[1]}]}`), 400, `input "input": datatype FP64, the model wants FP32 [-1,1,32,32] (or BYTES [N] holding PNG/JPEG images)`},
		{"non-image BYTES", url, base64Request([][]byte{[]byte("this is not a picture")}, ""), 400, `input "input": image 0: preprocess: not a PNG or JPEG image`},
		{"bad base64", url, []byte(`{"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","parameters":{"content_type":"base64"},"data":["%%%"]}]}`), 400, "base64"},
		{"decompression bomb", url, base64Request([][]byte{oiptest.BombPNG(t, 20000, 20000)}, ""), 400, "image too large: 20000x20000 pixels declared"},
		{"unknown input", url, []byte(`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`), 400, `input "x": unknown input`},
		{"unknown output", url, base64Request(f.pngs(t, []int{0}), `,"outputs":[{"name":"probs"}]`), 400, `unknown output "probs"`},
		{"body over the limit", url, append(atLimit, ' '), 413, "over the limit"},
		{"unknown model", f.url + "/v2/models/resnet/infer", good, 404, `unknown model "resnet"`},
		{"body at the limit", url, atLimit, 200, ""},
	} {
		status, _, body := oiptest.Post(t, tc.url, nil, tc.body)
		r := decode(t, body)
		if status != tc.status || !strings.Contains(r.Error, tc.msg) {
			t.Errorf("%s: %d %q, want %d with %q", tc.name, status, r.Error, tc.status, tc.msg)
		}
		if status != 200 {
			// the next valid request succeeds
			if status, _, body := oiptest.Post(t, url, nil, good); status != 200 {
				t.Fatalf("after %s: %d %s", tc.name, status, body)
			}
		}
	}
}

// blocking is an Inferer that holds requests until released.
type blocking struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blocking) Infer(ctx context.Context, in ...*nn.Tensor) (*edgeworker.Result, error) {
	b.entered <- struct{}{}
	<-b.release
	return &edgeworker.Result{Outputs: []*nn.Tensor{nn.New(nn.Float32, in[0].Shape[0], 10)}}, nil
}

// TestOverloadAndDrain: beyond MaxInFlight a request gets 503 at once; on
// shutdown the request in flight is answered.
func TestOverloadAndDrain(t *testing.T) {
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	inf := &blocking{entered: make(chan struct{}, 1), release: make(chan struct{})}
	p, err := edgeworker.NewPredictor(inf, g, edgeworker.PredictorConfig{Name: models.DefaultName, MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := oip.New(p, oip.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, nil) }()
	url := "http://" + ln.Addr().String() + "/v2/models/seednet_mnist_pq8/infer"
	body := []byte(`{"inputs":[{"name":"input","shape":[1,1,32,32],"datatype":"FP32","data":[` + strings.Repeat("0,", 1023) + `0]}]}`)
	var wg sync.WaitGroup
	wg.Add(1)
	var firstStatus int
	go func() {
		defer wg.Done()
		firstStatus, _, _ = oiptest.Post(t, url, nil, body)
	}()
	select {
	case <-inf.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request never reached the model")
	}
	status, _, resp := oiptest.Post(t, url, nil, body)
	if r := decode(t, resp); status != 503 || !strings.Contains(r.Error, "too many requests in flight") {
		t.Fatalf("overload: %d %s", status, resp)
	}
	cancel() // SIGTERM: the request in flight must still be answered
	time.Sleep(50 * time.Millisecond)
	close(inf.release)
	wg.Wait()
	if firstStatus != 200 {
		t.Fatalf("request in flight during drain: %d", firstStatus)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url); err == nil {
		t.Fatal("server still answers after draining")
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{&edgeworker.InputError{Input: "x", Msg: "bad"}, 400},
		{edgeworker.ErrOverloaded, 503},
		{edgeworker.ErrNoCloud, 503},
		{context.DeadlineExceeded, 504},
		{oip.ErrTooLarge, 413},
		{errors.New("other"), 500},
	} {
		if got := oip.Status(tc.err); got != tc.want {
			t.Errorf("Status(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestNotReady: without a cloud worker for the model (and no fallback) the
// server is live but not ready, and the model is not ready.
func TestNotReady(t *testing.T) {
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	s := pipetest.StartServer(t)
	ew, err := edgeworker.New(pipetest.Connect(t, s), prog, edgeworker.Config{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := edgeworker.NewPredictor(ew, g, edgeworker.PredictorConfig{Name: models.DefaultName})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := oip.New(p, oip.Config{Ready: ew.Ready})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	for path, want := range map[string]int{"/v2/health/live": 200, "/v2/health/ready": 503, "/v2/models/seednet_mnist_pq8/ready": 503} {
		if status, body := get(t, hs.URL+path); status != want {
			t.Errorf("GET %s = %d %s, want %d", path, status, body, want)
		}
	}
}
