package partition

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzReadProfile: any input gives a valid profile or ErrProfile, never a
// panic, and a valid profile survives a round trip.
func FuzzReadProfile(f *testing.F) {
	f.Add([]byte(`{"model":"m","clock":"wall","runs":3,"nodes_ms":{"a":1.5,"b":0}}`))
	f.Add([]byte(`{"nodes_ms":{"a":-1}}`))
	f.Add([]byte(`{"scale":-2,"nodes_ms":{}}`))
	f.Add([]byte(`{"nodes_ms":{"a":1e400}}`))
	f.Add([]byte(`{"nodes_ms":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadProfile(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrProfile) {
				t.Fatalf("error %v is not ErrProfile", err)
			}
			return
		}
		if p.TotalMS() < 0 {
			t.Fatalf("negative total %v", p.TotalMS())
		}
		var buf bytes.Buffer
		if err := p.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		q, err := ReadProfile(&buf)
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if q.TotalMS() != p.TotalMS() {
			t.Fatalf("round trip total %v, was %v", q.TotalMS(), p.TotalMS())
		}
	})
}

// FuzzCutByName: any name gives a cut that CutByName gives back, or ErrCut.
func FuzzCutByName(f *testing.F) {
	d, err := NewDAG(diamond())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"cloud-only", "edge-only", "after:a", "after:b+c", "after:c+b", "after:", "after:+", "after:zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, err := d.CutByName(name)
		if err != nil {
			if !errors.Is(err, ErrCut) {
				t.Fatalf("error %v is not ErrCut", err)
			}
			return
		}
		if c.Name != name {
			t.Fatalf("CutByName(%q) named %q", name, c.Name)
		}
	})
}
