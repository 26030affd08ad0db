package adaptive

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/pipetest"
)

// startCloud starts an in-process nats-server and a cloud worker serving
// whole; it returns a connection for the edge.
func startCloud(t *testing.T, whole *nn.Program) *nats.Conn {
	t.Helper()
	srv := pipetest.StartServerMax(t, 4<<20)
	cloudNC, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cloudNC.Close)
	cw, err := cloudworker.New(cloudNC, []cloudworker.Model{{Name: "m", Program: whole}}, cloudworker.Config{Workers: 1, ProfileRuns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cw.Stop() })
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func loadModel(t *testing.T, name string) (*nn.Graph, *nn.Program, *nn.Tensor) {
	t.Helper()
	g, err := onnx.Load(testref.Path(t, name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	in, err := onnx.ReadTensor(testref.Path(t, name, "test_data_set_0", "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	return g, whole, &nn.Tensor{DType: nn.Float32, Shape: []int{1, 1, 32, 32}, F32: in.F32[:1024]}
}

// TestSizesAreWireBytes: for every cut (single and multi-tensor) of the
// pipetest model and of tinyresnet (when the references are present), the
// size MeasureSizes reports with WireSize equals the bytes the edge worker
// split there actually sends for the same input, with and without wire
// quantization and zstd.
func TestSizesAreWireBytes(t *testing.T) {
	t.Run("pipetest", func(t *testing.T) {
		whole, err := pipetest.Program()
		if err != nil {
			t.Fatal(err)
		}
		checkSizesAreWireBytes(t, pipetest.Model(), whole, pipetest.Input(1, 3))
	})
	t.Run("tinyresnet", func(t *testing.T) {
		g, whole, x := loadModel(t, "tinyresnet_mnist")
		checkSizesAreWireBytes(t, g, whole, x)
	})
}

func checkSizesAreWireBytes(t *testing.T, g *nn.Graph, whole *nn.Program, x *nn.Tensor) {
	nc := startCloud(t, whole)
	d, err := partition.NewDAG(g)
	if err != nil {
		t.Fatal(err)
	}
	var cuts []partition.Cut
	multi := 0
	for _, c := range d.Prefixes(false) {
		if c.IsEdgeOnly() {
			continue
		}
		if len(c.Tensors) > 1 {
			multi++
		}
		cuts = append(cuts, c)
	}
	if multi == 0 {
		t.Fatal("no multi-tensor cut to test")
	}
	hash := pipeline.ModelHash(g)
	for _, tc := range []struct {
		codec pipeline.Codec
		wire  nn.DType
	}{{pipeline.CodecNone, nn.Undefined}, {pipeline.CodecZstd, nn.Uint8}, {pipeline.CodecNone, nn.Int8}} {
		sizes, err := measure.Sizes(d, whole, [][]*nn.Tensor{{x}}, WireSize(hash, tc.codec, tc.wire), cuts, measure.WithRuns(1))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cuts {
			w, err := edgeworker.New(nc, whole, edgeworker.Config{Cut: c.Tensors, Codec: tc.codec, WireDType: tc.wire, Concurrency: 1})
			if err != nil {
				t.Fatal(err)
			}
			res, err := w.Infer(context.Background(), x)
			if err != nil {
				t.Fatalf("cut %s: %v", c.Name, err)
			}
			if got := sizes.Cuts[c.Name]; got != res.WireBytes || got == 0 {
				t.Errorf("codec %s wire %v cut %s: MeasureSizes %d bytes, the edge sent %d", tc.codec, tc.wire, c.Name, got, res.WireBytes)
			}
		}
	}
}

// TestBuildModel: the cost model takes the cloud worker's profile (every
// node), measures the edge, scales it by the slowdown, and its best cut on a
// fast link with no round trip beats edge-only.
func TestBuildModel(t *testing.T) {
	_, whole, x := loadModel(t, "seednet_mnist")
	nc := startCloud(t, whole)
	ctx := context.Background()
	m, notes, err := BuildModel(ctx, nc, whole, edgeworker.Config{}, Setup{Samples: [][]*nn.Tensor{{x}}, Runs: 2, Slowdown: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Cloud.NodesMS) != len(whole.Graph().Nodes) || m.Cloud.Runs != 1 {
		t.Fatalf("cloud profile %+v", m.Cloud)
	}
	if m.Edge.Scale != 100 || m.MaxBytes != int(nc.MaxPayload()) {
		t.Fatalf("edge scale %v, max bytes %d", m.Edge.Scale, m.MaxBytes)
	}
	if len(notes) < 3 || !strings.Contains(strings.Join(notes, "\n"), "fetched") {
		t.Fatalf("notes %q", notes)
	}
	l, err := MeasureLink(ctx, nc, pipeline.DefaultSubject, 3, 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	if l.RTT <= 0 || !(l.Bandwidth > 0) {
		t.Fatalf("link %+v", l)
	}
	best, err := m.Best(partition.Link{Bandwidth: 1e9, RTT: 0})
	if err != nil {
		t.Fatal(err)
	}
	if best.Cut.IsEdgeOnly() {
		t.Fatalf("best on a 8 Gbit/s link with a 100x slower edge is edge-only: %+v", best)
	}
}

// TestFetchProfileBounds: a profile that is too big, not JSON, with unknown
// fields or nodes the graph lacks is refused with ErrNoProfile.
func TestFetchProfileBounds(t *testing.T) {
	g, whole, _ := loadModel(t, "seednet_mnist")
	nc := startCloud(t, whole)
	d, err := partition.NewDAG(g)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := FetchProfile(ctx, nc, pipeline.DefaultSubject, pipeline.ModelHash(g), d); err != nil {
		t.Fatalf("the worker's own profile: %v", err)
	}
	for _, tc := range []struct{ name, body string }{
		{"too big", `{"nodes_ms":{}, "model":"` + strings.Repeat("x", MaxProfileBytes) + `"}`},
		{"not JSON", `nodes`},
		{"unknown field", `{"nodes_ms":{},"evil":1}`},
		{"unknown node", `{"nodes_ms":{"nope":1}}`},
		{"negative", `{"nodes_ms":{"` + g.Nodes[0].Name + `":-1}}`},
		{"no nodes", `{}`},
	} {
		subj := "fake." + strings.ReplaceAll(tc.name, " ", "_")
		sub, err := nc.Subscribe(pipeline.ProfileSubject(subj), func(m *nats.Msg) { m.Respond([]byte(tc.body)) })
		if err != nil {
			t.Fatal(err)
		}
		_, err = FetchProfile(ctx, nc, subj, "", d)
		sub.Unsubscribe()
		if err == nil || !strings.Contains(err.Error(), ErrNoProfile.Error()) {
			t.Errorf("%s: err %v", tc.name, err)
		}
	}
	if _, err := FetchProfile(ctx, nc, pipeline.DefaultSubject, "unknown-hash", d); err == nil {
		t.Error("profile of a model not served")
	}
}
