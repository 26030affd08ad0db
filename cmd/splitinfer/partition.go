package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/link"
	"github.com/splitinfer/splitinfer/system"
)

func init() {
	register(&command{
		name:    "partition",
		summary: "predict the latency of every cut of a model on a link and choose one",
		run:     runPartition,
	})
}

// costFlags are the flags partition and sweep share: the model, where the
// profiles come from, the emulated edge and the wire format.
type costFlags struct {
	model        string
	edgeProfile  string
	cloudProfile string
	saveProfile  string
	slowdown     float64
	samples      int
	runs         int
	threads      int
	codec        string
	wireDType    string
	clock        string
	cloudClock   string
	maxBytes     int
}

func (f *costFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "model: a file (ONNX, QDQ ONNX, .sinf) or a built-in name (default: the built-in default model)")
	fs.StringVar(&f.edgeProfile, "edge-profile", "", "edge latency profile (JSON); default: measured here")
	fs.StringVar(&f.cloudProfile, "cloud-profile", "", "cloud latency profile (JSON); default: measured here")
	fs.StringVar(&f.saveProfile, "save-profile", "", "write the edge profile measured here to this JSON file")
	fs.Float64Var(&f.slowdown, "edge-slowdown", 0, "emulate an edge F times slower than the edge profile (0: off, else 1..1000)")
	fs.IntVar(&f.samples, "samples", 4, "sample inputs to profile and size with (MNIST test images, else seeded random)")
	fs.IntVar(&f.runs, "runs", 5, "profiling runs (medians are taken)")
	fs.IntVar(&f.threads, "threads", 1, "threads per inference when profiling")
	fs.StringVar(&f.codec, "codec", "none", "wire codec of activations: none or zstd")
	fs.StringVar(&f.wireDType, "wire", "float32", "activation dtype on the wire: float32 (as computed), uint8 or int8 (quantized, lossy)")
	def := "wall"
	if measure.CPUTimeSupported() {
		def = "cpu"
	}
	fs.StringVar(&f.clock, "clock", def, "edge profile clock: cpu (the thread's CPU time: steady on a loaded host; one thread) or wall")
	fs.StringVar(&f.cloudClock, "cloud-clock", "wall", "cloud profile clock: wall (what requests will see) or cpu")
	fs.IntVar(&f.maxBytes, "max-bytes", 1<<20, "largest request the transport takes (NATS max_payload; 0: no limit): bigger cuts are infeasible")
}

func (f *costFlags) validate() error {
	switch {
	case f.slowdown != 0 && !(f.slowdown >= 1 && f.slowdown <= 1000):
		return fmt.Errorf("--edge-slowdown %v: want 0 (off) or 1..1000", f.slowdown)
	case f.samples < 1 || f.samples > 1024:
		return fmt.Errorf("--samples %d: want 1..1024", f.samples)
	case f.runs < 1 || f.runs > 1000:
		return fmt.Errorf("--runs %d: want 1..1000", f.runs)
	case f.threads < 1:
		return fmt.Errorf("--threads %d: want >= 1", f.threads)
	case f.maxBytes < 0:
		return fmt.Errorf("--max-bytes %d: want >= 0", f.maxBytes)
	}
	if _, err := pipeline.ParseCodec(f.codec); err != nil {
		return fmt.Errorf("--codec: %v", err)
	}
	if _, err := parseWire(f.wireDType); err != nil {
		return err
	}
	for _, c := range []struct{ flag, v string }{{"--clock", f.clock}, {"--cloud-clock", f.cloudClock}} {
		switch {
		case c.v == "cpu" && !measure.CPUTimeSupported():
			return fmt.Errorf("%s cpu: no per-thread CPU clock on this system", c.flag)
		case c.v == "cpu" && f.threads != 1:
			return fmt.Errorf("%s cpu needs --threads 1", c.flag)
		case c.v != "cpu" && c.v != "wall":
			return fmt.Errorf("%s %q: want cpu or wall", c.flag, c.v)
		}
	}
	return nil
}

// parseWire parses --wire: float32 (as computed: nn.Undefined), uint8 or
// int8 (float32 activations quantized for the wire).
func parseWire(s string) (nn.DType, error) {
	switch s {
	case "float32", "":
		return nn.Undefined, nil
	case "uint8":
		return nn.Uint8, nil
	case "int8":
		return nn.Int8, nil
	}
	return nn.Undefined, fmt.Errorf("%w: --wire %q: want float32, uint8 or int8", errUsage, s)
}

// costSetup is a cost model of one model, with what the user must be told
// about where the numbers come from.
type costSetup struct {
	*measure.CostModel
	name    string // the model file's base name
	graph   *nn.Graph
	prog    *nn.Program
	samples [][]*nn.Tensor
}

