// Package retry holds the waiting rules the project's HTTP clients share
// (node JSON-RPC, explorers, Esplora): exponential backoff with jitter, and
// the server's Retry-After.
//
// Two jitters: Backoff waits at least half the exponential step (the
// explorer clients use it: a public explorer punishes quick retries), and
// FullJitter waits anywhere from zero to the step, which spreads the
// retries of many concurrent requests the most evenly (the node client,
// whose requests also queue behind a rate limit and a circuit breaker).
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

// FullJitter is the wait before retry number attempt (0 for the first
// retry) with "full jitter": uniform in [0, step], where step is base
// doubled per attempt and capped at limit. Clients that fail together
// (a node going down under many requests) then retry spread over the
// whole step rather than bunched at its end.
func FullJitter(base, limit time.Duration, attempt int) time.Duration {
	d := base << min(attempt, 20)
	if d > limit || d <= 0 {
		d = limit
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
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
