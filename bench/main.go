// Command bench compares splitinfer's engine with ONNX Runtime on the
// reference models: each model at 1 and 2 threads, batch 1 and 32, float32
// (and int8 for the QDQ models), median latency after a warm-up. The ONNX
// Runtime side runs ort.js under Node (onnxruntime-node, see package.json).
//
// Run it with `make bench` (from the repository root), which writes
// bench/results.json and bench/results.md. It is a development tool, not
// part of the test suite or the product.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// model is one reference model and its precision.
type model struct {
	name      string // results name
	file      string // under the refs directory
	precision string // fp32 | int8
}

var models = []model{
	{"seednet_mnist", "seednet_mnist.onnx", "fp32"},
	{"tinyresnet_mnist", "tinyresnet_mnist.onnx", "fp32"},
	{"mobilenet_v2", "mobilenet_v2.onnx", "fp32"},
	{"seednet_mnist", "seednet_mnist_int8_qdq_pc.onnx", "int8"},
	{"tinyresnet_mnist", "tinyresnet_mnist_int8_qdq_pc.onnx", "int8"},
}

// Case is one row of the results.
type Case struct {
	Model     string  `json:"model"`
	Precision string  `json:"precision"`
	Threads   int     `json:"threads"`
	Batch     int     `json:"batch"`
	OursMS    float64 `json:"ours_ms"`
	OrtMS     float64 `json:"ort_ms"`
	Ratio     float64 `json:"ratio"` // ours / ort: below 1 is faster than ONNX Runtime
	// The fastest run of each side: less sensitive than the median to
	// other processes on a busy machine.
	OursMinMS float64 `json:"ours_min_ms"`
	OrtMinMS  float64 `json:"ort_min_ms"`
	MinRatio  float64 `json:"min_ratio"` // ours_min / ort_min
	// The least process CPU time (all threads) of one run on each side:
	// unlike latency, it leaves out waiting for a CPU on a loaded machine.
	OursCPUMinMS float64 `json:"ours_cpu_min_ms"`
	OrtCPUMinMS  float64 `json:"ort_cpu_min_ms"`
	CPURatio     float64 `json:"cpu_ratio"` // ours_cpu_min / ort_cpu_min
	OursRuns     int     `json:"ours_runs"`
	OrtRuns      int     `json:"ort_runs"`
	Error        string  `json:"error,omitempty"`
}

// Results is results.json.
type Results struct {
	Machine    string `json:"machine"`
	GoVersion  string `json:"go_version"`
	OrtVersion string `json:"ort_version"`
	Date       string `json:"date"`
	Method     string `json:"method"`
	Cases      []Case `json:"cases"`
}

type options struct {
	refs, out, node string
	ortScript       string
	warmup, maxRuns int
	budget          time.Duration
	threads         []int
	batches         []int
	only            string
	cpuprofile      string
	extra           []model // -model files
	noRefs          bool
	layers          bool
	ortScriptAbs    string
}

// modelFlags collects repeated -model FILE flags.
type modelFlags []model

func (m *modelFlags) String() string { return fmt.Sprint(len(*m)) }

// Set adds a model file; a file with QuantizeLinear/DequantizeLinear pairs
// runs as int8 (lowered like the reference QDQ models).
func (m *modelFlags) Set(path string) error {
	name := strings.TrimSuffix(filepath.Base(path), ".onnx")
	g, err := onnx.Load(path, onnx.WithoutOptimize())
	if err != nil {
		return err
	}
	prec := "fp32"
	if onnx.HasQDQ(g) {
		prec = "int8"
		name = strings.TrimSuffix(strings.TrimSuffix(name, "_qdq"), "_int8")
		name = strings.TrimSuffix(name, "_int8_qdq_pc")
	}
	*m = append(*m, model{name: name, file: path, precision: prec})
	return nil
}

func main() {
	var o options
	flag.StringVar(&o.refs, "refs", "../shared/refs", "directory of the reference models")
	flag.StringVar(&o.out, "out", "bench", "directory for results.json and results.md")
	flag.StringVar(&o.node, "node", "node", "Node.js binary")
	flag.StringVar(&o.ortScript, "ort", "bench/ort.js", "the ONNX Runtime timing script (beside its node_modules)")
	flag.IntVar(&o.warmup, "warmup", 10, "warm-up runs per case")
	flag.IntVar(&o.maxRuns, "runs", 500, "maximum timed runs per case")
	flag.DurationVar(&o.budget, "budget", 3*time.Second, "time budget of the timed runs per case (at least 5 runs)")
	flag.StringVar(&o.only, "only", "", "run only the models whose name contains this")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of splitinfer's runs to this file")
	var extra modelFlags
	flag.Var(&extra, "model", "also time this ONNX model `FILE` (repeatable; input shape from the model, batch replaced; QDQ models run as int8)")
	flag.BoolVar(&o.noRefs, "no-refs", false, "skip the reference models (time only the -model files)")
	flag.BoolVar(&o.layers, "layers", false, "print a per-layer comparison with ONNX Runtime's profiler (markdown, stdout) instead of timing whole runs")
	threads := flag.String("threads", "1,2", "thread counts")
	batches := flag.String("batches", "1,32", "batch sizes")
	flag.Parse()
	o.extra = extra
	var err error
	if o.threads, err = parseInts(*threads); err != nil {
		fatal(err)
	}
	if o.batches, err = parseInts(*batches); err != nil {
		fatal(err)
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
	}
	err = run(o)
	if o.cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		var v int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &v); err != nil || v < 1 {
			return nil, fmt.Errorf("bad list %q", s)
		}
		out = append(out, v)
	}
	return out, nil
}

