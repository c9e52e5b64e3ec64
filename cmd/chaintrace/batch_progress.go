package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/chaintrace/chaintrace/batch"
)

// showProgress reports a batch's progress on standard error until the
// returned stop is called: on a terminal, a block of lines redrawn in
// place (the jobs finished, then one line per running job with its walk's
// transfers and addresses so far); otherwise a plain line every ten
// seconds, for logs.
func (b *batchRunner) showProgress(ctx context.Context, total int) (stop func()) {
	w := b.opts.stderr
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	every := 10 * time.Second
	if tty {
		every = 250 * time.Millisecond
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	drawn := 0
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty && drawn > 0 {
					fmt.Fprintf(w, "\x1b[%dA\x1b[J", drawn) // leave the screen to the summary
				}
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			lines := b.progressLines(total)
			if tty {
				if drawn > 0 {
					fmt.Fprintf(w, "\x1b[%dA\x1b[J", drawn)
				}
				fmt.Fprint(w, strings.Join(lines, "\n")+"\n")
				drawn = len(lines)
				continue
			}
			fmt.Fprintln(w, strings.Join(lines, "; "))
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// progressLines states the run: jobs finished of those to run now, and
// each running job.
func (b *batchRunner) progressLines(total int) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	doneNow, failed := 0, 0
	for _, r := range b.records {
		if r.Attempt != b.run.Attempts || r.Run != b.run.Number {
			continue
		}
		doneNow++
		if r.Status == batch.Failed {
			failed++
		}
	}
	lines := []string{fmt.Sprintf("batch %s run %d: %d/%d jobs finished (%d failed), %d running",
		b.cp.Name(), b.run.Number, doneNow, total, failed, len(b.active))}
	ids := make([]string, 0, len(b.active))
	for id := range b.active {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		p := b.active[id]
		lines = append(lines, fmt.Sprintf("  %s: %s, %d transfers, %d addresses", id, time.Since(p.started).Round(time.Second), p.transfers, p.addresses))
	}
	return lines
}
