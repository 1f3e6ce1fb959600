package httpapi

import (
	"context"
	"time"

	"github.com/rotor-auth/rotor/pkg/deadline"
)

// DeadlineMargin is the time kept back from a Lambda invocation's own
// deadline (deadline.Margin).
const DeadlineMargin = deadline.Margin

// Bound returns ctx with the deadline every store and key call of one request
// shares (deadline.Bound, which the authorizer uses without this package).
func Bound(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	return deadline.Bound(ctx, limit)
}
