package pipeline

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"time"
)

// HeaderRetryAfter is the header of a 503 reply that says how long the
// worker expects its queue to need before it takes more work, in
// milliseconds.
const HeaderRetryAfter = "Splitinfer-Retry-After-Ms"

// RetryPolicy decides when a failed request is tried again: a budget in
// time (the request's deadline), not a count of immediate attempts. Pauses
// grow exponentially from Base to Max, are jittered (so edges that failed
// together do not retry together), and are at least a 503's retry hint.
// Retries keep the request id, so a worker that already computed the
// request answers it from its reply cache. The zero value is usable.
type RetryPolicy struct {
	// Base is the pause after the first failed attempt (default 5ms).
	Base time.Duration
	// Max caps a pause (default 1s).
	Max time.Duration
	// Attempts, when positive, also bounds the number of attempts;
	// 0 leaves only the deadline.
	Attempts int
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Base <= 0 {
		p.Base = 5 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = time.Second
	}
	if p.Max < p.Base {
		p.Max = p.Base
	}
	return p
}

// Pause returns how long to wait after failed attempt number attempt
// (1-based) that ended with err, and whether another attempt fits: it must
// start before deadline and the attempt count must allow it.
func (p RetryPolicy) Pause(attempt int, err error, now, deadline time.Time) (time.Duration, bool) {
	p = p.withDefaults()
	if p.Attempts > 0 && attempt >= p.Attempts {
		return 0, false
	}
	backoff := p.Base
	for i := 1; i < attempt && backoff < p.Max; i++ {
		backoff *= 2
	}
	backoff = min(backoff, p.Max)
	// Equal jitter: half fixed, half random.
	pause := backoff/2 + rand.N(backoff/2+1)
	if hint := RetryAfter(err); hint > 0 {
		pause = max(pause, hint+rand.N(hint/2+1))
	}
	if !now.Add(pause).Before(deadline) {
		return 0, false
	}
	return pause, true
}

// RetryAfter is the retry hint a coded error carries (0 without one).
func RetryAfter(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// retryAfterHeader parses a HeaderRetryAfter value (0 when absent or bad;
// at most a minute).
func retryAfterHeader(v string) time.Duration {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return 0
	}
	return min(time.Duration(ms)*time.Millisecond, time.Minute)
}

// RetryAfterValue formats d for HeaderRetryAfter (whole milliseconds, at
// least 1).
func RetryAfterValue(d time.Duration) string {
	return strconv.FormatInt(max(d.Milliseconds(), 1), 10)
}
