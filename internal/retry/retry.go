// Package retry holds the waiting rules the project's HTTP clients share
// (node JSON-RPC, explorers, Esplora): exponential backoff with jitter, and
// the server's Retry-After.
package retry

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff is the wait before retry number attempt (0 for the first
// retry): base doubled per attempt, capped at limit, with full jitter on
// the upper half so that many clients do not retry in step.
func Backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 20)
	if d > limit || d <= 0 {
		d = limit
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// RetryAfter reads a Retry-After header, in seconds or as an HTTP date,
// capped at limit; 0 when there is none or it cannot be read.
func RetryAfter(h string, limit time.Duration) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, limit)
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(time.Until(t), 0), limit)
	}
	return 0
}
