package partition

import (
	"math"
	"testing"
	"time"
)

// TestCandidatesJointChoice: the cut and the coding are chosen together
// under the accuracy budget: a coding that loses too much is never
// chosen however fast, one within the budget wins where its bytes make it
// fastest, and every prediction is Predict's with the coding's bytes and
// times.
func TestCandidatesJointChoice(t *testing.T) {
	m := chainModel(t)
	m.Accuracy = 0.99
	l := Link{Bandwidth: mbit(1), RTT: 20 * time.Millisecond}
	m.Codings = map[string][]Coding{
		CloudOnly:  {{Name: "png", Compact: true, Bytes: 9000, Elements: 1024, EncodeMS: 0.1, DecodeMS: 0.05, Accuracy: 0.99}},
		"after:n1": {{Name: "1 bits", Compact: true, Bits: 1, Bytes: 120, Elements: 4096, Accuracy: 0.90}},
		"after:n2": {
			{Name: AsComputed, Bytes: 100100, Accuracy: 0.99},
			{Name: "2 bits", Compact: true, Bits: 2, Bytes: 200, Elements: 25000, EncodeMS: 0.05, DecodeMS: 0.05, Accuracy: 0.9885},
			{Name: "1 bits", Compact: true, Bits: 1, Bytes: 90, Elements: 25000, EncodeMS: 0.05, DecodeMS: 0.05, Accuracy: 0.95},
		},
	}
	m.Sizes.Elements = map[string]int{"t3": 1000}
	cuts := m.DAG.Prefixes(false)
	cands, chosen, err := m.Candidates(cuts, l, 0.002)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cands {
		if c.Cut.Name == "after:n3" && (c.Coding.Name != AsComputed || c.BitsPerElement != 8*float64(c.Bytes)/1000 || c.Accuracy != 0.99) {
			t.Errorf("after:n3 as computed: %+v, %.3f bits/element", c.Coding, c.BitsPerElement)
		}
	}
	if len(cands) != len(cuts)+2 { // a cut's codings replace its requests as computed
		t.Fatalf("%d candidates for %d cuts, one with 3 codings", len(cands), len(cuts))
	}
	got := cands[chosen]
	if got.Cut.Name != "after:n2" || got.Coding.Name != "2 bits" || !got.Within {
		t.Fatalf("chose %s, want after:n2 / 2 bits", got.Key())
	}
	// Each prediction is Predict's with the coding's request.
	c, _ := m.DAG.CutByName("after:n2")
	plain, _ := m.Predict(c, l)
	want := plain.TotalMS - plain.TransferMS - plain.EncodeMS - plain.DecodeMS + float64(200+plain.ReplyBytes)*8/1e6*1e3 + 0.1
	if math.Abs(got.TotalMS-want) > 1e-9 || got.Bytes != 200 || got.BitsPerElement != 8*200/25000. {
		t.Errorf("predicted %.4f ms, %d bytes, %.3f bits/element; want %.4f, 200, 0.064", got.TotalMS, got.Bytes, got.BitsPerElement, want)
	}
	for _, c := range cands {
		if c.Coding.Name == "1 bits" && c.Within {
			t.Errorf("%s within a 0.002 budget at accuracy %.3f", c.Key(), c.Accuracy)
		}
		if c.TotalMS < got.TotalMS && c.Within && !c.Infeasible {
			t.Errorf("%s is faster (%.3f ms) than the choice within the budget", c.Key(), c.TotalMS)
		}
	}
	// A loose budget takes the 1-bit coding of after:n2 (fewer bytes).
	cands, chosen, _ = m.Candidates(cuts, l, 0.05)
	if k := cands[chosen].Key(); k != "after:n2 / 1 bits" {
		t.Errorf("budget 0.05: chose %s", k)
	}
	// Without accuracies every candidate is within the budget.
	m.Accuracy = 0
	if cands, chosen, _ = m.Candidates(cuts, l, 0.002); cands[chosen].Coding.Name != "1 bits" {
		t.Errorf("accuracy unknown: chose %s", cands[chosen].Key())
	}
	if _, _, err := m.Candidates(cuts, l, -1); err == nil {
		t.Error("a negative budget was accepted")
	}
}

// TestParetoFront: bytes against accuracy, only candidates no other
// beats on both.
func TestParetoFront(t *testing.T) {
	mk := func(name string, bytes int, acc float64) Candidate {
		return Candidate{Estimate: Estimate{Cut: Cut{Name: name}, Bytes: bytes}, Coding: Coding{Name: name}, Accuracy: acc}
	}
	cands := []Candidate{mk("a", 300, 0.99), mk("b", 200, 0.985), mk("c", 250, 0.98), mk("d", 90, 0.95), mk("e", 90, 0.94),
		mk(EdgeOnly, 0, 0.99), mk("f", 5000, 0.991)}
	var names []string
	for _, i := range ParetoFront(cands) {
		names = append(names, cands[i].Coding.Name)
	}
	if got := names; len(got) != 4 || got[0] != "d" || got[1] != "b" || got[2] != "a" || got[3] != "f" {
		t.Errorf("front %v, want [d b a f]", got)
	}
}
