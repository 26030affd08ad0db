package trace

import "sync"

// spanQueue is the bounded queue of finished spans that the batcher and
// the deferred provider share: producers append under a mutex and the one
// consumer swaps the whole slice out, so that queueing a span costs no
// goroutine wake-up (kick is signalled once, when kickAt spans wait).
// Past max spans, or once closed, spans are dropped and counted.
type spanQueue[T any] struct {
	max, kickAt int
	kick        chan struct{} // buffered 1

	mu      sync.Mutex
	items   []T
	spare   []T // the consumer's other buffer
	dropped int
	closed  bool
}

func newSpanQueue[T any](max, kickAt int) *spanQueue[T] {
	return &spanQueue[T]{max: max, kickAt: kickAt, kick: make(chan struct{}, 1)}
}

// push queues x, or counts it as dropped.
func (q *spanQueue[T]) push(x T) {
	q.mu.Lock()
	if q.closed || len(q.items) >= q.max {
		q.dropped++
		q.mu.Unlock()
		return
	}
	q.items = append(q.items, x)
	n := len(q.items)
	q.mu.Unlock()
	if n == q.kickAt {
		select {
		case q.kick <- struct{}{}:
		default:
		}
	}
}

// take swaps out the queued spans and the count dropped since the last
// take. The consumer hands the batch back with recycle; take and recycle
// are called under the consumer's own lock.
func (q *spanQueue[T]) take() (batch []T, dropped int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	batch, q.items = q.items, q.spare[:0]
	q.spare = nil
	dropped, q.dropped = q.dropped, 0
	return batch, dropped
}

// recycle keeps batch's memory for the next take.
func (q *spanQueue[T]) recycle(batch []T) {
	clear(batch)
	q.mu.Lock()
	q.spare = batch[:0]
	q.mu.Unlock()
}

// close makes later pushes drop.
func (q *spanQueue[T]) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// len is the number of spans waiting.
func (q *spanQueue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
