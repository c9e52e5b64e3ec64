// Package ratelimit is a token bucket for clients of rate-limited services
// (explorers, hosted nodes): requests are spaced to a rate, with a burst.
package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Bucket is a token bucket: it holds at most burst tokens, gains rate
// tokens a second, and every request takes one. A request that finds the
// bucket empty reserves the next token (the count goes negative) and waits
// until it is due, so waiting callers are served in turn.
type Bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens a second
	burst  float64
	tokens float64
	last   time.Time
}

// New returns a bucket of rate tokens a second holding at most burst, full.
func New(rate float64, burst int) *Bucket {
	return &Bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: time.Now()}
}

// Wait takes a token, sleeping until one is due; it gives the token back
// if ctx ends first.
func (b *Bucket) Wait(ctx context.Context) error {
	b.mu.Lock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens--
	var d time.Duration
	if b.tokens < 0 {
		d = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		b.tokens++
		b.mu.Unlock()
		return ctx.Err()
	}
}
