package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/splitinfer/splitinfer/nn"
)

// Per-layer comparison (-layers): each node's time in splitinfer
// (Runner.SetObserver) beside ONNX Runtime's profiler (enableProfiling) for
// the same model, threads and batch. ORT names a node after its output
// tensor (with "_nchwc" when it runs in the channel-blocked layout), which
// is how the two sides are matched; ORT's layout reorders and the nodes one
// side fused away show on one side only.

// layerRow is one node of one side, or a matched pair.
type layerRow struct {
	name, op, desc string
	ours, ort      float64 // median µs per run (-1: absent)
}

// oursLayers runs prog and returns each node's median time in µs, in
// execution order, with the names an ORT profile may use for it.
func oursLayers(g *nn.Graph, prog *nn.Program, shape []int, threads, warmup, runs int) ([]layerRow, [][]string, error) {
	x := nn.New(nn.Float32, shape...)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x.F32 {
		x.F32[i] = r.Float32()
	}
	runner := prog.NewRunner(threads)
	for i := 0; i < max(1, warmup); i++ {
		if _, err := runner.Run(x); err != nil {
			return nil, nil, err
		}
	}
	// A batch run in chunks of images tells the observer of each node once
	// per chunk, from several goroutines at once when the chunks share the
	// threads: a node's time in a run is the sum over its chunks, divided
	// by the chunks that ran side by side.
	var mu sync.Mutex
	times := map[*nn.Node][]float64{}
	run := map[*nn.Node]float64{}
	calls := map[*nn.Node]int{}
	var order []*nn.Node
	runner.SetObserver(func(n *nn.Node, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := times[n]; !ok {
			order = append(order, n)
			times[n] = nil
		}
		run[n] += float64(d.Nanoseconds()) / 1e3
		calls[n]++
	})
	for i := 0; i < runs; i++ {
		if _, err := runner.Run(x); err != nil {
			return nil, nil, err
		}
		for n, us := range run {
			times[n] = append(times[n], us/float64(min(threads, calls[n])))
		}
		clear(run)
		clear(calls)
	}
	readers := map[string][]*nn.Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			readers[in] = append(readers[in], n)
		}
	}
	var rows []layerRow
	var names [][]string
	for _, n := range order {
		desc := ""
		if w, ok := g.Consts[n.Input(1)]; ok && (n.Op == "Conv" || n.Op == "Gemm") {
			desc = fmt.Sprint(w.Shape)
			if k := n.AttrInts("strides", nil); len(k) > 0 && k[0] != 1 {
				desc += fmt.Sprintf(" s%d", k[0])
			}
			if gr := n.AttrInt("group", 1); gr > 1 {
				desc += " dw"
			}
		}
		if a := n.AttrString("activation", ""); a != "" {
			desc += " +" + a
		}
		rows = append(rows, layerRow{name: n.Name, op: n.Op, desc: desc, ours: median(times[n]), ort: -1})
		// ORT's names: the node's, its outputs', and (after fusion) those
		// of an activation that alone reads its output.
		ns := append([]string{n.Name}, n.Outputs...)
		ns = append(ns, ownEnd)
		for _, o := range n.Outputs {
			if rs := readers[o]; len(rs) == 1 && len(rs[0].Inputs) == 1 {
				ns = append(ns, rs[0].Name)
				ns = append(ns, rs[0].Outputs...)
			}
		}
		names = append(names, ns)
	}
	return rows, names, nil
}

// ownEnd separates, in a node's list of names, its own from those of the
// activation it may have absorbed.
const ownEnd = "\x00"

// own is the count of a node's own names.
func own(ns []string) int { return slices.Index(ns, ownEnd) }

type ortNode struct {
	Name     string  `json:"name"`
	Op       string  `json:"op"`
	MedianUS float64 `json:"median_us"`
}

