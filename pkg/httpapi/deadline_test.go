package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// errNoDeadline is what a stalled call without a deadline would do: hang
// until the function's timeout. The test fails instead of hanging.
var errNoDeadline = errors.New("test: a store call without a deadline would hang forever")

// stall waits for ctx's end, as an SDK call to a frozen store does.
func stall(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		return errNoDeadline
	}
	<-ctx.Done()
	return ctx.Err()
}

// stalled never answers the store calls it overrides.
type stalled struct{ *memory.Store }

func (stalled) ReserveLogin(ctx context.Context, _ string, _ []throttle.Counter, _ time.Time) (users.User, time.Time, throttle.Reservation, error) {
	return users.User{}, time.Time{}, throttle.Reservation{}, stall(ctx)
}

func (stalled) ListSessions(ctx context.Context, _, _ string) ([]sessions.Session, error) {
	return nil, stall(ctx)
}

func (stalled) GetSessionAndWatermark(ctx context.Context, _ string) (sessions.Session, time.Time, error) {
	return sessions.Session{}, time.Time{}, stall(ctx)
}

// stalledOpaque hides the context error the way a transport timeout can:
// only the request's deadline says what happened.
type stalledOpaque struct{ *memory.Store }

func (stalledOpaque) ReserveLogin(ctx context.Context, _ string, _ []throttle.Counter, _ time.Time) (users.User, time.Time, throttle.Reservation, error) {
	if err := stall(ctx); errors.Is(err, errNoDeadline) {
		return users.User{}, time.Time{}, throttle.Reservation{}, err
	}
	return users.User{}, time.Time{}, throttle.Reservation{}, errors.New("operation error DynamoDB: GetItem: exceeded maximum number of attempts")
}

// TestFrozenStoreAnswers503: a store that never answers gets 503
// temporarily_unavailable once the request's store deadline passes, and the
// failure is logged with its cause.
func TestFrozenStoreAnswers503(t *testing.T) {
	signedIn := func(path string) httpapi.Request {
		req := event(t, path, "")
		req.HTTPMethod = http.MethodGet
		req.RequestContext.Authorizer = map[string]any{"user_id": "usr_AAAAAAAAAAAAAAAAAAAAAA", "username": "alice", "session_id": "AAAAAAAAAAAAAAAAAAAAAA"}
		return req
	}
	tests := []struct {
		name  string
		store apifn.Store
		call  func(*httpapi.API) (httpapi.Response, error)
	}{
		{"login", stalled{memory.New()}, func(a *httpapi.API) (httpapi.Response, error) {
			return a.Login(context.Background(), event(t, "/auth/login", creds))
		}},
		{"session list", stalled{memory.New()}, func(a *httpapi.API) (httpapi.Response, error) {
			return a.Sessions(context.Background(), signedIn("/auth/sessions"))
		}},
		{"login, opaque transport error", stalledOpaque{memory.New()}, func(a *httpapi.API) (httpapi.Response, error) {
			return a.Login(context.Background(), event(t, "/auth/login", creds))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			api := newAPI(t, tc.store)
			api.StoreTimeout = 50 * time.Millisecond
			api.Log = slog.New(slog.NewJSONHandler(&logs, nil))
			resp, err := tc.call(api)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(resp.Body, `"error":"temporarily_unavailable"`) {
				t.Fatalf("got %d %s; want 503 temporarily_unavailable", resp.StatusCode, resp.Body)
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if line["status"] != float64(503) || line["cause"] == nil || line["level"] != "ERROR" {
				t.Errorf("log line %v: want an ERROR with status 503 and its cause", line)
			}
		})
	}
}
