package oip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
)

// HeaderInferenceLength is the binary tensor data extension's header: the
// length of the JSON part of a body, binary tensor data following it.
const HeaderInferenceLength = "Inference-Header-Content-Length"

// JSON shapes of the protocol.
type (
	tensorMeta struct {
		Name     string  `json:"name"`
		Datatype string  `json:"datatype"`
		Shape    []int64 `json:"shape"`
	}
	modelMeta struct {
		Name     string       `json:"name"`
		Versions []string     `json:"versions,omitempty"`
		Platform string       `json:"platform"`
		Inputs   []tensorMeta `json:"inputs"`
		Outputs  []tensorMeta `json:"outputs"`
	}
	serverMeta struct {
		Name       string   `json:"name"`
		Version    string   `json:"version"`
		Extensions []string `json:"extensions"`
	}
	inferInput struct {
		Name       string          `json:"name"`
		Shape      []int64         `json:"shape"`
		Datatype   string          `json:"datatype"`
		Parameters parameters      `json:"parameters,omitempty"`
		Data       json.RawMessage `json:"data,omitempty"`
	}
	inferOutputReq struct {
		Name       string     `json:"name"`
		Parameters parameters `json:"parameters,omitempty"`
	}
	inferRequest struct {
		ID         string           `json:"id,omitempty"`
		Parameters parameters       `json:"parameters,omitempty"`
		Inputs     []inferInput     `json:"inputs"`
		Outputs    []inferOutputReq `json:"outputs,omitempty"`
	}
	inferOutput struct {
		Name       string         `json:"name"`
		Shape      []int64        `json:"shape"`
		Datatype   string         `json:"datatype"`
		Parameters map[string]any `json:"parameters,omitempty"`
		Data       any            `json:"data,omitempty"`
	}
	inferResponse struct {
		ModelName    string         `json:"model_name"`
		ModelVersion string         `json:"model_version,omitempty"`
		ID           string         `json:"id,omitempty"`
		Parameters   map[string]any `json:"parameters,omitempty"`
		Outputs      []inferOutput  `json:"outputs"`
	}
	parameters map[string]json.RawMessage
)

// Int reads an integer parameter (0 when absent).
func (p parameters) int(key string) (int64, error) {
	raw, ok := p[key]
	if !ok {
		return 0, nil
	}
	var v int64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("%w: parameter %q: want an integer, got %s", ErrMalformed, key, raw)
	}
	return v, nil
}

func (p parameters) bool(key string) bool {
	var v bool
	return json.Unmarshal(p[key], &v) == nil && v
}

func (p parameters) string(key string) string {
	var v string
	if json.Unmarshal(p[key], &v) != nil {
		return ""
	}
	return v
}

// Handler serves the protocol's HTTP/REST endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/health/live", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux.HandleFunc("GET /v2/health/ready", func(w http.ResponseWriter, r *http.Request) {
		if err := s.ready(r.Context()); err != nil {
			writeError(w, http.StatusServiceUnavailable, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /v2", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, serverMeta{Name: s.cfg.Name, Version: s.cfg.Version, Extensions: Extensions})
	})
	for _, prefix := range []string{"/v2/models/{model}", "/v2/models/{model}/versions/{version}"} {
		mux.HandleFunc("GET "+prefix, s.modelMetadata)
		mux.HandleFunc("GET "+prefix+"/ready", s.modelReady)
		mux.HandleFunc("POST "+prefix+"/infer", s.infer)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no endpoint %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	if err := s.model(r.PathValue("model"), r.PathValue("version")); err != nil {
		writeError(w, Status(err), err)
		return
	}
	writeJSON(w, http.StatusOK, s.metadata())
}

func (s *Server) metadata() modelMeta {
	info := s.p.Model()
	m := modelMeta{Name: info.Name, Versions: []string{info.Version}, Platform: "splitinfer"}
	for _, v := range info.Inputs {
		m.Inputs = append(m.Inputs, tensorMeta{Name: v.Name, Datatype: Datatype(v.Type.DType), Shape: int64s(v.Type.Shape)})
	}
	for _, v := range info.Outputs {
		m.Outputs = append(m.Outputs, tensorMeta{Name: v.Name, Datatype: Datatype(v.Type.DType), Shape: int64s(v.Type.Shape)})
	}
	return m
}

func int64s(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	if err := s.model(r.PathValue("model"), r.PathValue("version")); err != nil {
		writeError(w, Status(err), err)
		return
	}
	if err := s.ready(r.Context()); err != nil {
		writeError(w, http.StatusServiceUnavailable, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	if err := s.model(r.PathValue("model"), r.PathValue("version")); err != nil {
		writeError(w, Status(err), err)
		return
	}
	body, err := s.readBody(w, r)
	if err != nil {
		writeError(w, Status(err), err)
		return
	}
	req, binaryOut, err := s.decodeHTTP(r.Header.Get(HeaderInferenceLength), body)
	if err != nil {
		writeError(w, Status(err), err)
		return
	}
	resp, err := s.p.Predict(r.Context(), req)
	if err != nil {
		writeError(w, Status(err), err)
		return
	}
	s.writeInferResponse(w, resp, binaryOut)
}

// readBody reads at most MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, r.ContentLength, s.cfg.MaxBodyBytes)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, s.cfg.MaxBodyBytes)
		}
		return nil, fmt.Errorf("%w: reading the body: %v", ErrMalformed, err)
	}
	return body, nil
}

