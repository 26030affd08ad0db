package oip_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/oip"
	"github.com/splitinfer/splitinfer/internal/oiptest"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/preprocess"
)

// BenchmarkEndpoint compares, in one run on one machine, one MNIST image
// per request through the split three ways, with 1 and 8 concurrent
// clients: "direct" is what `edge --n` does (edgeworker.Worker.Infer on
// the preprocessed tensor), "http-json" posts the 28x28 PNG as base64 JSON
// to the Open Inference Protocol endpoint, "http-binary" posts it raw with
// the binary extension and gets binary logits back. It reports requests/s
// and the p50/p99 latency. Loopback NATS, an in-process cloud worker.
//
//	go test ./edgeworker/oip -run '^$' -bench Endpoint -benchtime 2000x
func BenchmarkEndpoint(b *testing.B) {
	f := newFixture(b, oip.Config{}, edgeworker.PredictorConfig{})
	const images = 1000
	idx := make([]int, images)
	for i := range idx {
		idx[i] = i
	}
	pngs := f.pngs(b, idx)
	url := f.url + "/v2/models/seednet_mnist_pq8/infer"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	kinds := map[string]func(i int) error{
		"direct": func(i int) error {
			x, err := nn.FromFloat32(f.set.Image(i), 1, 1, 32, 32)
			if err == nil {
				_, err = f.edge.Infer(context.Background(), x)
			}
			return err
		},
		"http-json": func(i int) error {
			return postOK(client, url, nil, base64Request(pngs[i:i+1], ""))
		},
		"http-binary": func(i int) error {
			raw := binary.LittleEndian.AppendUint32(nil, uint32(len(pngs[i])))
			raw = append(raw, pngs[i]...)
			hdr := fmt.Sprintf(`{"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":%d}}],"parameters":{"binary_data_output":true}}`, len(raw))
			return postOK(client, url, map[string]string{oip.HeaderInferenceLength: strconv.Itoa(len(hdr))}, append([]byte(hdr), raw...))
		},
	}
	for _, clients := range []int{1, 8} {
		for _, kind := range []string{"direct", "http-json", "http-binary"} {
			b.Run(fmt.Sprintf("%s/clients=%d", kind, clients), func(b *testing.B) {
				do := kinds[kind]
				lat := make([]time.Duration, b.N)
				var next atomic.Int64
				var wg sync.WaitGroup
				var failed atomic.Int64
				b.ResetTimer()
				start := time.Now()
				for c := 0; c < clients; c++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := int(next.Add(1)) - 1
							if i >= b.N {
								return
							}
							t0 := time.Now()
							if err := do(i % images); err != nil {
								failed.Add(1)
							}
							lat[i] = time.Since(t0)
						}
					}()
				}
				wg.Wait()
				el := time.Since(start)
				b.StopTimer()
				if failed.Load() > 0 {
					b.Fatalf("%d requests failed", failed.Load())
				}
				sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
				b.ReportMetric(float64(b.N)/el.Seconds(), "req/s")
				b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50_ms")
				b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99_ms")
			})
		}
	}
}

func postOK(c *http.Client, url string, hdr map[string]string, body []byte) error {
	status, _, resp, err := oiptest.PostWith(c, url, hdr, body)
	if err != nil {
		return err
	}
	if status != 200 {
		return fmt.Errorf("%d %s", status, resp)
	}
	return nil
}

// BenchmarkPreprocess is the endpoint's own work per MNIST image: decoding
// the 28x28 PNG and preprocessing it into the 1x1x32x32 tensor.
func BenchmarkPreprocess(b *testing.B) {
	f := newFixture(b, oip.Config{}, edgeworker.PredictorConfig{})
	img := f.pngs(b, []int{0})
	spec, err := preprocess.Parse(preprocess.MNIST)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := spec.Batch(img, preprocess.Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

// instant is an Inferer that answers at once with zero logits: what the
// endpoint costs on its own, without the model or the split.
type instant struct{}

func (instant) Infer(_ context.Context, in ...*nn.Tensor) (*edgeworker.Result, error) {
	return &edgeworker.Result{Outputs: []*nn.Tensor{nn.New(nn.Float32, in[0].Shape[0], 10)}}, nil
}

// BenchmarkHandler is the endpoint's own cost per request, in process
// (no sockets, no model): parsing the request, decoding and preprocessing
// the PNG (or taking the FP32 tensor), writing the response.
//
//	go test ./edgeworker/oip -run '^$' -bench Handler
func BenchmarkHandler(b *testing.B) {
	f := newFixture(b, oip.Config{}, edgeworker.PredictorConfig{})
	g, err := models.Default()
	if err != nil {
		b.Fatal(err)
	}
	p, err := edgeworker.NewPredictor(instant{}, g, edgeworker.PredictorConfig{Name: models.DefaultName})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := oip.New(p, oip.Config{})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	png := f.pngs(b, []int{0})
	raw := binary.LittleEndian.AppendUint32(nil, uint32(len(png[0])))
	raw = append(raw, png[0]...)
	bin := fmt.Sprintf(`{"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":%d}}],"parameters":{"binary_data_output":true}}`, len(raw))
	vals, _ := json.Marshal(f.set.Image(0))
	for _, tc := range []struct {
		name string
		body []byte
		hdr  string
	}{
		{"png-json-base64", base64Request(png, ""), ""},
		{"png-binary", append([]byte(bin), raw...), strconv.Itoa(len(bin))},
		{"fp32-json", []byte(`{"inputs":[{"name":"input","shape":[1,1,32,32],"datatype":"FP32","data":` + string(vals) + `}]}`), ""},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest("POST", "/v2/models/seednet_mnist_pq8/infer", bytes.NewReader(tc.body))
				if tc.hdr != "" {
					req.Header.Set(oip.HeaderInferenceLength, tc.hdr)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
