package oip

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/splitinfer/splitinfer/edgeworker"
	pb "github.com/splitinfer/splitinfer/edgeworker/oip/inferencepb"
	"github.com/splitinfer/splitinfer/nn"
)

// GRPCServer returns a gRPC server with the protocol's
// inference.GRPCInferenceService and server reflection registered, its
// messages bounded by Config.MaxBodyBytes.
func (s *Server) GRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{grpc.MaxRecvMsgSize(int(s.cfg.MaxBodyBytes))}, opts...)
	gs := grpc.NewServer(opts...)
	pb.RegisterGRPCInferenceServiceServer(gs, &grpcService{s: s})
	reflection.Register(gs)
	return gs
}

type grpcService struct {
	pb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

// grpcError turns an error into a gRPC status by its HTTP status.
func grpcError(err error) error {
	code := codes.Internal
	switch Status(err) {
	case http.StatusBadRequest:
		code = codes.InvalidArgument
	case http.StatusNotFound:
		code = codes.NotFound
	case http.StatusRequestEntityTooLarge:
		code = codes.ResourceExhausted
	case http.StatusServiceUnavailable:
		code = codes.Unavailable
	case http.StatusGatewayTimeout:
		code = codes.DeadlineExceeded
	}
	return status.Error(code, err.Error())
}

func (g *grpcService) ServerLive(context.Context, *pb.ServerLiveRequest) (*pb.ServerLiveResponse, error) {
	return &pb.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(ctx context.Context, _ *pb.ServerReadyRequest) (*pb.ServerReadyResponse, error) {
	return &pb.ServerReadyResponse{Ready: g.s.ready(ctx) == nil}, nil
}

func (g *grpcService) ModelReady(ctx context.Context, req *pb.ModelReadyRequest) (*pb.ModelReadyResponse, error) {
	if err := g.s.model(req.GetName(), req.GetVersion()); err != nil {
		return nil, grpcError(err)
	}
	return &pb.ModelReadyResponse{Ready: g.s.ready(ctx) == nil}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *pb.ServerMetadataRequest) (*pb.ServerMetadataResponse, error) {
	return &pb.ServerMetadataResponse{Name: g.s.cfg.Name, Version: g.s.cfg.Version, Extensions: Extensions}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, req *pb.ModelMetadataRequest) (*pb.ModelMetadataResponse, error) {
	if err := g.s.model(req.GetName(), req.GetVersion()); err != nil {
		return nil, grpcError(err)
	}
	m := g.s.metadata()
	out := &pb.ModelMetadataResponse{Name: m.Name, Versions: m.Versions, Platform: m.Platform}
	for _, t := range m.Inputs {
		out.Inputs = append(out.Inputs, &pb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	for _, t := range m.Outputs {
		out.Outputs = append(out.Outputs, &pb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape})
	}
	return out, nil
}

func (g *grpcService) ModelInfer(ctx context.Context, req *pb.ModelInferRequest) (*pb.ModelInferResponse, error) {
	if err := g.s.model(req.GetModelName(), req.GetModelVersion()); err != nil {
		return nil, grpcError(err)
	}
	preq, err := g.decode(req)
	if err != nil {
		return nil, grpcError(err)
	}
	resp, err := g.s.p.Predict(ctx, preq)
	if err != nil {
		return nil, grpcError(err)
	}
	info := g.s.p.Model()
	out := &pb.ModelInferResponse{ModelName: info.Name, ModelVersion: info.Version, Id: resp.ID}
	raw := len(req.GetRawInputContents()) > 0 // answer in the form the request used
	for _, o := range resp.Outputs {
		ot := &pb.ModelInferResponse_InferOutputTensor{Name: o.Name}
		if o.Classes != nil {
			ot.Datatype = "BYTES"
			ot.Shape = []int64{int64(len(o.Classes)), 0}
			if len(o.Classes) > 0 {
				ot.Shape[1] = int64(len(o.Classes[0]))
			}
			elems := classStrings(o.Classes)
			if raw {
				out.RawOutputContents = append(out.RawOutputContents, lengthPrefixed(elems))
			} else {
				ot.Contents = &pb.InferTensorContents{BytesContents: elems}
			}
		} else {
			t := o.Tensor
			ot.Datatype, ot.Shape = Datatype(t.DType), int64s(t.Shape)
			if raw {
				out.RawOutputContents = append(out.RawOutputContents, t.Bytes())
			} else {
				ot.Contents = typedContents(t)
			}
		}
		out.Outputs = append(out.Outputs, ot)
	}
	return out, nil
}

// decode turns a ModelInferRequest into a PredictRequest.
func (g *grpcService) decode(req *pb.ModelInferRequest) (*edgeworker.PredictRequest, error) {
	ins := req.GetInputs()
	if len(ins) == 0 {
		return nil, fmt.Errorf("%w: no inputs", ErrMalformed)
	}
	raw := req.GetRawInputContents()
	if len(raw) > 0 && len(raw) != len(ins) {
		return nil, fmt.Errorf("%w: %d raw_input_contents for %d inputs", ErrMalformed, len(raw), len(ins))
	}
	preq := &edgeworker.PredictRequest{ID: req.GetId()}
	for i, in := range ins {
		wi := &wireInput{name: in.GetName(), datatype: in.GetDatatype(), shape: in.GetShape(),
			base64: in.GetParameters()["content_type"].GetStringParam() == "base64"}
		switch {
		case len(raw) > 0:
			wi.raw, wi.hasRaw = raw[i], true
			if wi.datatype == "BYTES" {
				wi.base64 = false
			}
		case in.GetContents() == nil:
			return nil, fmt.Errorf("%w: input %q: no contents and no raw_input_contents", ErrMalformed, wi.name)
		default:
			if err := typedInput(wi, in.GetContents()); err != nil {
				return nil, err
			}
		}
		input, err := toInput(g.s.p, wi)
		if err != nil {
			return nil, err
		}
		preq.Inputs = append(preq.Inputs, input)
	}
	reqK := req.GetParameters()["classification"].GetInt64Param()
	outs := req.GetOutputs()
	if len(outs) == 0 && reqK > 0 {
		for _, o := range g.s.p.Model().Outputs {
			outs = append(outs, &pb.ModelInferRequest_InferRequestedOutputTensor{Name: o.Name})
		}
	}
	for _, o := range outs {
		k := o.GetParameters()["classification"].GetInt64Param()
		if k == 0 {
			k = reqK
		}
		if k < 0 || k > 1<<20 {
			return nil, fmt.Errorf("%w: output %q: classification %d out of range", ErrMalformed, o.GetName(), k)
		}
		preq.Outputs = append(preq.Outputs, edgeworker.OutputRequest{Name: o.GetName(), Classes: int(k)})
	}
	return preq, nil
}

// typedInput sets wi's data from typed contents, by its datatype; an
// unsupported datatype is left for toInput to refuse by name.
func typedInput(wi *wireInput, c *pb.InferTensorContents) error {
	var b []byte
	switch wi.datatype {
	case "BYTES":
		wi.elems = c.GetBytesContents()
		if wi.elems == nil {
			wi.elems = [][]byte{}
		}
		return nil
	case "FP32":
		for _, v := range c.GetFp32Contents() {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	case "INT8":
		for _, v := range c.GetIntContents() {
			if v < math.MinInt8 || v > math.MaxInt8 {
				return badInput(wi.name, "%d is not an INT8", v)
			}
			b = append(b, byte(int8(v)))
		}
	case "UINT8":
		for _, v := range c.GetUintContents() {
			if v > math.MaxUint8 {
				return badInput(wi.name, "%d is not a UINT8", v)
			}
			b = append(b, byte(v))
		}
	case "INT32":
		for _, v := range c.GetIntContents() {
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		}
	case "INT64":
		for _, v := range c.GetInt64Contents() {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	wi.raw, wi.hasRaw = b, true
	return nil
}

// typedContents holds a tensor's values in the contents field of its type.
func typedContents(t *nn.Tensor) *pb.InferTensorContents {
	c := &pb.InferTensorContents{}
	switch t.DType {
	case nn.Float32:
		c.Fp32Contents = t.F32
	case nn.Int8:
		for _, v := range t.I8 {
			c.IntContents = append(c.IntContents, int32(v))
		}
	case nn.Uint8:
		for _, v := range t.U8 {
			c.UintContents = append(c.UintContents, uint32(v))
		}
	case nn.Int32:
		c.IntContents = t.I32
	case nn.Int64:
		c.Int64Contents = t.I64
	}
	return c
}
