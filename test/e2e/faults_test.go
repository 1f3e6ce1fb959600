package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// flaky is a store whose calls time out while down is set, the way an SDK
// call fails when DynamoDB does not answer before the Lambda's deadline.
type flaky struct {
	apifn.Store
	down atomic.Bool
}

func (f *flaky) fail() error {
	return fmt.Errorf("operation error DynamoDB: UpdateItem: %w", context.DeadlineExceeded)
}

func (f *flaky) ReserveLogin(ctx context.Context, name string, cs []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error) {
	if f.down.Load() {
		return users.User{}, time.Time{}, throttle.Reservation{}, f.fail()
	}
	return f.Store.ReserveLogin(ctx, name, cs, now)
}

func (f *flaky) CreateSession(ctx context.Context, s sessions.Session, evict []string) error {
	if f.down.Load() {
		return f.fail()
	}
	return f.Store.CreateSession(ctx, s, evict)
}

func (f *flaky) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	if f.down.Load() {
		return sessions.Session{}, f.fail()
	}
	return f.Store.RotateSession(ctx, r)
}

func (f *flaky) DeleteSessionByToken(ctx context.Context, id string, h []byte) error {
	if f.down.Load() {
		return f.fail()
	}
	return f.Store.DeleteSessionByToken(ctx, id, h)
}

// TestStoreTimeout: while the store times out, login, refresh and logout
// answer 503 temporarily_unavailable without leaking the cause, and nothing
// is lost: once it answers again the same refresh token still works.
func TestStoreTimeout(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			var f *flaky
			e := newEnv(t, kind, nil, func(s apifn.Store) apifn.Store { f = &flaky{Store: s}; return f })
			e.signup("erin", "correct horse battery")
			p := e.login("erin", "correct horse battery")

			f.down.Store(true)
			for name, r := range map[string]response{
				"login":   e.do("POST", "/auth/login", map[string]string{"username": "erin", "password": "correct horse battery"}),
				"refresh": e.refresh(p.Refresh),
				"logout":  e.do("POST", "/auth/logout", map[string]string{"refresh_token": p.Refresh}),
			} {
				wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
				if containsAny(r.Raw, "DynamoDB", "deadline", "UpdateItem") {
					t.Fatalf("%s leaked the internal cause: %s", name, r.Raw)
				}
			}
			f.down.Store(false)

			sid, _ := sessions.ParseRefreshToken(p.Refresh)
			if s, err := e.store.GetSession(context.Background(), sid.SessionID); err != nil || s.Rotations != 0 {
				t.Fatalf("session after failed calls: %+v, %v", s, err)
			}
			if r := e.refresh(p.Refresh); r.Status != http.StatusOK {
				t.Fatalf("refresh after recovery: %d %s", r.Status, r.Raw)
			}
		})
	}
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}
