package pipeline_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/splitinfer/splitinfer/nn"

	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/pipetest"
)

func TestCuts(t *testing.T) {
	p, err := pipetest.Program()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range pipeline.Cuts(p) {
		got = append(got, c.Tensor)
	}
	if want := []string{"x", "h1", "h3", "h4"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Cuts = %v, want %v", got, want)
	}
	auto, err := pipeline.EarlyCut(p)
	if err != nil || auto != "h1" {
		t.Errorf("EarlyCut = %q, %v; want h1 (first cut, no conv/pool block)", auto, err)
	}
}

func TestSplitMatchesWhole(t *testing.T) {
	p, err := pipetest.Program()
	if err != nil {
		t.Fatal(err)
	}
	x := pipetest.Input(5, 1)
	whole, err := p.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range [][]string{{"x"}, {"h1"}, {"h3"}, {"h4"}, {"h2", "h1"}} {
		s, err := pipeline.NewSplit(p, cut)
		if err != nil {
			t.Fatalf("cut %v: %v", cut, err)
		}
		mid, err := s.Head.NewRunner(1).Run(x)
		if err != nil {
			t.Fatalf("cut %v head: %v", cut, err)
		}
		// Send the head's outputs through the wire format, in tail order.
		byName := map[string]pipeline.Tensor{}
		for i, name := range s.Head.Outputs() {
			w, err := pipeline.FromNN(name, mid[i])
			if err != nil {
				t.Fatal(err)
			}
			byName[name] = w
		}
		tailIn := make([]*nn.Tensor, len(s.Tail.Inputs()))
		for i, name := range s.Tail.Inputs() {
			w := byName[name]
			tailIn[i], err = w.ToNN()
			if err != nil {
				t.Fatal(err)
			}
		}
		out, err := s.Tail.NewRunner(1).Run(tailIn...)
		if err != nil {
			t.Fatalf("cut %v tail: %v", cut, err)
		}
		if !reflect.DeepEqual(out[0].F32, whole[0].F32) {
			t.Errorf("cut %v: split %v, whole %v", cut, out[0].F32, whole[0].F32)
		}
		if s.ID != pipeline.CutID(cut) {
			t.Errorf("split id %q", s.ID)
		}
	}
	for _, bad := range [][]string{{"h2"}, {"nope"}, {}, {"h1", "h1"}} {
		if _, err := pipeline.NewSplit(p, bad); !errors.Is(err, pipeline.ErrBadRequest) {
			t.Errorf("cut %v: err %v, want a 400", bad, err)
		}
	}
}

func TestCutID(t *testing.T) {
	if id := pipeline.CutID([]string{"b", "a"}); id != "a,b" {
		t.Errorf("CutID = %q", id)
	}
	if names, err := pipeline.ParseCutID("a,b"); err != nil || !reflect.DeepEqual(names, []string{"a", "b"}) {
		t.Errorf("ParseCutID = %v, %v", names, err)
	}
	for _, bad := range []string{"", "a,,b", "a,a"} {
		if _, err := pipeline.ParseCutID(bad); err == nil {
			t.Errorf("ParseCutID(%q) accepted", bad)
		}
	}
}
