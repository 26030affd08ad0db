package system

import (
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

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
	// With codings (AddCodings), the cut and its coding are chosen
	// together: ChoiceCoding is the choice's coding, Candidates every cut
	// with every coding, within MaxAccuracyDrop of Accuracy (the model's
	// own on held-back images) or not.
	ChoiceCoding    string              `json:"choice_coding,omitempty"`
	MaxAccuracyDrop float64             `json:"max_accuracy_drop,omitempty"`
	Accuracy        float64             `json:"accuracy,omitempty"`
	Candidates      []CandidateEstimate `json:"candidates,omitempty"`

	nodes    int
	link     partition.Link
	best     partition.Estimate
	decision time.Duration
}

// CandidateEstimate is one cut sent with one coding, in reports.
type CandidateEstimate struct {
	Cut            string  `json:"cut"`
	Coding         string  `json:"coding"`
	Compact        bool    `json:"compact"`
	Bits           int     `json:"bits,omitempty"`
	Bytes          int     `json:"bytes"`
	BitsPerElement float64 `json:"bits_per_element"`
	// Accuracy is on held-back images (nil: not measured).
	Accuracy    *float64 `json:"accuracy"`
	EdgeMS      float64  `json:"edge_ms"`
	TransferMS  float64  `json:"transfer_ms"`
	CloudMS     float64  `json:"cloud_ms"`
	PredictedMS float64  `json:"predicted_ms"`
	Within      bool     `json:"within_budget"`
	Infeasible  bool     `json:"infeasible,omitempty"`
	MeasuredMS  *float64 `json:"measured_ms,omitempty"`
	Skipped     string   `json:"skipped,omitempty"`
}

// Key names the candidate as partition.Candidate.Key does.
func (c CandidateEstimate) Key() string { return c.Cut + " / " + c.Coding }

// NewCandidateEstimate rounds a candidate for a report.
func NewCandidateEstimate(c partition.Candidate) CandidateEstimate {
	r := CandidateEstimate{Cut: c.Cut.Name, Coding: c.Coding.Name, Compact: c.Coding.Compact, Bits: c.Coding.Bits, Bytes: c.Bytes,
		BitsPerElement: round3(c.BitsPerElement), EdgeMS: round3(c.EdgeMS), TransferMS: round3(c.TransferMS), CloudMS: round3(c.CloudMS),
		PredictedMS: round3(c.TotalMS), Within: c.Within, Infeasible: c.Infeasible}
	if c.Accuracy >= 0 {
		a := c.Accuracy
		r.Accuracy = &a
	}
	return r
}

