package cloudworker_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/vmihailenco/msgpack/v5"
	"go.uber.org/goleak"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/pipetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixture struct {
	t     *testing.T
	nc    *nats.Conn
	prog  *nn.Program
	hash  string
	split *pipeline.Split
}

func newFixture(t *testing.T, n int, cfg cloudworker.Config) (*fixture, []*cloudworker.Worker) {
	t.Helper()
	s := pipetest.StartServer(t)
	prog, err := pipetest.Program()
	if err != nil {
		t.Fatal(err)
	}
	split, err := pipeline.NewSplit(prog, []string{"h3"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, nc: pipetest.Connect(t, s), prog: prog, hash: pipeline.ModelHash(prog.Graph()), split: split}
	var ws []*cloudworker.Worker
	for i := 0; i < n; i++ {
		w, err := cloudworker.New(pipetest.Connect(t, s), []cloudworker.Model{{Name: "toy", Program: prog}}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Stop() })
		ws = append(ws, w)
	}
	return f, ws
}

// request builds an encoded request for input seed at the fixture's cut.
func (f *fixture) request(id string, seed int, mut func(*pipeline.Request)) []byte {
	f.t.Helper()
	x := pipetest.Input(2, seed)
	mid, err := f.split.Head.NewRunner(1).Run(x)
	if err != nil {
		f.t.Fatal(err)
	}
	wt, err := pipeline.FromNN("h3", mid[0])
	if err != nil {
		f.t.Fatal(err)
	}
	r := &pipeline.Request{ID: id, Model: f.hash, Cut: "h3", Tensors: []pipeline.Tensor{wt},
		Deadline: time.Now().Add(10 * time.Second).UnixNano()}
	if mut != nil {
		// Mutated requests may be invalid: encode them without validation.
		r.Version = pipeline.Version
		mut(r)
		b, err := msgpack.Marshal(r)
		if err != nil {
			f.t.Fatal(err)
		}
		return b
	}
	b, err := pipeline.EncodeRequest(r)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) want(seed int) []float32 {
	out, err := f.prog.NewRunner(1).Run(pipetest.Input(2, seed))
	if err != nil {
		f.t.Fatal(err)
	}
	return out[0].F32
}

// call sends b and returns the decoded reply and the header error.
func (f *fixture) call(b []byte) (*pipeline.Reply, *pipeline.Error) {
	f.t.Helper()
	msg, err := f.nc.Request(pipeline.DefaultSubject, b, 5*time.Second)
	if err != nil {
		f.t.Fatalf("request: %v", err)
	}
	r, err := pipeline.DecodeReply(msg.Data, pipeline.Limits{})
	if err != nil {
		f.t.Fatalf("reply does not decode: %v", err)
	}
	he := pipeline.ErrorFromHeaders(msg.Header)
	if (he == nil) != (r.Err() == nil) || (he != nil && he.Code != r.Code) {
		f.t.Fatalf("header error %v disagrees with body %v", he, r.Err())
	}
	return r, he
}

func outputs(t *testing.T, r *pipeline.Reply) []float32 {
	t.Helper()
	if len(r.Outputs) != 1 || r.Outputs[0].Name != "y" {
		t.Fatalf("outputs %+v", r.Outputs)
	}
	y, err := r.Outputs[0].ToNN()
	if err != nil {
		t.Fatal(err)
	}
	return y.F32
}

