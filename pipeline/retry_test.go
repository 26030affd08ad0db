package pipeline_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/pipeline"
)

func TestRetryPolicyPause(t *testing.T) {
	now := time.Unix(1000, 0)
	far := now.Add(time.Hour)
	p := pipeline.RetryPolicy{Base: 8 * time.Millisecond, Max: 100 * time.Millisecond}
	other := errors.New("timeout")
	for attempt, want := range map[int]time.Duration{1: 8 * time.Millisecond, 2: 16 * time.Millisecond, 4: 64 * time.Millisecond, 5: 100 * time.Millisecond, 50: 100 * time.Millisecond} {
		seen := map[time.Duration]bool{}
		for i := 0; i < 200; i++ {
			d, ok := p.Pause(attempt, other, now, far)
			if !ok || d < want/2 || d > want {
				t.Fatalf("attempt %d: pause %v (%v), want %v..%v", attempt, d, ok, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("attempt %d: %d distinct pauses in 200: not jittered", attempt, len(seen))
		}
	}
	// A 503's hint is a floor.
	hinted := &pipeline.Error{Code: pipeline.CodeQueueFull, Message: "full", RetryAfter: 300 * time.Millisecond}
	if d, ok := p.Pause(1, hinted, now, far); !ok || d < 300*time.Millisecond || d > 450*time.Millisecond {
		t.Errorf("hinted pause %v %v, want 300..450ms", d, ok)
	}
	// The deadline bounds the retries, not a count...
	if _, ok := p.Pause(1000, other, now, far); !ok {
		t.Error("a retry that fits before the deadline refused")
	}
	if _, ok := p.Pause(1, hinted, now, now.Add(200*time.Millisecond)); ok {
		t.Error("a retry after the deadline allowed")
	}
	// ...unless Attempts is set.
	if _, ok := (pipeline.RetryPolicy{Attempts: 3}).Pause(3, other, now, far); ok {
		t.Error("a 4th attempt allowed with Attempts 3")
	}
}

func TestErrorFromHeadersRetryAfter(t *testing.T) {
	h := pipeline.ErrorHeaders(pipeline.Errorf(pipeline.CodeQueueFull, "full"))
	h.Set(pipeline.HeaderRetryAfter, pipeline.RetryAfterValue(25*time.Millisecond))
	if e := pipeline.ErrorFromHeaders(h); e == nil || e.RetryAfter != 25*time.Millisecond || pipeline.RetryAfter(e) != 25*time.Millisecond {
		t.Errorf("ErrorFromHeaders = %+v", e)
	}
	for _, bad := range []string{"", "-5", "x", "0"} {
		h := nats.Header{pipeline.HeaderErrorCode: {"503"}, pipeline.HeaderRetryAfter: {bad}}
		if e := pipeline.ErrorFromHeaders(h); e.RetryAfter != 0 {
			t.Errorf("hint %q: %v", bad, e.RetryAfter)
		}
	}
	if pipeline.RetryAfter(errors.New("x")) != 0 {
		t.Error("hint from an uncoded error")
	}
}
