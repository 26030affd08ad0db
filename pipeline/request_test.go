package pipeline

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/nn"
)

// TestRequestEncoder: Encode sorts the tensors into the cut id's order,
// quantizes float32 only for an 8-bit wire, and Size is the encoded length.
func TestRequestEncoder(t *testing.T) {
	a, _ := nn.FromFloat32([]float32{1, -2, 3}, 1, 3)
	b, _ := nn.FromFloat32([]float32{0.5}, 1, 1)
	names, ts := []string{"b", "a"}, []*nn.Tensor{b, a}
	for _, wire := range []nn.DType{nn.Undefined, nn.Float32, nn.Uint8, nn.Int8} {
		e := RequestEncoder{Model: "h", Codec: CodecZstd, Wire: wire}
		enc, err := e.Encode(NewRequestID(), names, ts, time.Now().Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if enc.Cut != "a,b" || enc.Elements != 4 || enc.RawBytes != 16 {
			t.Fatalf("wire %v: cut %q, %d elements, %d raw bytes", wire, enc.Cut, enc.Elements, enc.RawBytes)
		}
		req, err := DecodeRequest(enc.Body, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if req.Cut != "a,b" || req.Tensors[0].Name != "a" || req.Tensors[1].Name != "b" || len(req.ID) != 22 {
			t.Fatalf("wire %v: request %+v", wire, req)
		}
		want := "float32"
		if wire == nn.Uint8 || wire == nn.Int8 {
			want = wire.String()
		}
		if req.Tensors[0].DType != want {
			t.Errorf("wire %v: dtype %s, want %s", wire, req.Tensors[0].DType, want)
		}
		n, err := e.Size(names, ts)
		if err != nil || n != len(enc.Body) {
			t.Errorf("wire %v: Size %d (%v), sent %d", wire, n, err, len(enc.Body))
		}
	}
	// a tensor the wire cannot carry: Encode rejects it, Size counts its raw bytes and name
	i64 := &nn.Tensor{DType: nn.Int64, Shape: []int{2}, I64: []int64{1, 2}}
	if _, err := (RequestEncoder{}).Encode("x", []string{"s"}, []*nn.Tensor{i64}, time.Time{}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("int64 tensor: %v, want ErrBadRequest", err)
	}
	n0, _ := RequestEncoder{}.Size(nil, nil)
	n1, err := RequestEncoder{}.Size([]string{"s"}, []*nn.Tensor{i64})
	if want := n0 + 1 + 1 + 16; err != nil || n1 != want { // the cut id's byte, the name, the data
		t.Errorf("Size with an int64 tensor: %d (%v), want %d", n1, err, want)
	}
}

// TestReadReply: header codes, body codes, undecodable bodies and foreign
// ids each give their typed error; a good reply its outputs by name.
func TestReadReply(t *testing.T) {
	y, _ := nn.FromFloat32([]float32{1, 2}, 1, 2)
	wy, _ := FromNN("y", y)
	good, _ := EncodeReply(&Reply{Version: Version, ID: "r1", Outputs: []Tensor{wy}})
	coded, _ := EncodeReply(&Reply{Version: Version, ID: "r1", Code: CodeModelMismatch, Message: "other model"})
	for _, tc := range []struct {
		name  string
		msg   *nats.Msg
		want  error
		retry bool
	}{
		{"header 503", &nats.Msg{Header: ErrorHeaders(Errorf(CodeQueueFull, "full"))}, ErrQueueFull, true},
		{"body 409", &nats.Msg{Data: coded}, ErrModelMismatch, false},
		{"garbage", &nats.Msg{Data: []byte{0xc1}}, ErrBadReply, true},
		{"other id", &nats.Msg{Data: good}, ErrInternal, true},
	} {
		id := "r1"
		if tc.name == "other id" {
			id = "r2"
		}
		_, err := ReadReply(tc.msg, id, Limits{})
		if !errors.Is(err, tc.want) || Retryable(err) != tc.retry {
			t.Errorf("%s: %v (retryable %v), want %v (retryable %v)", tc.name, err, Retryable(err), tc.want, tc.retry)
		}
	}
	r, err := ReadReply(&nats.Msg{Data: good}, "r1", Limits{})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := r.OutputTensors([]string{"y"})
	if err != nil || len(outs) != 1 || outs[0].F32[1] != 2 {
		t.Fatalf("outputs %v, %v", outs, err)
	}
	if _, err := r.OutputTensors([]string{"z"}); !errors.Is(err, ErrInternal) {
		t.Errorf("missing output: %v", err)
	}
}