// setup loads the model and builds its cost model from the flags.
func (f *costFlags) setup(stderr io.Writer) (*costSetup, error) {
	g, name, err := loadModel(f.model)
	if err != nil {
		return nil, err
	}
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	set, _ := mnistTest() // without it the samples are seeded random inputs
	samples, what, err := measure.SampleInputs(g, f.samples, set)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	codec, _ := pipeline.ParseCodec(f.codec)
	dt, _ := parseWire(f.wireDType)
	enc := pipeline.RequestEncoder{Model: pipeline.ModelHash(g), Codec: codec, Wire: dt}
	cfg := measure.ModelConfig{Samples: samples, SamplesNote: what, Runs: f.runs, Threads: f.threads, Model: name, Device: host,
		EdgeNote: f.edgeProfile, CloudNote: f.cloudProfile, EdgeCPU: f.clock == "cpu", CloudCPU: f.cloudClock == "cpu",
		Slowdown: f.slowdown, Encode: enc.Size, EncodeNote: enc.String(), MaxBytes: f.maxBytes, Log: stderr}
	if cfg.Edge, err = loadProfileFlag(f.edgeProfile); err != nil {
		return nil, err
	}
	if cfg.Cloud, err = loadProfileFlag(f.cloudProfile); err != nil {
		return nil, err
	}
	cm, err := measure.Build(prog, cfg)
	if err != nil {
		return nil, err
	}
	if f.saveProfile != "" && cm.EdgeMeasured != nil {
		if err := writeProfile(f.saveProfile, cm.EdgeMeasured); err != nil {
			return nil, err
		}
	}
	return &costSetup{CostModel: cm, name: name, graph: g, prog: prog, samples: samples}, nil
}

// loadProfileFlag reads a profile file (nil for no file).
func loadProfileFlag(path string) (*partition.Profile, error) {
	if path == "" {
		return nil, nil
	}
	return partition.LoadProfile(path)
}

func writeProfile(path string, p *partition.Profile) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := p.WriteJSON(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func runPartition(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("partition", stderr)
	var cf costFlags
	cf.register(fs)
	bw := fs.String("bandwidth", "10mbit", "link bandwidth (e.g. 1mbit, 512kbit, 1gbit)")
	rtt := fs.Duration("rtt", 20*time.Millisecond, "link round trip")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	plotPath := fs.String("plot", "", "write a PNG of predicted latency against cut for several bandwidths")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "splitinfer partition: unexpected arguments %v\n", fs.Args())
		return errUsage
	}
	if err := cf.validate(); err != nil {
		fmt.Fprintf(stderr, "splitinfer partition: %v\n", err)
		return errUsage
	}
	bits, err := link.ParseBandwidth(*bw)
	if err != nil || bits == 0 {
		fmt.Fprintf(stderr, "splitinfer partition: --bandwidth %q: want a finite bandwidth such as 10mbit\n", *bw)
		return errUsage
	}
	if *rtt < 0 {
		fmt.Fprintf(stderr, "splitinfer partition: --rtt must not be negative\n")
		return errUsage
	}
	l := partition.Link{Bandwidth: bits / 8, RTT: *rtt}
	s, err := cf.setup(stderr)
	if err != nil {
		return err
	}
	t0 := time.Now()
	best, err := s.Model.Best(l)
	if err != nil {
		return err
	}
	decision := time.Since(t0)
	cuts := s.DAG.CandidateCuts(best.Cut)
	ests, err := s.Model.PredictAll(cuts, l)
	if err != nil {
		return err
	}
	if *plotPath != "" {
		if err := plotSweep(*plotPath, s, cuts, l, max(cf.slowdown, 1)); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		s.Notes = append(s.Notes, "plot: "+*plotPath)
	}
	if *asJSON {
		out := struct {
			Model        string               `json:"model"`
			BandwidthBit float64              `json:"bandwidth_bits_per_s"`
			RTTMS        float64              `json:"rtt_ms"`
			EdgeSlowdown float64              `json:"edge_slowdown"`
			Choice       string               `json:"choice"`
			ChoiceMS     float64              `json:"choice_predicted_ms"`
			DecisionUS   float64              `json:"decision_us"`
			Notes        []string             `json:"notes"`
			Cuts         []system.CutEstimate `json:"cuts"`
		}{Model: s.name, BandwidthBit: bits, RTTMS: float64(*rtt) / 1e6, EdgeSlowdown: max(cf.slowdown, 1),
			Choice: best.Cut.Name, ChoiceMS: math.Round(best.TotalMS*1000) / 1000, DecisionUS: float64(decision) / 1e3, Notes: s.Notes}
		for _, e := range ests {
			out.Cuts = append(out.Cuts, system.NewCutEstimate(e))
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "model %s (%d nodes) on %s\n", s.name, s.DAG.Len(), l)
	for _, n := range s.Notes {
		fmt.Fprintf(stdout, "  %s\n", n)
	}
	w := len("cut")
	for _, e := range ests {
		w = max(w, len(e.Cut.Name))
	}
	fmt.Fprintf(stdout, "  %-*s %9s %10s %11s %9s %12s\n", w, "cut", "edge ms", "bytes", "transfer ms", "cloud ms", "predicted ms")
	for _, e := range ests {
		mark := " "
		if e.Cut.Name == best.Cut.Name {
			mark = "*"
		}
		note := ""
		if e.Infeasible {
			note = " (too big for --max-bytes)"
		}
		fmt.Fprintf(stdout, "%s %-*s %9.2f %10d %11.2f %9.2f %12.2f%s\n", mark, w, e.Cut.Name, e.EdgeMS, e.Bytes, e.TransferMS, e.CloudMS, e.TotalMS, note)
	}
	fmt.Fprintf(stdout, "choice: %s, predicted %.2f ms (decided in %v)\n", best.Cut.Name, best.TotalMS, decision.Round(time.Microsecond))
	if len(best.Cut.Tensors) > 0 {
		fmt.Fprintf(stdout, "  sends %s\n", strings.Join(best.Cut.Tensors, ", "))
	}
	return nil
}

