package system

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
)

// failingEdge answers every request with an error.
type failingEdge struct{}

func (failingEdge) Infer(context.Context, ...*nn.Tensor) (*edgeworker.Result, error) {
	return nil, errors.New("no cloud")
}
func (failingEdge) Cut() string             { return "c" }
func (failingEdge) ModelHash() string       { return "h" }
func (failingEdge) Stats() edgeworker.Stats { return edgeworker.Stats{} }

// TestRunImagesErrors: inputs that end in an error make ErrInputsFailed
// with the count, the summary names the model; a run cancelled before it
// sent anything ends without an error.
func TestRunImagesErrors(t *testing.T) {
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	sum, err := RunImages(context.Background(), failingEdge{}, nil, "m", set, 3, 2)
	if !errors.Is(err, ErrInputsFailed) || !strings.Contains(err.Error(), "3 of 3") || sum.Errors != 3 || sum.Model != "m" {
		t.Errorf("summary %+v, error %v", sum, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if sum, err := RunImages(ctx, failingEdge{}, nil, "m", set, 3, 1); err != nil || sum.Images != 0 {
		t.Errorf("cancelled: %d images, error %v", sum.Images, err)
	}
}

// TestCostConfigValidate: each bad setting is refused, naming its flag.
func TestCostConfigValidate(t *testing.T) {
	ok := CostConfig{Samples: 4, Runs: 5, Threads: 1, Codec: "none", Wire: "float32", EdgeClock: "wall", CloudClock: "wall"}
	for _, c := range []struct {
		edit func(*CostConfig)
		want string
	}{
		{func(c *CostConfig) {}, ""},
		{func(c *CostConfig) { c.Slowdown = 0.5 }, "--edge-slowdown"},
		{func(c *CostConfig) { c.Samples = 0 }, "--samples"},
		{func(c *CostConfig) { c.Runs = 1001 }, "--runs"},
		{func(c *CostConfig) { c.MaxBytes = -1 }, "--max-bytes"},
		{func(c *CostConfig) { c.Codec = "gzip" }, "--codec"},
		{func(c *CostConfig) { c.Wire = "int4" }, "--wire"},
		{func(c *CostConfig) { c.CloudClock = "sun" }, "--cloud-clock"},
	} {
		cfg := ok
		c.edit(&cfg)
		err := cfg.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", cfg, err, c.want)
		}
	}
}

func TestParseLinks(t *testing.T) {
	specs, err := ParseLinks("1mbit/20ms,100mbit/5ms")
	if err != nil || len(specs) != 2 || specs[1].RTT.Milliseconds() != 5 {
		t.Errorf("%v, %v", specs, err)
	}
	for _, bad := range []string{"fast", "1mbit/20ms,"} {
		if _, err := ParseLinks(bad); err == nil {
			t.Errorf("ParseLinks(%q) accepted", bad)
		}
	}
}
