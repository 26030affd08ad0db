package trace

import "time"

// SpanTime is the timestamp to give a span (start or end) for the clock
// reading t, taken at or after base, the first reading of the request on
// this side of the wire: base's wall-clock time plus the monotonic time
// since base, cut to whole microseconds.
//
// All of one side's span times come from one base, so a stepping wall clock
// (NTP, a VM's clock sync) cannot move a child out of its parent; and cut to
// microseconds, what Jaeger keeps, a child that nests in nanoseconds still
// nests in Jaeger (which truncates start and duration separately, so a
// child ending with its parent could otherwise overhang it by 1µs).
// Durations are then within 1µs of the stage times taken from the same
// readings.
func SpanTime(base, t time.Time) time.Time {
	return base.Add(t.Sub(base)).Truncate(time.Microsecond)
}