func TestServeMatchesWholeModel(t *testing.T) {
	f, ws := newFixture(t, 1, cloudworker.Config{Workers: 2, Metadata: map[string]string{"profile": "p1", "model": "spoof"}})
	for seed := 0; seed < 5; seed++ {
		r, e := f.call(f.request(fmt.Sprint("req-", seed), seed, nil))
		if e != nil {
			t.Fatal(e)
		}
		if got, want := outputs(t, r), f.want(seed); !reflect.DeepEqual(got, want) {
			t.Errorf("seed %d: cloud %v, whole model %v", seed, got, want)
		}
		if r.Worker != ws[0].ID() || r.ComputeNs <= 0 {
			t.Errorf("reply worker %q compute %d", r.Worker, r.ComputeNs)
		}
	}
	// Other cuts of the same model are served too, also multi-tensor ones.
	for _, cut := range [][]string{{"x"}, {"h1"}, {"h4"}, {"h1", "h2"}} {
		s, err := pipeline.NewSplit(f.prog, cut)
		if err != nil {
			t.Fatal(err)
		}
		mid, _ := s.Head.NewRunner(1).Run(pipetest.Input(2, 3))
		req := &pipeline.Request{ID: "cut-" + s.ID, Model: f.hash, Cut: s.ID, Codec: pipeline.CodecZstd}
		for i, name := range s.Head.Outputs() {
			wt, _ := pipeline.FromNN(name, mid[i])
			req.Tensors = append(req.Tensors, wt)
		}
		b, _ := pipeline.EncodeRequest(req)
		r, e := f.call(b)
		if e != nil {
			t.Fatalf("cut %v: %v", cut, e)
		}
		if got, want := outputs(t, r), f.want(3); !reflect.DeepEqual(got, want) {
			t.Errorf("cut %v: %v, want %v", cut, got, want)
		}
	}
	info := ws[0].Info()
	if info.Name != "splitinfer" || info.Metadata["model_hash"] != f.hash || info.Metadata["model"] != "toy" || info.Metadata["profile"] != "p1" {
		t.Errorf("service info %+v", info)
	}
	if len(info.Endpoints) != 3 || info.Endpoints[0].Subject != pipeline.DefaultSubject || info.Endpoints[0].QueueGroup != "splitinfer" {
		t.Errorf("endpoints %+v", info.Endpoints)
	}
}

func TestErrorReplies(t *testing.T) {
	f, ws := newFixture(t, 1, cloudworker.Config{Workers: 1, Limits: pipeline.Limits{MaxMessageBytes: 1 << 20}})
	nest := append(bytes.Repeat([]byte{0x91}, 1<<20-1), 0xc0)
	tests := []struct {
		name string
		msg  []byte
		code pipeline.Code
	}{
		{"5-byte bomb", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, pipeline.CodeBadRequest},
		{"1 MiB nest of arrays", nest, pipeline.CodeBadRequest},
		{"garbage", []byte("\x00\x01garbage"), pipeline.CodeBadRequest},
		{"oversized", make([]byte, 1<<20+1), pipeline.CodeTooLarge},
		{"shape disagrees with data", f.request("a", 0, func(r *pipeline.Request) { r.Tensors[0].Shape = []int64{2, 5} }), pipeline.CodeBadRequest},
		{"shape disagrees with model", f.request("b", 0, func(r *pipeline.Request) {
			r.Tensors[0].Shape = []int64{2, 2, 2}
		}), pipeline.CodeBadRequest},
		{"wrong hash", f.request("c", 0, func(r *pipeline.Request) { r.Model = "deadbeef" }), pipeline.CodeModelMismatch},
		{"unknown cut", f.request("d", 0, func(r *pipeline.Request) { r.Cut = "nope" }), pipeline.CodeBadRequest},
		{"cut that is not a cut", f.request("e", 0, func(r *pipeline.Request) { r.Cut = "h2" }), pipeline.CodeBadRequest},
		{"wrong tensor name", f.request("f", 0, func(r *pipeline.Request) { r.Tensors[0].Name = "h4" }), pipeline.CodeBadRequest},
		{"expired deadline", f.request("g", 0, func(r *pipeline.Request) { r.Deadline = time.Now().Add(-time.Second).UnixNano() }), pipeline.CodeDeadline},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// An error is a reply, not a timeout: f.call fails if none comes.
			_, e := f.call(tc.msg)
			if e == nil || e.Code != tc.code {
				t.Fatalf("got %v, want code %d", e, tc.code)
			}
			// The next valid request succeeds.
			r, e := f.call(f.request("ok-"+tc.name, 1, nil))
			if e != nil {
				t.Fatalf("valid request after %s: %v", tc.name, e)
			}
			if got := outputs(t, r); !reflect.DeepEqual(got, f.want(1)) {
				t.Errorf("valid request after %s: %v", tc.name, got)
			}
		})
	}
	if st := ws[0].Stats(); st.Errors < int64(len(tests)) {
		t.Errorf("stats %+v count fewer errors than sent", st)
	}
	// micro's STATS carries the worker's counters.
	msg, err := f.nc.Request("$SRV.STATS.splitinfer", nil, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var st micro.Stats
	if err := json.Unmarshal(msg.Data, &st); err != nil || len(st.Endpoints) != 3 { // infer, profile, echo
		t.Fatalf("STATS %s: %v", msg.Data, err)
	}
	var data cloudworker.Stats
	if err := json.Unmarshal(st.Endpoints[0].Data, &data); err != nil || data.Errors < int64(len(tests)) || data.Computed == 0 {
		t.Errorf("STATS data %s: %v", st.Endpoints[0].Data, err)
	}
}

