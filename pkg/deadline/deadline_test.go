package deadline_test

import (
	"context"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/deadline"
)

func TestBound(t *testing.T) {
	lambda := func(in time.Duration) (context.Context, time.Time) {
		dl := time.Now().Add(in)
		ctx, cancel := context.WithDeadline(context.Background(), dl)
		t.Cleanup(cancel)
		return ctx, dl
	}
	tests := []struct {
		name   string
		ctx    func() (context.Context, time.Time)
		limit  time.Duration
		within func(outer time.Time, start time.Time) time.Time // the latest allowed deadline
	}{
		{"limit alone", func() (context.Context, time.Time) { return context.Background(), time.Time{} }, time.Second,
			func(_, start time.Time) time.Time { return start.Add(time.Second) }},
		{"lambda deadline far away: the limit", func() (context.Context, time.Time) { return lambda(time.Hour) }, time.Second,
			func(_, start time.Time) time.Time { return start.Add(time.Second) }},
		{"lambda deadline close: the margin before it", func() (context.Context, time.Time) { return lambda(time.Second) }, time.Minute,
			func(outer, _ time.Time) time.Time { return outer.Add(-deadline.Margin) }},
		{"no limit: the margin before the lambda deadline", func() (context.Context, time.Time) { return lambda(time.Hour) }, 0,
			func(outer, _ time.Time) time.Time { return outer.Add(-deadline.Margin) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parent, outer := tc.ctx()
			start := time.Now()
			ctx, cancel := deadline.Bound(parent, tc.limit)
			defer cancel()
			got, ok := ctx.Deadline()
			if !ok {
				t.Fatal("no deadline")
			}
			if latest := tc.within(outer, start); got.After(latest.Add(time.Since(start))) {
				t.Errorf("deadline %v is after %v", got, latest)
			}
		})
	}
}
