package oip_test

import (
	"bytes"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/oip"
	"github.com/splitinfer/splitinfer/internal/oiptest"
	"github.com/splitinfer/splitinfer/models"
)

// FuzzInfer feeds arbitrary bodies (and binary-extension header lengths)
// to the infer endpoint: every answer is 200 or a protocol error with a
// JSON body, never a panic.
func FuzzInfer(f *testing.F) {
	g, err := models.Default()
	if err != nil {
		f.Fatal(err)
	}
	p, err := edgeworker.NewPredictor(instant{}, g, edgeworker.PredictorConfig{Name: models.DefaultName, MaxBatch: 4})
	if err != nil {
		f.Fatal(err)
	}
	srv, err := oip.New(p, oip.Config{MaxBodyBytes: 1 << 20})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	f.Add([]byte(`{"inputs":[{"name":"input","shape":[1,1,2,2],"datatype":"FP32","data":[[1,2],[3,4]]}]}`), -1)
	f.Add(base64Request([][]byte{oiptest.BombPNG(f, 3, 3)}, `,"outputs":[{"name":"logits","parameters":{"classification":3}}]`), -1)
	f.Add([]byte(`{"inputs":[{"name":"input","shape":[2,1],"datatype":"BYTES","parameters":{"binary_data_size":9}}]}`+"\x01\x00\x00\x00a\x00\x00\x00\x00"), 91)
	f.Add([]byte(`{"inputs":[{"name":"input","shape":[1,1,32,32],"datatype":"UINT8","data":[-1e999]}]}`), -1)
	f.Fuzz(func(t *testing.T, body []byte, hdrLen int) {
		req := httptest.NewRequest("POST", "/v2/models/seednet_mnist_pq8/infer", bytes.NewReader(body))
		if hdrLen >= 0 {
			req.Header.Set(oip.HeaderInferenceLength, strconv.Itoa(hdrLen))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		switch w.Code {
		case 200:
		case 400, 413:
			if !bytes.HasPrefix(w.Body.Bytes(), []byte(`{"error":`)) {
				t.Fatalf("%d without an error body: %s", w.Code, w.Body)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
