package edgeworker_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/pipetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func setup(t *testing.T, clouds int, ccfg cloudworker.Config) (*server.Server, *nn.Program, []*cloudworker.Worker) {
	t.Helper()
	s := pipetest.StartServer(t)
	prog, err := pipetest.Program()
	if err != nil {
		t.Fatal(err)
	}
	var ws []*cloudworker.Worker
	for i := 0; i < clouds; i++ {
		w, err := cloudworker.New(pipetest.Connect(t, s), []cloudworker.Model{{Name: "toy", Program: prog}}, ccfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Stop() })
		ws = append(ws, w)
	}
	return s, prog, ws
}

func whole(t *testing.T, prog *nn.Program, seed int) []float32 {
	out, err := prog.NewRunner(1).Run(pipetest.Input(3, seed))
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out[0].F32...)
}

func TestSplitMatchesWhole(t *testing.T) {
	s, prog, _ := setup(t, 1, cloudworker.Config{})
	nc := pipetest.Connect(t, s)
	for _, tc := range []struct {
		cut   []string
		codec pipeline.Codec
	}{
		{nil, pipeline.CodecNone},
		{[]string{"x"}, pipeline.CodecNone},
		{[]string{"h3"}, pipeline.CodecZstd},
		{[]string{"h4"}, pipeline.CodecNone},
		{[]string{"h1", "h2"}, pipeline.CodecZstd},
	} {
		e, err := edgeworker.New(nc, prog, edgeworker.Config{Cut: tc.cut, Codec: tc.codec})
		if err != nil {
			t.Fatal(err)
		}
		for seed := 0; seed < 3; seed++ {
			x := pipetest.Input(3, seed)
			res, err := e.Infer(context.Background(), x)
			if err != nil {
				t.Fatalf("cut %v: %v", tc.cut, err)
			}
			if !reflect.DeepEqual(res.Outputs[0].F32, whole(t, prog, seed)) {
				t.Errorf("cut %v seed %d: split %v, whole %v", tc.cut, seed, res.Outputs[0].F32, whole(t, prog, seed))
			}
			if res.Fallback || res.Attempts != 1 || res.Worker == "" || res.InputBytes != 3*4*4 || res.WireBytes == 0 {
				t.Errorf("cut %v: result %+v", tc.cut, res)
			}
			if res.Timings.CloudCompute <= 0 || res.Timings.Total < res.Timings.CloudCompute {
				t.Errorf("cut %v: timings %+v", tc.cut, res.Timings)
			}
		}
		if tc.cut == nil && e.Cut() != "h1" {
			t.Errorf("auto cut %q", e.Cut())
		}
	}
}

func TestWireQuantization(t *testing.T) {
	s, prog, _ := setup(t, 1, cloudworker.Config{})
	nc := pipetest.Connect(t, s)
	plain, _ := edgeworker.New(nc, prog, edgeworker.Config{Cut: []string{"h3"}})
	for _, dt := range []nn.DType{nn.Uint8, nn.Int8} {
		e, err := edgeworker.New(nc, prog, edgeworker.Config{Cut: []string{"h3"}, WireDType: dt})
		if err != nil {
			t.Fatal(err)
		}
		x := pipetest.Input(3, 1)
		res, err := e.Infer(context.Background(), x)
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := plain.Infer(context.Background(), x)
		if res.WireBytes >= ref.WireBytes {
			t.Errorf("%v: %d wire bytes, float32 %d", dt, res.WireBytes, ref.WireBytes)
		}
		want := whole(t, prog, 1)
		for i, v := range res.Outputs[0].F32 {
			if math.Abs(float64(v-want[i])) > 0.5 {
				t.Errorf("%v: output %d = %v, want about %v", dt, i, v, want[i])
			}
		}
	}
}

