// Package progress draws the long commands' progress (train, compress's
// calibration, profiling, sweep) on a terminal: the libraries report
// progress through a callback in their config, and these callbacks draw
// it as a bar redrawn in place at most a few times a second, only when
// the writer is a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/splitinfer/splitinfer/compress/train"
)

// isTerminal reports whether w is a terminal (a character device: progress
// is drawn only there, not in a pipe, a file or a test's buffer).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// bar draws frac (0..1) as a 30-column bar.
func bar(frac float64) string {
	const width = 30
	fill := min(max(int(frac*width), 0), width)
	b := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	if fill < width {
		b = b[:fill] + ">" + b[fill+1:]
	}
	return b
}

// Bar returns a callback drawing "label [bar] pct" on w for a
// library's Progress(done, total), or nil when w is not a terminal. The
// line is ended when done reaches total.
func Bar(w io.Writer, label string) func(done, total int) {
	if !isTerminal(w) {
		return nil
	}
	var last time.Time
	return func(done, total int) {
		if total <= 0 || done < total && time.Since(last) < 250*time.Millisecond {
			return
		}
		last = time.Now()
		frac := float64(done) / float64(total)
		fmt.Fprintf(w, "\r%s [%s] %5.1f%% %d/%d ", label, bar(frac), 100*frac, done, total)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}

// Training renders training progress on w, at most a few times a second,
// when w is a terminal; elsewhere (a log file, CI) only each epoch's line.
func Training(w io.Writer, quiet bool) func(train.Progress) {
	if quiet {
		return nil
	}
	tty := isTerminal(w)
	var last time.Time
	return func(p train.Progress) {
		if !tty && !p.EpochDone {
			return
		}
		if !p.EpochDone && time.Since(last) < 250*time.Millisecond && p.Seen < p.Total {
			return
		}
		last = time.Now()
		frac := float64(p.Seen) / float64(p.Total)
		cr := "\r"
		if !tty {
			cr = ""
		}
		fmt.Fprintf(w, cr+"epoch %d/%d [%s] %5.1f%% loss %.4f acc %.4f %6.0f img/s ETA %s ",
			p.Epoch, p.Epochs, bar(frac), 100*frac, p.Loss, p.Acc, p.ImagesPerSec, p.ETA.Round(time.Second))
		if p.EpochDone {
			fmt.Fprintln(w)
		}
	}
}
