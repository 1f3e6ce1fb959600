package deadline

import (
	"context"
	"time"
)

// Margin is the time kept back from a Lambda invocation's own
// deadline: enough to log the failure and answer 503 before the runtime
// kills the invocation (which API Gateway would turn into a 502 or 504 with
// nothing logged by Rotor).
const Margin = 500 * time.Millisecond

// Bound returns ctx with the deadline every store and key call of one request
// shares: limit from now, and never later than Margin before the
// deadline ctx already has (on Lambda, the invocation's). A call past it fails
// with context.DeadlineExceeded, which the flows answer with 503
// temporarily_unavailable. A limit of 0 keeps only the margin.
func Bound(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		inner := dl.Add(-Margin)
		if limit <= 0 || time.Until(inner) < limit {
			return context.WithDeadline(ctx, inner)
		}
	}
	if limit <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, limit)
}