func TestFallback(t *testing.T) {
	s := pipetest.StartServer(t)
	prog, _ := pipetest.Program()
	nc := pipetest.Connect(t, s)
	off, err := edgeworker.New(nc, prog, edgeworker.Config{Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := off.Infer(context.Background(), pipetest.Input(3, 0)); !errors.Is(err, edgeworker.ErrNoCloud) {
		t.Errorf("no cloud, no fallback: %v", err)
	}
	on, _ := edgeworker.New(nc, prog, edgeworker.Config{Attempts: 2, Fallback: true})
	res, err := on.Infer(context.Background(), pipetest.Input(3, 2))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Fallback || res.Attempts != 2 || !reflect.DeepEqual(res.Outputs[0].F32, whole(t, prog, 2)) {
		t.Errorf("fallback result %+v", res)
	}
	if st := on.Stats(); st.Fallbacks != 1 || st.Retries != 1 {
		t.Errorf("stats %+v", st)
	}
	local, err := edgeworker.New(nil, prog, edgeworker.Config{Fallback: true})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := local.Infer(context.Background(), pipetest.Input(3, 2)); err != nil || !res.Fallback {
		t.Errorf("local only: %+v %v", res, err)
	}
}

func TestRetryAfterTimeoutAnsweredFromCache(t *testing.T) {
	s, prog, ws := setup(t, 1, cloudworker.Config{Workers: 1})
	nc := pipetest.Connect(t, s)
	pipetest.DelayOf(prog.Graph()).Set(300 * time.Millisecond)
	e, _ := edgeworker.New(nc, prog, edgeworker.Config{Cut: []string{"h3"}, Timeout: 120 * time.Millisecond, Attempts: 10, Backoff: time.Millisecond})
	res, err := e.Infer(context.Background(), pipetest.Input(3, 5))
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts < 2 || !res.Cached {
		t.Errorf("result %+v: want a retry answered from the cache", res)
	}
	if st := ws[0].Stats(); st.Computed != 1 {
		t.Errorf("cloud computed %d times for one request id", st.Computed)
	}
	if !reflect.DeepEqual(res.Outputs[0].F32, whole(t, prog, 5)) {
		t.Error("wrong answer")
	}
}

func TestEveryInputOneOutcome(t *testing.T) {
	s, prog, ws := setup(t, 2, cloudworker.Config{Workers: 1, QueueLen: 1})
	nc := pipetest.Connect(t, s)
	pipetest.DelayOf(prog.Graph()).Set(5 * time.Millisecond)
	e, _ := edgeworker.New(nc, prog, edgeworker.Config{Cut: []string{"h3"}, Concurrency: 8, Attempts: 4, Backoff: 2 * time.Millisecond, Fallback: true})
	const n = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.Infer(context.Background(), pipetest.Input(3, i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				outcomes["error"]++
			case !reflect.DeepEqual(res.Outputs[0].F32, whole(t, prog, i)):
				outcomes["wrong"]++
			case res.Fallback:
				outcomes["fallback"]++
			default:
				outcomes["cloud"]++
			}
		}()
	}
	wg.Wait()
	st := e.Stats()
	if outcomes["error"] != 0 || outcomes["wrong"] != 0 || outcomes["cloud"]+outcomes["fallback"] != n {
		t.Errorf("outcomes %v of %d", outcomes, n)
	}
	if st.Requests != n || st.OK+st.Errors != n || st.Fallbacks != int64(outcomes["fallback"]) {
		t.Errorf("stats %+v, outcomes %v", st, outcomes)
	}
	if ws[0].Stats().QueueFull+ws[1].Stats().QueueFull > 0 && st.Retries == 0 {
		t.Error("503s without retries")
	}
	t.Logf("outcomes %v, stats %+v", outcomes, st)
}

func TestContextCancel(t *testing.T) {
	s, prog, _ := setup(t, 1, cloudworker.Config{Workers: 1})
	nc := pipetest.Connect(t, s)
	pipetest.DelayOf(prog.Graph()).Set(500 * time.Millisecond)
	e, _ := edgeworker.New(nc, prog, edgeworker.Config{Cut: []string{"h3"}, Fallback: true})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := e.Infer(ctx, pipetest.Input(3, 0)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled request: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []edgeworker.Config{
		{Subject: "a b"}, {WireDType: nn.Float32}, {Attempts: -1}, {Timeout: -1}, {Concurrency: -2}, {Codec: "x"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	prog, _ := pipetest.Program()
	if _, err := edgeworker.New(nil, prog, edgeworker.Config{}); err == nil {
		t.Error("nil connection without fallback accepted")
	}
	if _, err := edgeworker.New(nil, prog, edgeworker.Config{Fallback: true, Cut: []string{"h2"}}); !errors.Is(err, pipeline.ErrBadRequest) {
		t.Errorf("bad cut: %v", err)
	}
}
