package chains

import (
	"context"
	"sync/atomic"
)

type callCounterKey struct{}

// WithCallCounter returns a context under which every request a chain
// client sends to a node or an explorer (one HTTP request, a JSON-RPC
// batch counting once) adds one to n: a batch counts each job's node
// calls this way while its jobs share the clients.
func WithCallCounter(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, callCounterKey{}, n)
}

// CountCall adds one to the context's call counter, if it has one. The
// chain clients call it once per request sent.
func CountCall(ctx context.Context) {
	if n, ok := ctx.Value(callCounterKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}