// decodeHTTP parses an infer request body (JSON, then binary tensor data
// when headerLen is set) into a PredictRequest; binaryOut lists the outputs
// to send as binary data.
func (s *Server) decodeHTTP(headerLen string, body []byte) (*edgeworker.PredictRequest, map[string]bool, error) {
	jsonPart, bin := body, []byte(nil)
	if headerLen != "" {
		n, err := strconv.Atoi(headerLen)
		if err != nil || n < 0 || n > len(body) {
			return nil, nil, fmt.Errorf("%w: %s %q for a body of %d bytes", ErrMalformed, HeaderInferenceLength, headerLen, len(body))
		}
		jsonPart, bin = body[:n], body[n:]
	}
	var ir inferRequest
	dec := json.NewDecoder(bytes.NewReader(jsonPart))
	if err := dec.Decode(&ir); err != nil {
		return nil, nil, fmt.Errorf("%w: malformed JSON: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, nil, fmt.Errorf("%w: malformed JSON: data after the request object", ErrMalformed)
	}
	if len(ir.Inputs) == 0 {
		return nil, nil, fmt.Errorf("%w: no inputs", ErrMalformed)
	}
	req := &edgeworker.PredictRequest{ID: ir.ID}
	for i := range ir.Inputs {
		in := &ir.Inputs[i]
		wi := &wireInput{name: in.Name, datatype: in.Datatype, shape: in.Shape, json: in.Data,
			base64: in.Parameters.string("content_type") == "base64"}
		size, err := in.Parameters.int("binary_data_size")
		if err != nil {
			return nil, nil, err
		}
		if _, ok := in.Parameters["binary_data_size"]; ok {
			if size < 0 || size > int64(len(bin)) {
				return nil, nil, fmt.Errorf("%w: input %q: binary_data_size %d, %d binary bytes left", ErrMalformed, in.Name, size, len(bin))
			}
			wi.raw, wi.hasRaw, bin = bin[:size], true, bin[size:]
			if wi.datatype == "BYTES" {
				wi.base64 = false // raw bytes: the binary extension is the encoding
			}
		} else if in.Data == nil {
			return nil, nil, fmt.Errorf("%w: input %q: no data and no binary_data_size", ErrMalformed, in.Name)
		}
		if in.Shape == nil {
			return nil, nil, fmt.Errorf("%w: input %q: no shape", ErrMalformed, in.Name)
		}
		input, err := toInput(s.p, wi)
		if err != nil {
			return nil, nil, err
		}
		req.Inputs = append(req.Inputs, input)
	}
	if len(bin) != 0 {
		return nil, nil, fmt.Errorf("%w: %d binary bytes not claimed by any input's binary_data_size", ErrMalformed, len(bin))
	}
	allBinary := ir.Parameters.bool("binary_data_output")
	reqK, err := ir.Parameters.int("classification")
	if err != nil {
		return nil, nil, err
	}
	binaryOut := map[string]bool{}
	outs := ir.Outputs
	if len(outs) == 0 && (allBinary || reqK > 0) {
		for _, o := range s.p.Model().Outputs {
			outs = append(outs, inferOutputReq{Name: o.Name})
		}
	}
	for _, o := range outs {
		k, err := o.Parameters.int("classification")
		if err != nil {
			return nil, nil, err
		}
		if k == 0 {
			k = reqK
		}
		if k < 0 || k > 1<<20 {
			return nil, nil, fmt.Errorf("%w: output %q: classification %d out of range", ErrMalformed, o.Name, k)
		}
		req.Outputs = append(req.Outputs, edgeworker.OutputRequest{Name: o.Name, Classes: int(k)})
		if allBinary || o.Parameters.bool("binary_data") {
			binaryOut[o.Name] = true
		}
	}
	return req, binaryOut, nil
}

func (s *Server) writeInferResponse(w http.ResponseWriter, resp *edgeworker.PredictResponse, binaryOut map[string]bool) {
	info := s.p.Model()
	out := inferResponse{ModelName: info.Name, ModelVersion: info.Version, ID: resp.ID, Outputs: make([]inferOutput, 0, len(resp.Outputs))}
	var bin [][]byte
	for _, o := range resp.Outputs {
		io := inferOutput{Name: o.Name}
		var raw []byte
		if o.Classes != nil {
			io.Datatype = "BYTES"
			io.Shape = []int64{int64(len(o.Classes)), 0}
			if len(o.Classes) > 0 {
				io.Shape[1] = int64(len(o.Classes[0]))
			}
			elems := classStrings(o.Classes)
			if binaryOut[o.Name] {
				raw = lengthPrefixed(elems)
			} else {
				strs := make([]string, len(elems))
				for i, e := range elems {
					strs[i] = string(e)
				}
				io.Data = strs
			}
		} else {
			t := o.Tensor
			io.Datatype = Datatype(t.DType)
			io.Shape = int64s(t.Shape)
			if binaryOut[o.Name] {
				raw = t.Bytes()
			} else {
				io.Data = tensorData(t)
			}
		}
		if raw != nil {
			io.Parameters = map[string]any{"binary_data_size": len(raw)}
			bin = append(bin, raw)
		}
		out.Outputs = append(out.Outputs, io)
	}
	js, err := json.Marshal(out)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	if len(bin) == 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(js)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(HeaderInferenceLength, strconv.Itoa(len(js)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(js)
	for _, b := range bin {
		_, _ = w.Write(b)
	}
}

// tensorData is a tensor's values as a flat JSON array.
func tensorData(t *nn.Tensor) any {
	switch t.DType {
	case nn.Float32:
		return t.F32
	case nn.Int8:
		v := make([]int, len(t.I8))
		for i, x := range t.I8 {
			v[i] = int(x)
		}
		return v
	case nn.Uint8:
		v := make([]int, len(t.U8))
		for i, x := range t.U8 {
			v[i] = int(x)
		}
		return v
	case nn.Int32:
		return t.I32
	case nn.Int64:
		return t.I64
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes the protocol's error body.
func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
