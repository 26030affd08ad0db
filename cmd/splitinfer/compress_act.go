package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/nn"
)

// actFlags are compress's flags for coding the activations at a cut.
type actFlags struct {
	bits, cut, deadZones string
	fitN, heldN          int
	maxDrop              float64
}

func (a *actFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.bits, "act-bits", "", "fit a compact activation codec at --act-cut: bit widths to try (e.g. 2 or 2,3,4, or auto for 1..8); the smallest within --max-accuracy-drop on held-back training images is stored in the model")
	fs.StringVar(&a.cut, "act-cut", "early", "cut tensor of the activation codec (early: after the last early conv/pool block)")
	fs.StringVar(&a.deadZones, "act-dead-zone", "0.5", "dead zones to try (comma-separated, in quantization steps; larger sends more zeros)")
	fs.IntVar(&a.fitN, "act-fit", 5000, "training images the codec is fitted on (the first N)")
	fs.IntVar(&a.heldN, "act-held", 5000, "held-back training images the candidates are scored on (the last N)")
	fs.Float64Var(&a.maxDrop, "max-accuracy-drop", 0.002, "accuracy a codec may lose against the uncoded cut, on the held-back images")
}

func (a *actFlags) config() (actcode.TuneConfig, error) {
	cfg := actcode.TuneConfig{MaxAccuracyDrop: a.maxDrop}
	if a.bits != "auto" {
		for _, f := range strings.Split(a.bits, ",") {
			b, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || b < 1 || b > 8 {
				return cfg, fmt.Errorf("--act-bits %q: want widths 1..8 or auto", a.bits)
			}
			cfg.Bits = append(cfg.Bits, b)
		}
	}
	for _, f := range strings.Split(a.deadZones, ",") {
		d, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil || d <= 0 || d > 4 {
			return cfg, fmt.Errorf("--act-dead-zone %q: want values in (0, 4]", a.deadZones)
		}
		cfg.DeadZones = append(cfg.DeadZones, float32(d))
	}
	if a.fitN < 1 || a.heldN < 1 || a.fitN+a.heldN > 60000 {
		return cfg, fmt.Errorf("--act-fit %d and --act-held %d: want at least 1 each, 60000 together", a.fitN, a.heldN)
	}
	if !(a.maxDrop > 0 && a.maxDrop < 1) {
		return cfg, fmt.Errorf("--max-accuracy-drop %v: want a value in (0, 1)", a.maxDrop)
	}
	return cfg, nil
}

// attach fits the codec candidates on g and stores the chosen one in g.
func (a *actFlags) attach(g *nn.Graph, rep *compressReport, threads int, stderr io.Writer) error {
	cfg, err := a.config()
	if err != nil {
		return err
	}
	cfg.Threads = threads
	d, err := loadFitHeld(g, a.cut, a.fitN, a.heldN)
	if err != nil {
		return err
	}
	name := d.cut
	tu, err := actcode.TuneAndAttach(g, d.prog, name, d.fit, d.held, d.heldLabels, cfg, stderr)
	if tu != nil {
		rep.ActCut, rep.ActUncoded, rep.ActCandidates = name, &tu.Uncoded, tu.Candidates
		if tu.Chosen >= 0 {
			rep.ActChosen = &tu.Candidates[tu.Chosen]
		}
	}
	return err
}
