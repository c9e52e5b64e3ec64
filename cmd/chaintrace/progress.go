package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/chaintrace/chaintrace/indexer"
)

// progressPrinter shows indexing progress: a redrawn bar on a terminal,
// a plain line every few seconds otherwise (logs, CI, pipes).
type progressPrinter struct {
	w        io.Writer
	tty      bool
	every    time.Duration
	mu       sync.Mutex
	last     time.Time
	lastLine indexer.Progress
	drawn    bool
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	tty := false
	if f, ok := w.(*os.File); ok {
		// A terminal is a character device; files and pipes are not.
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	every := 5 * time.Second
	if tty {
		every = 100 * time.Millisecond
	}
	return &progressPrinter{w: w, tty: tty, every: every}
}

// Update is an indexer.Options.Progress callback.
func (p *progressPrinter) Update(pr indexer.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastLine = pr
	if time.Since(p.last) < p.every && pr.BlocksDone < pr.BlocksTotal {
		return
	}
	p.last = time.Now()
	p.draw(pr)
}

func (p *progressPrinter) draw(pr indexer.Progress) {
	rate := 0.0
	if s := pr.Elapsed.Seconds(); s > 0 {
		rate = float64(pr.BlocksDone) / s
	}
	if !p.tty {
		fmt.Fprintf(p.w, "indexed %d/%d blocks, %d transfers, %.1f blocks/s\n", pr.BlocksDone, pr.BlocksTotal, pr.Transfers, rate)
		return
	}
	const width = 30
	filled := 0
	if pr.BlocksTotal > 0 {
		filled = int(uint64(width) * pr.BlocksDone / pr.BlocksTotal)
	}
	eta := "-"
	if rate > 0 && pr.BlocksDone < pr.BlocksTotal {
		eta = (time.Duration(float64(pr.BlocksTotal-pr.BlocksDone)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d blocks  %d transfers  %.1f blocks/s  eta %s ",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), pr.BlocksDone, pr.BlocksTotal, pr.Transfers, rate, eta)
	p.drawn = true
}

// Status shows a free-form line (the walk's progress) at the same pace.
func (p *progressPrinter) Status(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < p.every {
		return
	}
	p.last = time.Now()
	if p.tty {
		fmt.Fprintf(p.w, "\r%s ", line)
		p.drawn = true
		return
	}
	fmt.Fprintln(p.w, line)
}

// Done ends the bar's line.
func (p *progressPrinter) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprintln(p.w)
	}
}
