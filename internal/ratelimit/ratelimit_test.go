package ratelimit

import (
	"context"
	"errors"
	"slices"
	"sync"
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

// TestGrantsAreSpacedFromWhenTheyHappen: with a burst of 1, two tokens are
// never granted closer than 1/rate apart, however many wait at once and
// however late a waiter wakes: a token is taken when its waiter is awake,
// not reserved for a time slot that a late waker would share with the next.
func TestGrantsAreSpacedFromWhenTheyHappen(t *testing.T) {
	const rate = 50
	b := New(rate, 1)
	var grants []time.Time
	b.granted = func(at time.Time) { grants = append(grants, at) } // under b.mu
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 2; j++ {
				if err := b.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				// A waiter that is slow to come back: the next one is
				// not owed its slot.
				time.Sleep(time.Duration(j) * 30 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if len(grants) != 24 {
		t.Fatalf("%d grants, want 24", len(grants))
	}
	// Float rounding in the refill may cost a few nanoseconds.
	for i := 1; i < len(grants); i++ {
		if gap := grants[i].Sub(grants[i-1]); gap < time.Second/rate-time.Microsecond {
			t.Errorf("grants %d and %d only %v apart, want at least %v", i-1, i, gap, time.Second/rate)
		}
	}
}

// TestWaitServesInTurn: waiters that queue one after another get their
// tokens in that order.
func TestWaitServesInTurn(t *testing.T) {
	b := New(100, 1)
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Wait(context.Background()); err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}()
		time.Sleep(2 * time.Millisecond) // queue in order
	}
	wg.Wait()
	if !slices.Equal(order, []int{0, 1, 2, 3, 4}) {
		t.Errorf("served in order %v", order)
	}
}

// TestBurstAndNoLimit: a bucket starts full (burst tokens at once); a burst
// below 1 is 1; a rate of 0 limits nothing.
func TestBurstAndNoLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b := New(0.001, 4)
	for i := 0; i < 4; i++ {
		if err := b.Wait(ctx); err != nil {
			t.Fatalf("token %d of a burst of 4: %v", i+1, err)
		}
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := b.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a fifth token at 0.001/s: %v", err)
	}
	if err := New(0.001, 0).Wait(ctx); err != nil {
		t.Errorf("burst 0 holds no first token: %v", err)
	}
	free := New(0, 1)
	for i := 0; i < 1000; i++ {
		if err := free.Wait(ctx); err != nil {
			t.Fatalf("rate 0: %v", err)
		}
	}
}