// Predict chooses the cut for link l with the cost model and predicts
// every candidate cut; with codings in the model (AddCodings) it chooses
// the cut and the coding together within maxDrop of the model's
// accuracy and lists every candidate. With plotPath it also draws the
// predictions for several bandwidths into that PNG, and with codings
// bytes against accuracy (the Pareto front) beside them.
func Predict(name string, cm *measure.CostModel, l partition.Link, slowdown float64, plotPath string, maxDrop float64) (*PredictReport, error) {
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
	var cands []partition.Candidate
	chosen := -1
	if len(cm.Model.Codings) > 0 {
		if cands, chosen, err = cm.Model.Candidates(cuts, l, maxDrop); err != nil {
			return nil, err
		}
		r.MaxAccuracyDrop, r.Accuracy = maxDrop, cm.Model.Accuracy
		for _, c := range cands {
			r.Candidates = append(r.Candidates, NewCandidateEstimate(c))
		}
		if chosen >= 0 {
			c := cands[chosen]
			r.Choice, r.ChoiceCoding, r.ChoiceMS = c.Cut.Name, c.Coding.Name, round3(c.TotalMS)
			r.best = c.Estimate
		}
	}
	if plotPath != "" {
		if err := plotPredictions(plotPath, name, cm.Model, cuts, l, slowdown, cands, chosen, maxDrop); err != nil {
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
	if len(r.Candidates) > 0 {
		writeCandidates(w, r.Candidates, r.Choice+" / "+r.ChoiceCoding, r.MaxAccuracyDrop, r.Accuracy)
		fmt.Fprintf(w, "choice: %s with %s, predicted %.2f ms\n", r.Choice, r.ChoiceCoding, r.ChoiceMS)
	} else {
		fmt.Fprintf(w, "choice: %s, predicted %.2f ms (decided in %v)\n", r.best.Cut.Name, r.best.TotalMS, r.decision.Round(time.Microsecond))
	}
	if len(r.best.Cut.Tensors) > 0 {
		fmt.Fprintf(w, "  sends %s\n", strings.Join(r.best.Cut.Tensors, ", "))
	}
}

// writeCandidates writes the table of cuts and codings, marking choice.
func writeCandidates(w io.Writer, cands []CandidateEstimate, choice string, maxDrop, accuracy float64) {
	fmt.Fprintf(w, "cut and coding chosen together (accuracy within %.4g of %.4f on held-back images):\n", maxDrop, accuracy)
	nw, cw := len("cut"), len("coding")
	for _, c := range cands {
		nw, cw = max(nw, len(c.Cut)), max(cw, len(c.Coding))
	}
	measured := slices.ContainsFunc(cands, func(c CandidateEstimate) bool { return c.MeasuredMS != nil })
	fmt.Fprintf(w, "  %-*s %-*s %8s %9s %9s %12s", nw, "cut", cw, "coding", "bytes", "bits/el", "accuracy", "predicted ms")
	if measured {
		fmt.Fprintf(w, " %12s", "measured ms")
	}
	fmt.Fprintln(w)
	for _, c := range cands {
		acc := "-"
		if c.Accuracy != nil {
			acc = fmt.Sprintf("%.4f", *c.Accuracy)
		}
		bpe := "-"
		if c.BitsPerElement > 0 {
			bpe = fmt.Sprintf("%.3f", c.BitsPerElement)
		}
		fmt.Fprintf(w, "%s %-*s %-*s %8d %9s %9s %12.2f", mark(c.Key() == choice), nw, c.Cut, cw, c.Coding, c.Bytes, bpe, acc, c.PredictedMS)
		if measured {
			if c.MeasuredMS != nil {
				fmt.Fprintf(w, " %12.2f", *c.MeasuredMS)
			} else {
				fmt.Fprintf(w, " %12s", cmp(c.Skipped, "-"))
			}
		}
		switch {
		case c.Skipped != "":
		case c.Infeasible:
			fmt.Fprint(w, " (too big)")
		case !c.Within:
			fmt.Fprint(w, " (over the accuracy budget)")
		}
		fmt.Fprintln(w)
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
func plotPredictions(path, name string, m *partition.Model, cuts []partition.Cut, l partition.Link, slowdown float64, cands []partition.Candidate, chosen int, maxDrop float64) error {
	p, err := latencyPlot(name, m, cuts, l, slowdown)
	if err != nil {
		return err
	}
	if len(partition.ParetoFront(cands)) == 0 { // no accuracies to draw
		return p.Save(12*vg.Inch, 6*vg.Inch, path)
	}
	q, err := paretoPlot(name, cands, chosen, m.Accuracy-maxDrop)
	if err != nil {
		return err
	}
	const w, h = 20 * vg.Inch, 6 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8}
	canvases := plot.Align([][]*plot.Plot{{p, q}}, tiles, dc)
	p.Draw(canvases[0][0])
	q.Draw(canvases[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// paretoPlot draws each candidate's request bytes (log scale) against its
// accuracy on held-back images, the Pareto front as a line, the accuracy
// budget's floor dashed and the choice ringed.
func paretoPlot(name string, cands []partition.Candidate, chosen int, floor float64) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: request bytes against accuracy (held-back images)", name)
	p.X.Label.Text = "bytes per request (log scale)"
	p.Y.Label.Text = "accuracy"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = ticks125{}
	p.Legend.Top = false
	p.Legend.Left = false
	var all plotter.XYs
	for _, c := range cands {
		if !c.Cut.IsEdgeOnly() && !c.Infeasible && c.Accuracy >= 0 {
			all = append(all, plotter.XY{X: math.Max(float64(c.Bytes), 1), Y: c.Accuracy})
		}
	}
	sc, err := plotter.NewScatter(all)
	if err != nil {
		return nil, err
	}
	sc.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 120, G: 120, B: 120, A: 255}, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
	p.Add(sc)
	p.Legend.Add("cut and coding", sc)
	var front plotter.XYs
	for _, i := range partition.ParetoFront(cands) {
		front = append(front, plotter.XY{X: math.Max(float64(cands[i].Bytes), 1), Y: cands[i].Accuracy})
	}
	line, pts, err := plotter.NewLinePoints(front)
	if err != nil {
		return nil, err
	}
	line.Color = color.RGBA{R: 30, G: 120, B: 200, A: 255}
	pts.Color, pts.Shape = line.Color, draw.CircleGlyph{}
	p.Add(line, pts)
	p.Legend.Add("Pareto front", line, pts)
	if floor > 0 {
		lo, hi := all[0].X, all[0].X
		for _, q := range all {
			lo, hi = math.Min(lo, q.X), math.Max(hi, q.X)
		}
		bl, err := plotter.NewLine(plotter.XYs{{X: lo, Y: floor}, {X: hi, Y: floor}})
		if err != nil {
			return nil, err
		}
		bl.Color, bl.Dashes = color.RGBA{R: 200, G: 40, B: 40, A: 255}, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(bl)
		p.Legend.Add(fmt.Sprintf("accuracy budget (%.4f)", floor), bl)
	}
	for _, i := range partition.ParetoFront(cands) {
		c := cands[i]
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: math.Max(float64(c.Bytes), 1), Y: c.Accuracy}},
			Labels: []string{" " + shortCut(c.Cut.Name) + " " + c.Coding.Name}})
		if err != nil {
			return nil, err
		}
		for j := range l.TextStyle {
			l.TextStyle[j].Font.Size = vg.Points(7)
		}
		p.Add(l)
	}
	if chosen >= 0 && !cands[chosen].Cut.IsEdgeOnly() && cands[chosen].Accuracy >= 0 {
		c := cands[chosen]
		ring, err := plotter.NewScatter(plotter.XYs{{X: math.Max(float64(c.Bytes), 1), Y: c.Accuracy}})
		if err != nil {
			return nil, err
		}
		ring.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{R: 200, G: 40, B: 40, A: 255}, Radius: vg.Points(7), Shape: draw.RingGlyph{}}
		p.Add(ring)
		p.Legend.Add(fmt.Sprintf("choice: %s, %s (%.1f ms)", shortCut(c.Cut.Name), c.Coding.Name, c.TotalMS), ring)
	} else if chosen >= 0 {
		p.Legend.Add(fmt.Sprintf("choice: %s (%.1f ms)", cands[chosen].Cut.Name, cands[chosen].TotalMS))
	}
	p.Add(plotter.NewGrid())
	return p, nil
}

// latencyPlot draws the predicted latency of each cut for several
// bandwidths (see plotPredictions).
func latencyPlot(name string, m *partition.Model, cuts []partition.Cut, l partition.Link, slowdown float64) (*plot.Plot, error) {
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
				return nil, err
			}
			pts[x].X, pts[x].Y = float64(x), math.Max(e.TotalMS, 0.01)
			if !e.Infeasible && e.TotalMS < bestY {
				bestX, bestY = x, e.TotalMS
			}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		line.Color = colors[i%len(colors)]
		line.Width = vg.Points(1.5)
		best, err := plotter.NewScatter(plotter.XYs{{X: float64(bestX), Y: math.Max(bestY, 0.01)}})
		if err != nil {
			return nil, err
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
	return p, nil
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
