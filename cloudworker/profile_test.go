package cloudworker_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/pipeline"
)

// TestProfileEndpoint: the worker measures a per-node profile at start and
// serves it on pipeline.ProfileSubject: every node of the model, non-negative
// times, the model's name; unknown hashes and oversized bodies get micro
// errors; the echo endpoint answers any message with one byte.
func TestProfileEndpoint(t *testing.T) {
	f, ws := newFixture(t, 1, cloudworker.Config{Workers: 1, ProfileRuns: 2})
	subj := pipeline.ProfileSubject(pipeline.DefaultSubject)
	for _, body := range [][]byte{nil, []byte(f.hash)} {
		msg, err := f.nc.Request(subj, body, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
			t.Fatalf("profile for %q: error %s %s", body, code, msg.Header.Get(micro.ErrorHeader))
		}
		if !bytes.Equal(msg.Data, ws[0].Profile(f.hash)) {
			t.Fatalf("endpoint and Profile differ")
		}
		p, err := partition.ReadProfile(bytes.NewReader(msg.Data))
		if err != nil {
			t.Fatal(err)
		}
		d, err := partition.NewDAG(f.prog.Graph())
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(d); err != nil {
			t.Fatal(err)
		}
		if p.Model != "toy" || p.Runs != 2 || p.Clock != "wall" {
			t.Fatalf("profile model %q runs %d clock %q", p.Model, p.Runs, p.Clock)
		}
		for _, n := range f.prog.Graph().Nodes {
			if _, ok := p.NodesMS[n.Name]; !ok {
				t.Fatalf("node %q missing from the profile", n.Name)
			}
		}
		if !(p.TotalMS() > 0) {
			t.Fatalf("profile total %v ms", p.TotalMS())
		}
	}
	for _, tc := range []struct {
		body []byte
		code string
	}{{[]byte("not-a-served-hash"), "404"}, {bytes.Repeat([]byte("x"), 200), "400"}} {
		msg, err := f.nc.Request(subj, tc.body, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got := msg.Header.Get(micro.ErrorCodeHeader); got != tc.code {
			t.Fatalf("body %.20q: code %q, want %s", tc.body, got, tc.code)
		}
	}
	msg, err := f.nc.Request(pipeline.EchoSubject(pipeline.DefaultSubject), make([]byte, 64<<10), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Data) != 1 {
		t.Fatalf("echo answered %d bytes", len(msg.Data))
	}
}

// TestProfileOff: ProfileRuns < 0 measures nothing and answers 404.
func TestProfileOff(t *testing.T) {
	f, ws := newFixture(t, 1, cloudworker.Config{Workers: 1, ProfileRuns: -1})
	if ws[0].Profile("") != nil {
		t.Fatal("profile measured with ProfileRuns -1")
	}
	msg, err := f.nc.Request(pipeline.ProfileSubject(pipeline.DefaultSubject), nil, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get(micro.ErrorCodeHeader); got != "404" {
		t.Fatalf("code %q, want 404", got)
	}
}