func ortLayers(node, script, model string, shape []int, threads, warmup, runs int) ([]ortNode, error) {
	dir, err := os.MkdirTemp("", "ortprofile")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	sh, _ := json.Marshal(shape)
	cmd := exec.Command(node, script, model, fmt.Sprint(threads), string(sh), fmt.Sprint(warmup), fmt.Sprint(runs), filepath.Join(dir, "p"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("ort profile: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out struct {
		Nodes []ortNode `json:"nodes"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("ort profile: bad output: %w", err)
	}
	return out.Nodes, nil
}

// layers prints the per-layer comparison of one case to w.
func layers(w io.Writer, o options, m model, g *nn.Graph, prog *nn.Program, shape []int, threads int) error {
	runs := min(50, o.maxRuns)
	ours, names, err := oursLayers(g, prog, shape, threads, o.warmup, runs)
	if err != nil {
		return err
	}
	script := filepath.Join(filepath.Dir(o.ortScriptAbs), "ortprofile.js")
	ort, err := ortLayers(o.node, script, m.file, shape, threads, o.warmup, runs)
	if err != nil {
		return err
	}
	var extra []layerRow
	for _, on := range ort {
		key := strings.TrimSuffix(on.Name, "_nchwc")
		// A node's own name and outputs first, then those of the
		// activation it absorbed.
		i := slices.IndexFunc(names, func(ns []string) bool { return slices.Contains(ns[:own(ns)], key) })
		if i < 0 {
			i = slices.IndexFunc(names, func(ns []string) bool { return slices.Contains(ns, key) })
		}
		if i >= 0 && ours[i].ort < 0 {
			ours[i].ort = on.MedianUS
			continue
		}
		if i >= 0 {
			ours[i].ort += on.MedianUS
			continue
		}
		extra = append(extra, layerRow{name: on.Name, op: on.Op, ours: -1, ort: on.MedianUS})
	}
	fmt.Fprintf(w, "\n### %s %s, %d thread(s), batch %d: per layer (median µs over %d runs)\n\n", m.name, m.precision, threads, shape[0], runs)
	fmt.Fprintln(w, "| # | node | op | weights | ours | ORT | ours - ORT |\n|---:|---|---|---|---:|---:|---:|")
	cell := func(v float64) string {
		if v < 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", v)
	}
	var sumOurs, sumOrt float64
	type agg struct{ ours, ort float64 }
	byKind := map[string]*agg{}
	add := func(r layerRow) {
		k := r.op + " " + kindOf(r.desc)
		a := byKind[k]
		if a == nil {
			a = &agg{}
			byKind[k] = a
		}
		a.ours += max(r.ours, 0)
		a.ort += max(r.ort, 0)
		sumOurs += max(r.ours, 0)
		sumOrt += max(r.ort, 0)
	}
	for i, r := range ours {
		diff := ""
		if r.ort >= 0 {
			diff = fmt.Sprintf("%+.1f", r.ours-r.ort)
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s | %s |\n", i, r.name, r.op, r.desc, cell(r.ours), cell(r.ort), diff)
		add(r)
	}
	for _, r := range extra {
		fmt.Fprintf(w, "| | %s (ORT only) | %s | | - | %s | |\n", r.name, r.op, cell(r.ort))
		add(r)
	}
	fmt.Fprintf(w, "| | **total (sum of medians)** | | | **%.1f** | **%.1f** | **%+.1f** |\n", sumOurs, sumOrt, sumOurs-sumOrt)
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		a, b := byKind[kinds[i]], byKind[kinds[j]]
		return a.ours-a.ort > b.ours-b.ort
	})
	fmt.Fprintln(w, "\nBy kind (ours - ORT, largest first):\n\n| kind | ours | ORT | ours - ORT |\n|---|---:|---:|---:|")
	for _, k := range kinds {
		a := byKind[k]
		fmt.Fprintf(w, "| %s | %.1f | %.1f | %+.1f |\n", k, a.ours, a.ort, a.ours-a.ort)
	}
	return nil
}

// kindOf reduces a weights description to the layer's kind: 1x1, kxk
// (depthwise or full), stride.
func kindOf(desc string) string {
	f := strings.Fields(strings.NewReplacer("[", "", "]", "").Replace(desc))
	if len(f) < 4 {
		return ""
	}
	k := f[2] + "x" + f[3]
	rest := strings.Join(f[4:], " ")
	if strings.Contains(rest, "+") {
		rest = rest[:strings.Index(rest, "+")]
	}
	return strings.TrimSpace(k + " " + rest)
}
