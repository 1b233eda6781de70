package report

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// progress prints which part runs, a bar and a counter per part, and the
// elapsed time. On a terminal a part's line is redrawn in place; otherwise
// every step prints a line.
type progress struct {
	w      io.Writer
	tty    bool
	start  time.Time
	parts  int
	number int
}

func newProgress(w io.Writer, parts int) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	return &progress{w: w, tty: tty, start: time.Now(), parts: parts}
}

type bar struct {
	p      *progress
	name   string
	total  int
	done   int
	pstart time.Time
}

// part starts the next part, of total steps.
func (p *progress) part(name string, total int) *bar {
	p.number++
	b := &bar{p: p, name: name, total: max(total, 1), pstart: time.Now()}
	b.draw("")
	return b
}

// step counts one step done; label says what it was.
func (b *bar) step(label string) {
	b.done = min(b.done+1, b.total)
	b.draw(label)
}

// finish completes the part.
func (b *bar) finish() {
	b.done = b.total
	b.draw(fmt.Sprintf("done in %.1fs", time.Since(b.pstart).Seconds()))
	if b.p.tty {
		fmt.Fprintln(b.p.w)
	}
}

func (b *bar) draw(label string) {
	const width = 24
	fill := width * b.done / b.total
	el := time.Since(b.p.start).Round(100 * time.Millisecond)
	line := fmt.Sprintf("[%d/%d] %-12s %s%s %3d/%-3d %7s  %s", b.p.number, b.p.parts, b.name,
		strings.Repeat("█", fill), strings.Repeat("░", width-fill), b.done, b.total, el, label)
	if b.p.tty {
		fmt.Fprintf(b.p.w, "\r\033[K%s", line)
		return
	}
	if b.done > 0 || label != "" {
		fmt.Fprintln(b.p.w, line)
	}
}
