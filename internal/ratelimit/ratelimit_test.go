package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWaitSpacesRequests: with burst 1 at 20/s, the first request passes at
// once and each further one waits its 50 ms: 6 requests take at least 250 ms.
func TestWaitSpacesRequests(t *testing.T) {
	b := New(20, 1)
	start := time.Now()
	for i := 0; i < 6; i++ {
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 240*time.Millisecond {
		t.Errorf("6 requests at 20/s took %v, want at least 250ms", d)
	}
}

// TestWaitGivesBackOnCancel: a cancelled wait returns the context's error
// and does not keep the token it reserved.
func TestWaitGivesBackOnCancel(t *testing.T) {
	b := New(1, 1)
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the deadline error, got %v", err)
	}
	b.mu.Lock()
	tokens := b.tokens
	b.mu.Unlock()
	if tokens < -0.1 {
		t.Errorf("the cancelled wait kept its token: %.2f tokens", tokens)
	}
}