func run(o options) error {
	res := Results{
		Machine:   machine(),
		GoVersion: runtime.Version(),
		Date:      time.Now().UTC().Format(time.RFC3339),
		Method: fmt.Sprintf("random input in [0,1); up to %d warm-up runs (at most half the budget), then up to %d timed runs within %v (at least 5); median (and fastest) latency of one Run; "+
			"ONNX Runtime via onnxruntime-node (intraOpNumThreads=threads, sequential, all graph optimizations; times include the Node binding's call overhead)",
			o.warmup, o.maxRuns, o.budget),
	}
	ortScript, err := filepath.Abs(o.ortScript)
	if err != nil {
		return err
	}
	o.ortScriptAbs = ortScript
	var all []model
	if !o.noRefs {
		for _, m := range models {
			m.file = filepath.Join(o.refs, m.file)
			all = append(all, m)
		}
	}
	all = append(all, o.extra...)
	for _, m := range all {
		if o.only != "" && !strings.Contains(m.name, o.only) {
			continue
		}
		path := m.file
		g, prog, inShape, err := compile(path, m.precision)
		if err != nil {
			return fmt.Errorf("%s: %w", m.file, err)
		}
		for _, batch := range o.batches {
			shape := append([]int{batch}, inShape[1:]...)
			for _, threads := range o.threads {
				if o.layers {
					if err := layers(os.Stdout, o, m, g, prog, shape, threads); err != nil {
						return fmt.Errorf("%s: %w", m.file, err)
					}
					continue
				}
				c := Case{Model: m.name, Precision: m.precision, Threads: threads, Batch: batch}
				var errs []error
				ours, err := timeOurs(prog, shape, threads, o)
				c.OursMS, c.OursMinMS, c.OursRuns, c.OursCPUMinMS = ours.median, ours.min, ours.runs, round(ours.cpuMin, 4)
				errs = append(errs, err)
				ort, ver, err := timeORT(o.node, ortScript, path, shape, threads, o)
				c.OrtMS, c.OrtMinMS, c.OrtRuns, c.OrtCPUMinMS = ort.median, ort.min, ort.runs, round(ort.cpuMin, 4)
				errs = append(errs, err)
				if ver != "" {
					res.OrtVersion = ver
				}
				if err := errors.Join(errs...); err != nil {
					c.Error = err.Error()
				} else if c.OrtMS > 0 {
					c.Ratio = round(c.OursMS/c.OrtMS, 3)
					c.MinRatio = round(c.OursMinMS/c.OrtMinMS, 3)
					if c.OrtCPUMinMS > 0 {
						c.CPURatio = round(c.OursCPUMinMS/c.OrtCPUMinMS, 3)
					}
				}
				c.OursMS, c.OrtMS = round(c.OursMS, 4), round(c.OrtMS, 4)
				c.OursMinMS, c.OrtMinMS = round(c.OursMinMS, 4), round(c.OrtMinMS, 4)
				fmt.Fprintf(os.Stderr, "%-18s %s threads=%d batch=%-3d ours %9.4f ms (min %9.4f)  ort %9.4f ms (min %9.4f)  ratio %.2f (min %.2f, cpu %.2f) %s\n",
					c.Model, c.Precision, threads, batch, c.OursMS, c.OursMinMS, c.OrtMS, c.OrtMinMS, c.Ratio, c.MinRatio, c.CPURatio, c.Error)
				res.Cases = append(res.Cases, c)
			}
		}
	}
	if o.layers {
		return nil
	}
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "results.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(o.out, "results.md"), []byte(markdown(res)), 0o644)
}