// TestQueueFullRejectsAtOnce: with the one worker goroutine held in the
// tail and the queue full, every further request is answered 503 while the
// held ones are still running (no timing: the slow node waits on a gate).
func TestQueueFullRejectsAtOnce(t *testing.T) {
	f, ws := newFixture(t, 1, cloudworker.Config{Workers: 1, QueueLen: 1})
	gate := pipetest.DelayOf(f.prog.Graph())
	gate.Hold()
	defer gate.Release()
	const n = 6
	results := make(chan pipeline.Code, n)
	for i := 0; i < n; i++ {
		b := f.request(fmt.Sprint("q", i), i, nil)
		go func() {
			msg, err := f.nc.Request(pipeline.DefaultSubject, b, 30*time.Second)
			if err != nil {
				results <- -1
				return
			}
			code := pipeline.CodeOK
			if e := pipeline.ErrorFromHeaders(msg.Header); e != nil {
				code = e.Code
				if e.Code == pipeline.CodeQueueFull && (e.RetryAfter < time.Millisecond || e.RetryAfter > time.Second) {
					t.Errorf("503 retry hint %v, want 1ms..1s", e.RetryAfter)
				}
			}
			results <- code
		}()
	}
	// Every request reaches the worker; those it rejects are answered
	// while the accepted ones are held.
	var full int
	for deadline := time.Now().Add(20 * time.Second); ws[0].Stats().Received < n || full < int(ws[0].Stats().QueueFull); {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, %d rejections answered while the tail is held", ws[0].Stats(), full)
		}
		select {
		case c := <-results:
			if c != pipeline.CodeQueueFull {
				t.Fatalf("outcome %d while the tail is held, want only 503s", c)
			}
			full++
		case <-time.After(10 * time.Millisecond):
		}
	}
	gate.Release()
	ok := 0
	for i := full; i < n; i++ {
		if c := <-results; c == pipeline.CodeOK {
			ok++
		} else {
			t.Errorf("unexpected outcome %d after the release", c)
		}
	}
	// One runs, one waits in the queue; the rest are rejected.
	if ok < 2 || full < 1 || ok+full != n {
		t.Errorf("%d ok, %d queue full of %d", ok, full, n)
	}
	if st := ws[0].Stats(); st.QueueFull != int64(full) {
		t.Errorf("stats %+v, %d rejected", st, full)
	}
}

func TestRetryAnsweredOnce(t *testing.T) {
	f, ws := newFixture(t, 1, cloudworker.Config{Workers: 2})
	pipetest.DelayOf(f.prog.Graph()).Set(100 * time.Millisecond)
	b := f.request("same-id", 4, nil)
	var wg sync.WaitGroup
	replies := make([]*pipeline.Reply, 3)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg, err := f.nc.Request(pipeline.DefaultSubject, b, 5*time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			replies[i], _ = pipeline.DecodeReply(msg.Data, pipeline.Limits{})
		}()
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	r, _ := f.call(b) // after completion: from the cache
	replies = append(replies, r)
	cached := 0
	for _, r := range replies {
		if r == nil || r.Err() != nil {
			t.Fatalf("reply %+v", r)
		}
		if !reflect.DeepEqual(outputs(t, r), f.want(4)) {
			t.Error("retry got a different answer")
		}
		if r.Cached {
			cached++
		}
	}
	st := ws[0].Stats()
	if st.Computed != 1 || cached != 3 || st.Cached != 3 {
		t.Errorf("computed %d, cached replies %d, stats %+v; want 1 computation for 4 requests", st.Computed, cached, st)
	}
}

