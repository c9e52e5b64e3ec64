package retry

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoffDoublesWithinJitterAndCap(t *testing.T) {
	for attempt, full := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		full *= time.Millisecond
		for i := 0; i < 50; i++ {
			d := Backoff(100*time.Millisecond, time.Second, attempt)
			if d < full/2 || d > full {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	if d := Backoff(time.Second, 30*time.Second, 1000); d < 15*time.Second || d > 30*time.Second {
		t.Errorf("a huge attempt gives %v, want the cap's range", d)
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		h    string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {" 2 ", 2 * time.Second}, {"600", time.Minute}, {"-1", 0}, {"soon", 0},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0},
	} {
		if got := RetryAfter(tc.h, time.Minute); got != tc.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tc.h, got, tc.want)
		}
	}
	future := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	if got := RetryAfter(future, time.Minute); got < 25*time.Second || got > 30*time.Second {
		t.Errorf("an HTTP date 30s ahead gives %v", got)
	}
}

// TestFullJitterSpreadsOverTheWholeStep: every wait lies within [0, step]
// with the step doubling to the cap, and the waits reach both the lower and
// the upper half of the step (Backoff never goes below half).
func TestFullJitterSpreadsOverTheWholeStep(t *testing.T) {
	for attempt, step := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		step *= time.Millisecond
		low, high := false, false
		for i := 0; i < 400; i++ {
			d := FullJitter(100*time.Millisecond, time.Second, attempt)
			if d < 0 || d > step {
				t.Fatalf("attempt %d: %v outside [0, %v]", attempt, d, step)
			}
			low = low || d < step/4
			high = high || d > step*3/4
		}
		if !low || !high {
			t.Errorf("attempt %d: 400 waits never fell in the lowest quarter (%v) or the highest (%v) of the step", attempt, low, high)
		}
	}
	if d := FullJitter(time.Second, 30*time.Second, 1000); d < 0 || d > 30*time.Second {
		t.Errorf("a huge attempt gives %v, want within the cap", d)
	}
	if d := FullJitter(0, 0, 3); d != 0 {
		t.Errorf("no base and no cap gives %v, want 0", d)
	}
}
