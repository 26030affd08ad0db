package system

import (
	"fmt"
	"io"
	"sort"
)

// WriteText writes the summary as the run and edge commands print it.
func (s *Summary) WriteText(w io.Writer) {
	fmt.Fprintf(w, "model       %s (hash %.12s)\n", s.Model, s.ModelHash)
	fmt.Fprintf(w, "cut         %s\n", s.Cut)
	if p := s.Plan; p != nil {
		choice := p.Choice
		if p.Coding != "" {
			choice += " / " + p.Coding
		}
		fmt.Fprintf(w, "partition   chose %s: predicted %.2f ms, measured p50 %.2f ms (prediction %+.1f%%), mean %.2f ms; link %s; decided in %.0f us\n",
			choice, p.PredictedMS, s.Latency.P50, 100*(p.PredictedMS-s.Latency.P50)/s.Latency.P50, s.Latency.Mean, p.Link, p.DecisionUS)
		if p.Adaptive {
			fmt.Fprintf(w, "            adaptive: %d moves\n", p.Moves)
		}
		for _, n := range p.Notes {
			fmt.Fprintf(w, "            %s\n", n)
		}
	}
	if len(s.Cuts) > 1 {
		names := make([]string, 0, len(s.Cuts))
		for c := range s.Cuts {
			names = append(names, c)
		}
		sort.Strings(names)
		for _, c := range names {
			fmt.Fprintf(w, "            %d requests at %s\n", s.Cuts[c], c)
		}
	}
	fmt.Fprintf(w, "images      %d   errors %d   fallbacks %d   retries %d\n", s.Images, s.Errors, s.Fallbacks, s.Retries)
	fmt.Fprintf(w, "accuracy    %.4f (%d/%d)\n", s.Accuracy, s.Correct, s.Images)
	if s.Exited > 0 {
		fmt.Fprintf(w, "early exit  %d answered at the edge (%.1f%%), sending nothing; exit head %.3f ms\n", s.Exited, 100*s.ExitRate, s.Stages.Exit)
	}
	fmt.Fprintf(w, "latency ms  p50 %.3f   p95 %.3f   p99 %.3f   (mean %.3f, max %.3f)\n",
		s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Mean, s.Latency.Max)
	fmt.Fprintf(w, "throughput  %.0f requests/s with %d in flight (%.2f s)\n", s.RequestsPerSec, s.Concurrency, s.Seconds)
	st := s.Stages
	fmt.Fprintf(w, "stages ms   edge compute %.3f   encode %.3f   transit %.3f   cloud queue %.3f   cloud decode %.3f   cloud compute %.3f   reply decode %.3f",
		st.EdgeCompute, st.Encode, st.Transit, st.CloudQueue, st.CloudDecode, st.CloudCompute, st.Decode)
	if s.Fallbacks > 0 {
		fmt.Fprintf(w, "   fallback %.3f", st.Fallback)
	}
	fmt.Fprintln(w)
	if s.InputBytes > 0 && s.InputBytesUint8 > 0 {
		fmt.Fprintf(w, "bytes       %.0f per request = %.2fx the %d-byte float32 input, %.2fx the %d-byte uint8 image; reply %.0f\n",
			s.BytesPerRequest, s.BytesPerRequest/float64(s.InputBytes), s.InputBytes,
			s.BytesPerRequest/float64(s.InputBytesUint8), s.InputBytesUint8, s.ReplyBytes)
	}
	for _, e := range s.ErrorSamples {
		fmt.Fprintf(w, "error       %s\n", e)
	}
}
