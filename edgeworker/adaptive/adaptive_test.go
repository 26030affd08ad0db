package adaptive

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/pipeline/pipetest"
	"go.uber.org/goleak"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline/link"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLinkDrop runs tinyresnet through the adaptive edge, a cloud worker and
// an in-process NATS server, the edge's connection shaped at 100 Mbit/s
// and then 30 kbit/s (5 ms round trip). The cost model (a slow edge: 440 ms
// for the model, margins wide enough for a loaded host) says cloud-only
// wins on the fast link and edge-only on the slow one: the edge must move
// within 10 requests of the drop and then stay.
func TestLinkDrop(t *testing.T) {
	g, err := onnx.Load(testref.Path(t, "tinyresnet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	in, err := onnx.ReadTensor(testref.Path(t, "tinyresnet_mnist", "test_data_set_0", "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	x := &nn.Tensor{DType: nn.Float32, Shape: []int{1, 1, 32, 32}, F32: in.F32[:1024]}

	// Cost model: a slow edge (20 ms a node), a fast cloud, real sizes.
	d, err := partition.NewDAG(g)
	if err != nil {
		t.Fatal(err)
	}
	edgeP := &partition.Profile{NodesMS: map[string]float64{}}
	cloudP := &partition.Profile{NodesMS: map[string]float64{}}
	for _, n := range g.Nodes {
		edgeP.NodesMS[n.Name], cloudP.NodesMS[n.Name] = 20, 0.05
	}
	sizes, err := measure.ShapeSizes(d, whole, []*nn.Tensor{x}, 200, 60)
	if err != nil {
		t.Fatal(err)
	}
	m, err := partition.NewModel(d, edgeP, cloudP, sizes)
	if err != nil {
		t.Fatal(err)
	}
	fast, _ := link.Parse("100mbit/5ms")
	slow, _ := link.Parse("30kbit/5ms")
	toLink := func(s link.Spec) partition.Link { return partition.Link{Bandwidth: s.BytesPerSecond(), RTT: s.RTT} }
	bestFast, _ := m.Best(toLink(fast))
	bestSlow, _ := m.Best(toLink(slow))
	if bestFast.Cut.Name != partition.CloudOnly || bestSlow.Cut.Name != partition.EdgeOnly {
		t.Fatalf("test model: best %s on the fast link, %s on the slow one", bestFast.Cut.Name, bestSlow.Cut.Name)
	}

	srv := pipetest.StartServerMax(t, 1<<20)
	cloudNC, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer cloudNC.Close()
	if _, err := cloudNC.Subscribe("test.echo", func(msg *nats.Msg) { msg.Respond([]byte{1}) }); err != nil {
		t.Fatal(err)
	}
	cw, err := cloudworker.New(cloudNC, []cloudworker.Model{{Name: "tinyresnet", Program: whole}}, cloudworker.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Stop()
	sh := link.NewShaper(fast)
	edgeNC, err := nats.Connect(srv.ClientURL(), nats.SetCustomDialer(&link.Dialer{Shaper: sh}))
	if err != nil {
		t.Fatal(err)
	}
	defer edgeNC.Close()

	a, err := partition.NewAdapter(m, toLink(fast), partition.WithProbe(10, 4<<10))
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(edgeNC, whole, a, edgeworker.Config{Concurrency: 1}, "test.echo")
	if err != nil {
		t.Fatal(err)
	}
	want, err := whole.Run(map[string]*nn.Tensor{whole.Inputs()[0]: x})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func() string {
		t.Helper()
		res, err := e.InferCut(ctx, x)
		if err != nil {
			t.Fatal(err)
		}
		got, ref := res.Outputs[0].F32, want[whole.Outputs()[0]].F32
		for i := range ref {
			if got[i] != ref[i] {
				t.Fatalf("cut %s: output[%d] = %v, whole model %v", res.CutName, i, got[i], ref[i])
			}
		}
		return res.CutName
	}
	for i := 0; i < 10; i++ {
		if c := run(); c != partition.CloudOnly {
			t.Fatalf("request %d on the fast link used %s", i, c)
		}
	}
	sh.Set(slow)
	moved := -1
	for i := 1; i <= 10 && moved < 0; i++ {
		run()
		if a.CutID() == partition.EdgeOnly {
			moved = i
		}
	}
	if moved < 0 {
		t.Fatalf("10 requests after the drop the cut is %s (link estimate %v)", a.CutID(), a.Link())
	}
	t.Logf("moved to edge-only %d requests after the drop to 30 kbit/s (estimate %v)", moved, a.Link())
	moves := a.Moves()
	for i := 0; i < 15; i++ {
		if c := run(); c != partition.EdgeOnly {
			t.Fatalf("steady slow link: request %d used %s", i, c)
		}
	}
	if a.Moves() != moves {
		t.Fatalf("the cut moved %d times on the steady slow link", a.Moves()-moves)
	}

	// InferAt runs the cut it is given and leaves the adapter alone.
	sh.Set(fast)
	before := a.Link()
	res, err := e.InferAt(ctx, bestFast.Cut, x)
	if err != nil {
		t.Fatal(err)
	}
	if res.CutName != partition.CloudOnly || res.Cut == partition.EdgeOnly || res.WireBytes == 0 {
		t.Errorf("InferAt(cloud-only): cut %s (%s), %d bytes sent", res.CutName, res.Cut, res.WireBytes)
	}
	if got, ref := res.Outputs[0].F32, want[whole.Outputs()[0]].F32; len(got) != len(ref) || got[0] != ref[0] {
		t.Errorf("InferAt(cloud-only): output %v, whole model %v", got, ref)
	}
	if a.CutID() != partition.EdgeOnly || a.Moves() != moves || a.Link() != before {
		t.Errorf("InferAt changed the adapter: cut %s, %d moves, link %v (was %v)", a.CutID(), a.Moves()-moves, a.Link(), before)
	}
}