// compile loads a model (lowering QDQ onto int8 kernels for int8) and
// returns the program and its declared input shape.
func compile(path, precision string) (*nn.Graph, *nn.Program, []int, error) {
	var g *nn.Graph
	var err error
	if precision == "int8" {
		g, err = onnx.LoadQDQ(path)
	} else {
		g, err = onnx.Load(path)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	if len(g.Inputs) != 1 {
		return nil, nil, nil, fmt.Errorf("want one input, have %d", len(g.Inputs))
	}
	shape := g.Inputs[0].Type.Shape
	if len(shape) < 2 || slices.ContainsFunc(shape[1:], func(d int) bool { return d < 1 }) {
		return nil, nil, nil, fmt.Errorf("input shape %v: want a static shape after the batch", shape)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, nil, nil, err
	}
	return g, prog, shape, nil
}

// timing is the outcome of one side of a case.
type timing struct {
	median, min float64
	cpuMin      float64
	runs        int
}

// timeOurs runs the program: warm-up (at most o.warmup runs or half the
// budget, at least one), then timed runs.
func timeOurs(prog *nn.Program, shape []int, threads int, o options) (timing, error) {
	x := nn.New(nn.Float32, shape...)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x.F32 {
		x.F32[i] = r.Float32()
	}
	runner := prog.NewRunner(threads)
	start := time.Now()
	for i := 0; i < max(1, o.warmup); i++ {
		if _, err := runner.Run(x); err != nil {
			return timing{}, fmt.Errorf("ours: %w", err)
		}
		if time.Since(start) > o.budget/2 {
			break
		}
	}
	var times []float64
	cpuMin := math.Inf(1)
	start = time.Now()
	for i := 0; i < o.maxRuns; i++ {
		c0 := processCPU()
		t0 := time.Now()
		if _, err := runner.Run(x); err != nil {
			return timing{}, fmt.Errorf("ours: %w", err)
		}
		times = append(times, float64(time.Since(t0).Nanoseconds())/1e6)
		cpuMin = min(cpuMin, (processCPU()-c0).Seconds()*1e3)
		if len(times) >= 5 && time.Since(start) > o.budget {
			break
		}
	}
	return timing{median: median(times), min: slices.Min(times), cpuMin: cpuMin, runs: len(times)}, nil
}

func timeORT(node, script, model string, shape []int, threads int, o options) (timing, string, error) {
	sh, _ := json.Marshal(shape)
	cmd := exec.Command(node, script, model, fmt.Sprint(threads), string(sh),
		fmt.Sprint(o.warmup), fmt.Sprint(o.maxRuns), fmt.Sprint(o.budget.Milliseconds()))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return timing{}, "", fmt.Errorf("ort: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out struct {
		MedianMS float64 `json:"median_ms"`
		MinMS    float64 `json:"min_ms"`
		CPUMinMS float64 `json:"cpu_min_ms"`
		Runs     int     `json:"runs"`
		Version  string  `json:"ort_version"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return timing{}, "", fmt.Errorf("ort: bad output %q: %w", stdout.String(), err)
	}
	return timing{median: out.MedianMS, min: out.MinMS, cpuMin: out.CPUMinMS, runs: out.Runs}, out.Version, nil
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func round(x float64, digits int) float64 {
	p := 1.0
	for i := 0; i < digits; i++ {
		p *= 10
	}
	return float64(int64(x*p+0.5)) / p
}

// machine describes the CPU: model name, logical CPUs, SIMD features used.
func machine() string {
	name := "unknown CPU"
	var flags []string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "model name":
				if name == "unknown CPU" {
					name = strings.TrimSpace(v)
				}
			case "flags":
				if flags == nil {
					have := strings.Fields(v)
					for _, f := range []string{"avx2", "fma", "avx512f", "avx512bw", "avx512_vnni"} {
						if slices.Contains(have, f) {
							flags = append(flags, f)
						}
					}
				}
			}
		}
	}
	return fmt.Sprintf("%s, %d logical CPUs, %s/%s, %s", name, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, strings.Join(flags, " "))
}

func markdown(r Results) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# splitinfer vs ONNX Runtime\n\nMachine: %s. Go %s, ONNX Runtime %s (onnxruntime-node). %s.\n\n", r.Machine, r.GoVersion, r.OrtVersion, r.Date)
	fmt.Fprintf(&b, "Method: %s. Ratio = ours / ORT (below 1: splitinfer is faster).\n\n", r.Method)
	b.WriteString("| model | precision | threads | batch | ours (ms) | ORT (ms) | ratio | ours min (ms) | ORT min (ms) | min ratio | cpu min ratio |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range r.Cases {
		ratio := fmt.Sprintf("%.2f", c.Ratio)
		if c.Error != "" {
			ratio = "error: " + strings.ReplaceAll(c.Error, "|", "/")
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %.4f | %.4f | %s | %.4f | %.4f | %.2f | %.2f |\n",
			c.Model, c.Precision, c.Threads, c.Batch, c.OursMS, c.OrtMS, ratio, c.OursMinMS, c.OrtMinMS, c.MinRatio, c.CPURatio)
	}
	return b.String()
}

// processCPU is the CPU time the process has used (all threads).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