// shortCut shortens a cut name for an axis label: the last path elements
// of an ONNX node name ("features.4/conv.2/Conv").
func shortCut(name string) string {
	rest, ok := strings.CutPrefix(name, "after:")
	if !ok {
		return name
	}
	var parts []string
	for _, n := range strings.Split(rest, "+") {
		var el []string
		all := strings.Split(strings.Trim(n, "/"), "/")
		for i, e := range all {
			// drop "features" before "features.4", "conv" before "conv.2"
			if i+1 < len(all) && strings.HasPrefix(all[i+1], e+".") {
				continue
			}
			el = append(el, e)
		}
		if len(el) > 3 {
			el = el[len(el)-3:]
		}
		parts = append(parts, strings.Join(el, "/"))
	}
	return strings.Join(parts, "+")
}

// plotSweep draws the predicted latency of each cut (in order, the x axis)
// for several bandwidths at the link's round trip, marking each curve's
// best cut.
func plotSweep(path string, s *costSetup, cuts []partition.Cut, l partition.Link, slowdown float64) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: predicted latency per cut (RTT %v, edge %.3gx slower than cloud)", s.name, l.RTT, slowdown)
	p.X.Label.Text = "cut: nodes run on the edge (left: cloud-only, right: edge-only)"
	p.Y.Label.Text = "predicted latency (ms, log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = ticks125{}
	p.Legend.Top = true
	p.Legend.Left = false
	// cuts in edge-size order, as a line
	order := append([]partition.Cut(nil), cuts...)
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && len(order[j].Edge) < len(order[j-1].Edge); j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	bws := []float64{1e6, 10e6, 100e6}
	given := l.Bandwidth * 8
	if given != 1e6 && given != 10e6 && given != 100e6 {
		bws = append(bws, given)
	}
	colors := []color.RGBA{{R: 200, G: 40, B: 40, A: 255}, {R: 30, G: 120, B: 200, A: 255}, {R: 40, G: 160, B: 60, A: 255}, {R: 120, G: 60, B: 160, A: 255}}
	for i, bw := range bws {
		ll := partition.Link{Bandwidth: bw / 8, RTT: l.RTT}
		pts := make(plotter.XYs, len(order))
		bestX, bestY := 0, math.Inf(1)
		for x, c := range order {
			e, err := s.Model.Predict(c, ll)
			if err != nil {
				return err
			}
			pts[x].X, pts[x].Y = float64(x), math.Max(e.TotalMS, 0.01)
			if !e.Infeasible && e.TotalMS < bestY {
				bestX, bestY = x, e.TotalMS
			}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		line.Color = colors[i%len(colors)]
		line.Width = vg.Points(1.5)
		best, err := plotter.NewScatter(plotter.XYs{{X: float64(bestX), Y: math.Max(bestY, 0.01)}})
		if err != nil {
			return err
		}
		best.GlyphStyle = draw.GlyphStyle{Color: line.Color, Radius: vg.Points(5), Shape: draw.RingGlyph{}}
		p.Add(line, best)
		p.Legend.Add(fmt.Sprintf("%s: best %s (%.0f ms)", link.Spec{Bandwidth: bw}.String(), shortCut(order[bestX].Name), bestY), line)
	}
	var ticks []plot.Tick
	step := max(1, len(order)/24)
	for x, c := range order {
		t := plot.Tick{Value: float64(x)}
		if x%step == 0 || x == len(order)-1 {
			t.Label = shortCut(c.Name)
		}
		ticks = append(ticks, t)
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Tick.Label.Rotation = math.Pi / 2.5
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.X.Tick.Label.Font.Size = vg.Points(7)
	p.Add(plotter.NewGrid())
	return p.Save(12*vg.Inch, 6*vg.Inch, path)
}

// ticks125 labels a log axis at 1, 2 and 5 times the powers of ten.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	if !(lo > 0) || !(hi > lo) {
		return ts
	}
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v >= lo && v <= hi {
				ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
			}
		}
	}
	return ts
}
