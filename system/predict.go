package system

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline/link"
)

// PredictReport is the partitioner's prediction for every candidate cut of
// a model on one link, and its choice.
type PredictReport struct {
	Model        string        `json:"model"`
	BandwidthBit float64       `json:"bandwidth_bits_per_s"`
	RTTMS        float64       `json:"rtt_ms"`
	EdgeSlowdown float64       `json:"edge_slowdown"`
	Choice       string        `json:"choice"`
	ChoiceMS     float64       `json:"choice_predicted_ms"`
	DecisionUS   float64       `json:"decision_us"`
	Notes        []string      `json:"notes"`
	Cuts         []CutEstimate `json:"cuts"`

	nodes    int
	link     partition.Link
	best     partition.Estimate
	decision time.Duration
}

// Predict chooses the cut for link l with the cost model and predicts
// every candidate cut; with plotPath it also draws the predictions for
// several bandwidths into that PNG.
func Predict(name string, cm *measure.CostModel, l partition.Link, slowdown float64, plotPath string) (*PredictReport, error) {
	t0 := time.Now()
	best, err := cm.Model.Best(l)
	if err != nil {
		return nil, err
	}
	decision := time.Since(t0)
	cuts := cm.DAG.CandidateCuts(best.Cut)
	ests, err := cm.Model.PredictAll(cuts, l)
	if err != nil {
		return nil, err
	}
	slowdown = max(slowdown, 1)
	r := &PredictReport{Model: name, BandwidthBit: l.Bandwidth * 8, RTTMS: float64(l.RTT) / 1e6, EdgeSlowdown: slowdown,
		Choice: best.Cut.Name, ChoiceMS: round3(best.TotalMS), DecisionUS: float64(decision) / 1e3, Notes: cm.Notes,
		nodes: cm.DAG.Len(), link: l, best: best, decision: decision}
	if plotPath != "" {
		if err := plotPredictions(plotPath, name, cm.Model, cuts, l, slowdown); err != nil {
			return nil, fmt.Errorf("plot: %w", err)
		}
		r.Notes = append(r.Notes, "plot: "+plotPath)
	}
	for _, e := range ests {
		r.Cuts = append(r.Cuts, NewCutEstimate(e))
	}
	return r, nil
}

// WriteJSON writes the report as one indented JSON object.
func (r *PredictReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as a table.
func (r *PredictReport) WriteText(w io.Writer) {
	writeHeader(w, fmt.Sprintf("model %s (%d nodes) on %s", r.Model, r.nodes, r.link), r.Notes)
	nw := len("cut")
	for _, e := range r.Cuts {
		nw = max(nw, len(e.Name))
	}
	fmt.Fprintf(w, "  %-*s %9s %10s %11s %9s %12s\n", nw, "cut", "edge ms", "bytes", "transfer ms", "cloud ms", "predicted ms")
	for _, e := range r.Cuts {
		note := ""
		if e.Infeasible {
			note = " (too big for --max-bytes)"
		}
		fmt.Fprintf(w, "%s %-*s %9.2f %10d %11.2f %9.2f %12.2f%s\n", mark(e.Name == r.Choice), nw, e.Name, e.EdgeMS, e.Bytes, e.TransferMS, e.CloudMS, e.PredictedMS, note)
	}
	fmt.Fprintf(w, "choice: %s, predicted %.2f ms (decided in %v)\n", r.best.Cut.Name, r.best.TotalMS, r.decision.Round(time.Microsecond))
	if len(r.best.Cut.Tensors) > 0 {
		fmt.Fprintf(w, "  sends %s\n", strings.Join(r.best.Cut.Tensors, ", "))
	}
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

// plotPredictions draws the predicted latency of each cut (in order, the x axis)
// for several bandwidths at the link's round trip, marking each curve's
// best cut.
func plotPredictions(path, name string, m *partition.Model, cuts []partition.Cut, l partition.Link, slowdown float64) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: predicted latency per cut (RTT %v, edge %.3gx slower than cloud)", name, l.RTT, slowdown)
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
			e, err := m.Predict(c, ll)
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
