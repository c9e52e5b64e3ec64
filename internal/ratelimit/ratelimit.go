// Package ratelimit is a token bucket for clients of rate-limited services
// (explorers, hosted nodes): requests are spaced to a rate, with a burst.
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Bucket is a token bucket: it holds at most burst tokens, gains rate
// tokens a second, and every request takes one. Waiting requests are
// served in turn (first come, first served).
//
// A token is taken when the waiter is actually awake to use it, not
// reserved ahead for a time slot: if the process is held up (a loaded
// machine, a long GC pause) past a waiter's slot, the requests after it
// are spaced from when it really went, instead of all going at once when
// the process resumes. The server counting arrivals then never sees more
// than burst + rate·t requests in t, however late the client ran.
type Bucket struct {
	turn chan struct{} // held by the one waiter whose turn it is

	mu     sync.Mutex
	rate   float64 // tokens a second
	burst  float64
	tokens float64
	last   time.Time

	granted func(time.Time) // tests: called, under mu, with each grant's time
}

// New returns a bucket of rate tokens a second holding at most burst
// (at least 1), full. A rate of 0 or less limits nothing.
func New(rate float64, burst int) *Bucket {
	burst = max(burst, 1)
	return &Bucket{turn: make(chan struct{}, 1), rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// Wait takes a token, sleeping until one is there; it returns ctx's error
// (having taken nothing) if ctx ends first.
func (b *Bucket) Wait(ctx context.Context) error {
	// Go serves goroutines blocked on a channel send in order, so the
	// turn passes first come, first served.
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.turn }()
	for {
		d := b.take()
		if d <= 0 {
			return nil
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// take takes a token if there is one (returning 0), else says how long
// until there is.
func (b *Bucket) take() time.Duration {
	if b.rate <= 0 { // no limit
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		if b.granted != nil {
			b.granted(now)
		}
		return 0
	}
	// At least a microsecond, so that rounding cannot spin the loop.
	return max(time.Duration((1-b.tokens)/b.rate*float64(time.Second)), time.Microsecond)
}