func TestStopDrains(t *testing.T) {
	f, ws := newFixture(t, 1, cloudworker.Config{Workers: 1, QueueLen: 8})
	pipetest.DelayOf(f.prog.Graph()).Set(100 * time.Millisecond)
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		b := f.request(fmt.Sprint("drain", i), i, nil)
		seed := i
		go func() {
			msg, err := f.nc.Request(pipeline.DefaultSubject, b, 5*time.Second)
			if err != nil {
				errs <- err
				return
			}
			r, err := pipeline.DecodeReply(msg.Data, pipeline.Limits{})
			if err != nil {
				errs <- err
				return
			}
			if e := r.Err(); e != nil {
				errs <- e
				return
			}
			y, _ := r.Outputs[0].ToNN()
			if !reflect.DeepEqual(y.F32, f.want(seed)) {
				errs <- errors.New("wrong answer")
				return
			}
			errs <- nil
		}()
	}
	// Wait until all are queued or running, then stop.
	deadline := time.Now().Add(5 * time.Second)
	for ws[0].Stats().Received < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := ws[0].Stop(); err != nil {
		t.Fatal(err)
	}
	if err := ws[0].Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Errorf("in-flight request: %v", err)
		}
	}
	// Stopped: nobody answers any more.
	if _, err := f.nc.Request(pipeline.DefaultSubject, f.request("late", 0, nil), time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("request after Stop: %v, want no responders", err)
	}
}

func TestQueueGroupSharesLoad(t *testing.T) {
	f, ws := newFixture(t, 2, cloudworker.Config{Workers: 1})
	for i := 0; i < 40; i++ {
		if _, e := f.call(f.request(fmt.Sprint("lb", i), i, nil)); e != nil {
			t.Fatal(e)
		}
	}
	a, b := ws[0].Stats().Computed, ws[1].Stats().Computed
	if a+b != 40 || a == 0 || b == 0 {
		t.Errorf("workers computed %d and %d of 40", a, b)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []cloudworker.Config{
		{Subject: "has space"},
		{Subject: "trailing."},
		{Workers: -1},
		{Threads: 1000},
		{QueueLen: -5},
		{Dedup: -2},
		{Codec: "lz4"},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (cloudworker.Config{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	if _, err := cloudworker.New(nil, nil, cloudworker.Config{}); err == nil {
		t.Error("nil connection accepted")
	}
}

func TestDynamicBatching(t *testing.T) {
	f, ws := newFixture(t, 1, cloudworker.Config{Workers: 1, QueueLen: 16, MaxBatch: 8})
	pipetest.DelayOf(f.prog.Graph()).Set(200 * time.Millisecond)
	// Requests at two cuts, sent while the worker is busy with the first.
	cutH4, err := pipeline.NewSplit(f.prog, []string{"h4"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 7
	type answer struct {
		seed int
		r    *pipeline.Reply
		err  error
	}
	answers := make(chan answer, n)
	for i := 0; i < n; i++ {
		var b []byte
		if i%3 == 2 {
			mid, _ := cutH4.Head.NewRunner(1).Run(pipetest.Input(2, i))
			wt, _ := pipeline.FromNN("h4", mid[0])
			b, _ = pipeline.EncodeRequest(&pipeline.Request{ID: fmt.Sprint("b", i), Model: f.hash, Cut: "h4", Tensors: []pipeline.Tensor{wt}})
		} else {
			b = f.request(fmt.Sprint("b", i), i, nil)
		}
		seed := i
		go func() {
			msg, err := f.nc.Request(pipeline.DefaultSubject, b, 5*time.Second)
			if err != nil {
				answers <- answer{seed, nil, err}
				return
			}
			r, err := pipeline.DecodeReply(msg.Data, pipeline.Limits{})
			answers <- answer{seed, r, err}
		}()
		if i == 0 {
			time.Sleep(30 * time.Millisecond) // the first one is running
		}
	}
	for i := 0; i < n; i++ {
		a := <-answers
		if a.err != nil || a.r.Err() != nil {
			t.Fatalf("seed %d: %v %v", a.seed, a.err, a.r)
		}
		if got := outputs(t, a.r); !reflect.DeepEqual(got, f.want(a.seed)) {
			t.Errorf("seed %d: batched answer %v, want %v", a.seed, got, f.want(a.seed))
		}
	}
	st := ws[0].Stats()
	if st.Batches < 1 || st.Computed != n {
		t.Errorf("stats %+v: want batched runs and %d computed requests", st, n)
	}
	t.Logf("stats %+v", st)
}
