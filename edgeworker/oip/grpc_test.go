package oip_test

import (
	"context"
	"encoding/binary"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/oip"
	pb "github.com/splitinfer/splitinfer/edgeworker/oip/inferencepb"
	"github.com/splitinfer/splitinfer/internal/oiptest"
)

func grpcClient(t *testing.T, f *fixture) (pb.GRPCInferenceServiceClient, *grpc.ClientConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := f.srv.GRPCServer()
	go func() { _ = gs.Serve(ln) }()
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return pb.NewGRPCInferenceServiceClient(cc), cc
}

func TestGRPC(t *testing.T) {
	f := newFixture(t, oip.Config{MaxBodyBytes: 64 << 10}, edgeworker.PredictorConfig{})
	c, cc := grpcClient(t, f)
	ctx := context.Background()
	const model = "seednet_mnist_pq8"

	if r, err := c.ServerLive(ctx, &pb.ServerLiveRequest{}); err != nil || !r.Live {
		t.Fatalf("ServerLive %v %v", r, err)
	}
	if r, err := c.ServerReady(ctx, &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("ServerReady %v %v", r, err)
	}
	if r, err := c.ModelReady(ctx, &pb.ModelReadyRequest{Name: model}); err != nil || !r.Ready {
		t.Fatalf("ModelReady %v %v", r, err)
	}
	if r, err := c.ServerMetadata(ctx, &pb.ServerMetadataRequest{}); err != nil || strings.Join(r.Extensions, ",") != "binary_tensor_data,classification" {
		t.Fatalf("ServerMetadata %v %v", r, err)
	}
	md, err := c.ModelMetadata(ctx, &pb.ModelMetadataRequest{Name: model})
	if err != nil || md.Inputs[0].Name != "input" || md.Inputs[0].Datatype != "FP32" || len(md.Inputs[0].Shape) != 4 || md.Outputs[0].Name != "logits" {
		t.Fatalf("ModelMetadata %v %v", md, err)
	}

	idx := []int{10, 11, 12, 13}
	want := f.want(t, idx)
	imgs := f.pngs(t, idx)
	// Typed BYTES contents, top-1 classes.
	r, err := c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: model, Id: "g1",
		Inputs:  []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "BYTES", Shape: []int64{4}, Contents: &pb.InferTensorContents{BytesContents: imgs}}},
		Outputs: []*pb.ModelInferRequest_InferRequestedOutputTensor{{Name: "logits", Parameters: map[string]*pb.InferParameter{"classification": {ParameterChoice: &pb.InferParameter_Int64Param{Int64Param: 1}}}}}})
	if err != nil || r.Id != "g1" || len(r.Outputs) != 1 || r.Outputs[0].Datatype != "BYTES" {
		t.Fatalf("ModelInfer %v %v", r, err)
	}
	for i, e := range r.Outputs[0].Contents.BytesContents {
		if parts := strings.Split(string(e), ":"); len(parts) != 3 || parts[1] != string(rune('0'+want[i])) {
			t.Errorf("image %d: %q, want class %d", idx[i], e, want[i])
		}
	}
	// Raw contents in, raw logits out.
	var raw []byte
	for _, b := range imgs {
		raw = binary.LittleEndian.AppendUint32(raw, uint32(len(b)))
		raw = append(raw, b...)
	}
	r, err = c.ModelInfer(ctx, &pb.ModelInferRequest{ModelName: model,
		Inputs:           []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "BYTES", Shape: []int64{4, 1}}},
		RawInputContents: [][]byte{raw}})
	if err != nil || len(r.RawOutputContents) != 1 || len(r.RawOutputContents[0]) != 4*10*4 {
		t.Fatalf("raw ModelInfer %v %v", r, err)
	}

	for _, tc := range []struct {
		name string
		req  *pb.ModelInferRequest
		code codes.Code
		msg  string
	}{
		{"unknown model", &pb.ModelInferRequest{ModelName: "resnet"}, codes.NotFound, `unknown model "resnet"`},
		{"wrong datatype", &pb.ModelInferRequest{ModelName: model, Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP64", Shape: []int64{1}, Contents: &pb.InferTensorContents{Fp64Contents: []float64{1}}}}},
			codes.InvalidArgument, `input "input": datatype FP64, the model wants FP32 [-1,1,32,32]`},
		{"data length vs shape", &pb.ModelInferRequest{ModelName: model, Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 1, 32, 32}, Contents: &pb.InferTensorContents{Fp32Contents: []float32{1, 2}}}}},
			codes.InvalidArgument, `input "input": 8 bytes of data, shape [1,1,32,32] of FP32 needs 4096`},
		{"non-image", &pb.ModelInferRequest{ModelName: model, Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "BYTES", Shape: []int64{1}, Contents: &pb.InferTensorContents{BytesContents: [][]byte{[]byte("GIF89a")}}}}},
			codes.InvalidArgument, "not a PNG or JPEG image"},
		{"bomb", &pb.ModelInferRequest{ModelName: model, Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "BYTES", Shape: []int64{1}, Contents: &pb.InferTensorContents{BytesContents: [][]byte{oiptest.BombPNG(t, 20000, 20000)}}}}},
			codes.InvalidArgument, "20000x20000 pixels declared"},
		{"over the limit", &pb.ModelInferRequest{ModelName: model, Inputs: []*pb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "BYTES", Shape: []int64{1}, Contents: &pb.InferTensorContents{BytesContents: [][]byte{make([]byte, 65<<10)}}}}},
			codes.ResourceExhausted, "larger than max"},
	} {
		_, err := c.ModelInfer(ctx, tc.req)
		if st, _ := status.FromError(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.msg) {
			t.Errorf("%s: %v, want %v with %q", tc.name, err, tc.code, tc.msg)
		}
	}

	// Server reflection lists the service.
	rc, err := rpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	lr, err := rc.Recv()
	if err != nil {
		t.Fatal(err)
	}
	_ = rc.CloseSend()
	var names []string
	for _, s := range lr.GetListServicesResponse().GetService() {
		names = append(names, s.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "inference.GRPCInferenceService") {
		t.Fatalf("reflection lists %v", names)
	}
}
