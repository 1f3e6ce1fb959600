package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/client"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// TestForgedRefreshToken: an outsider who knows a victim's session id (the
// sid of any access token, shown by /me) and makes up the rest of a refresh
// token gets 401 on refresh and on logout; the victim's session lives on, and
// the attempt is logged as a forgery, not as reuse.
func TestForgedRefreshToken(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			e.signup("victim", "correct horse battery")
			p := e.login("victim", "correct horse battery")
			sid := e.me(p.Access).str("session_id")
			id, err := base64.RawURLEncoding.DecodeString(sid)
			if err != nil || len(id) != 16 {
				t.Fatalf("session id %q", sid)
			}
			for range 3 {
				rest := make([]byte, 48)
				_, _ = rand.Read(rest)
				forged := sessions.TokenPrefix + base64.RawURLEncoding.EncodeToString(append(id, rest...))
				wantError(t, e.refresh(forged), http.StatusUnauthorized, "invalid_grant")
				wantError(t, e.do("POST", "/auth/logout", map[string]string{"refresh_token": forged}), http.StatusUnauthorized, "invalid_token")
			}
			if r := e.refresh(p.Refresh); r.Status != http.StatusOK {
				t.Fatalf("the victim's refresh after the forgeries: %d %s", r.Status, r.Raw)
			}
			logs := e.logs.String()
			if strings.Contains(logs, "reuse_detected") || strings.Count(logs, `"event":"refresh_token_forged"`) != 6 {
				t.Fatalf("want 6 refresh_token_forged events and no reuse_detected; logs:\n%s", logs)
			}
		})
	}
}

// gate pauses the first CreateSession after arm until release: a login that
// verified the password and is about to write its session.
type gate struct {
	apifn.Store
	mu      sync.Mutex
	armed   bool
	reached chan struct{}
	release chan struct{}
}

func newGate(st apifn.Store) *gate {
	return &gate{Store: st, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) arm() { g.mu.Lock(); g.armed = true; g.mu.Unlock() }

func (g *gate) CreateSession(ctx context.Context, s sessions.Session, evict []string) error {
	g.mu.Lock()
	pause := g.armed
	g.armed = false
	g.mu.Unlock()
	if pause {
		close(g.reached)
		<-g.release
	}
	return g.Store.CreateSession(ctx, s, evict)
}

// TestLoginRacingRevocation: a login that checked the password, then paused
// before writing its session while the password changed (or every session
// was ended), never leaves a session that outlives the change. Every session
// created before the change is dead once it answers.
func TestLoginRacingRevocation(t *testing.T) {
	for _, kind := range stores {
		for _, change := range []string{"password change", "logout everywhere"} {
			t.Run(kind+"/"+change, func(t *testing.T) {
				var g *gate
				e := newEnv(t, kind, nil, func(st apifn.Store) apifn.Store { g = newGate(st); return g })
				e.signup("alice", "correct horse battery")
				before := e.login("alice", "correct horse battery")

				g.arm()
				raced := make(chan response, 1)
				go func() {
					raced <- e.do("POST", "/auth/login", map[string]string{"username": "alice", "password": "correct horse battery"})
				}()
				<-g.reached // the password is verified; the session not yet written
				switch change {
				case "password change":
					r := e.do("POST", "/auth/password", map[string]string{"current_password": "correct horse battery", "new_password": "a whole new password"}, "Authorization", "Bearer "+before.Access)
					if r.Status != http.StatusNoContent {
						t.Fatalf("password change: %d %s", r.Status, r.Raw)
					}
				case "logout everywhere":
					r := e.do("POST", "/auth/logout", map[string]any{"all": true}, "Authorization", "Bearer "+before.Access)
					if r.Status != http.StatusNoContent {
						t.Fatalf("logout everywhere: %d %s", r.Status, r.Raw)
					}
				}
				close(g.release)
				r := <-raced

				wantError(t, e.refresh(before.Refresh), http.StatusUnauthorized, "invalid_grant")
				switch change {
				case "password change":
					// It verified the old password: no session at all.
					wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
					p := e.login("alice", "a whole new password")
					list := e.do("GET", "/auth/sessions", nil, "Authorization", "Bearer "+p.Access)
					if n := len(list.Body["sessions"].([]any)); n != 1 {
						t.Fatalf("%d sessions after the change and one new login; want 1: %s", n, list.Raw)
					}
				case "logout everywhere":
					// The password is still right: the login goes on, under
					// the new epoch, i.e. after the logout.
					if r.Status != http.StatusOK {
						t.Fatalf("raced login: %d %s", r.Status, r.Raw)
					}
					if rr := e.refresh(pairOf(t, r).Refresh); rr.Status != http.StatusOK {
						t.Fatalf("refresh of the session started after the logout: %d %s", rr.Status, rr.Raw)
					}
				}
			})
		}
	}
}

// stall loses the answer of one armed rotation after applying it: a store
// that stalled past the deadline and applied the write late.
type stall struct {
	apifn.Store
	mu    sync.Mutex
	armed bool
}

func (s *stall) RotateSession(ctx context.Context, r sessions.Rotation) (sessions.Session, error) {
	s.mu.Lock()
	armed := s.armed
	s.armed = false
	s.mu.Unlock()
	got, err := s.Store.RotateSession(ctx, r)
	if armed {
		return sessions.Session{}, context.DeadlineExceeded
	}
	return got, err
}

// TestOutageLongerThanGrace over HTTP: the client that got a 503 retries
// with its old token and the retry ticket long after the grace window and
// keeps its session; a thief replaying the old token after the client moved
// on is still caught.
func TestOutageLongerThanGrace(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			var st *stall
			e := newEnv(t, kind, nil, func(s apifn.Store) apifn.Store { st = &stall{Store: s}; return st })
			e.signup("alice", "correct horse battery")
			p := e.login("alice", "correct horse battery")
			st.mu.Lock()
			st.armed = true
			st.mu.Unlock()
			r := e.refresh(p.Refresh)
			wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
			ticket := r.str("retry_ticket")
			if ticket == "" {
				t.Fatalf("a 503 to a refresh must carry a retry_ticket: %s", r.Raw)
			}
			e.clock.Advance(time.Minute) // far past the 10 s grace window
			retry := e.do("POST", "/auth/refresh", map[string]string{"refresh_token": p.Refresh, "retry_ticket": ticket})
			if retry.Status != http.StatusOK {
				t.Fatalf("retry with the ticket: %d %s", retry.Status, retry.Raw)
			}
			next := pairOf(t, retry)
			if m := e.me(next.Access); m.Status != http.StatusOK {
				t.Fatalf("/me with the retried pair: %d", m.Status)
			}
			e.clock.Advance(time.Minute)
			moved := e.refresh(next.Refresh)
			if moved.Status != http.StatusOK {
				t.Fatalf("the client moves on: %d %s", moved.Status, moved.Raw)
			}
			e.clock.Advance(time.Minute)
			wantError(t, e.refresh(p.Refresh), http.StatusUnauthorized, "invalid_grant")
			if !strings.Contains(e.logs.String(), `"event":"reuse_detected"`) {
				t.Fatal("the thief's replay was not logged as reuse")
			}
			wantError(t, e.refresh(pairOf(t, moved).Refresh), http.StatusUnauthorized, "invalid_grant")
		})
	}
}

// TestGoClientRetriesWithTicket: the Go client keeps the retry ticket of a
// refresh answered 503 and sends it on its next refresh, so an outage longer
// than the grace window costs the user nothing.
func TestGoClientRetriesWithTicket(t *testing.T) {
	var st *stall
	e := newEnv(t, "memory", nil, func(s apifn.Store) apifn.Store { st = &stall{Store: s}; return st })
	e.signup("alice", "correct horse battery")
	tr := &client.Transport{BaseURL: e.url, Store: &client.MemoryStore{}, Now: e.clock.Now}
	ctx := context.Background()
	if err := tr.Login(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	hc := tr.Client()
	get := func() (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/me", nil)
		return hc.Do(req)
	}
	e.clock.Advance(16 * time.Minute) // the access token expired
	st.mu.Lock()
	st.armed = true
	st.mu.Unlock()
	if resp, err := get(); err == nil {
		resp.Body.Close()
		t.Fatalf("a request whose refresh got a 503 succeeded: %d", resp.StatusCode)
	}
	e.clock.Advance(time.Minute) // far past the grace window
	resp, err := get()
	if err != nil {
		t.Fatalf("the retried request: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the retried request: %d; the session was lost", resp.StatusCode)
	}
	if strings.Contains(e.logs.String(), "reuse_detected") {
		t.Fatal("the client's own retry was taken for reuse")
	}
}

// failEndAll fails one armed EndUserSessions after the password was stored:
// the store went away between the two writes of a password change.
type failEndAll struct {
	apifn.Store
	mu    sync.Mutex
	armed bool
}

func (f *failEndAll) EndUserSessions(ctx context.Context, username, userID string) (int, error) {
	f.mu.Lock()
	armed := f.armed
	f.armed = false
	f.mu.Unlock()
	if armed {
		return 0, context.DeadlineExceeded
	}
	return f.Store.EndUserSessions(ctx, username, userID)
}

// TestPasswordChangeRetryEndsSessions: a password change whose new hash was
// stored but whose sessions were not ended answers 503; the client's retry
// (same body) ends them, so no session outlives the change. On DynamoDB the
// change's own transaction ended every session (the epoch move and the
// deletes are one write), so the retry's session is gone: 401
// invalid_token, and nothing is left to end.
func TestPasswordChangeRetryEndsSessions(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			var f *failEndAll
			e := newEnv(t, kind, nil, func(s apifn.Store) apifn.Store { f = &failEndAll{Store: s}; return f })
			e.signup("alice", "correct horse battery")
			thief := e.login("alice", "correct horse battery")
			owner := e.login("alice", "correct horse battery")
			f.mu.Lock()
			f.armed = true
			f.mu.Unlock()
			change := map[string]string{"current_password": "correct horse battery", "new_password": "a whole new password"}
			r := e.do("POST", "/auth/password", change, "Authorization", "Bearer "+owner.Access)
			wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
			r = e.do("POST", "/auth/password", change, "Authorization", "Bearer "+owner.Access)
			if kind == "dynamodb" {
				wantError(t, r, http.StatusUnauthorized, "invalid_token")
			} else if r.Status != http.StatusNoContent {
				t.Fatalf("the retried password change: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.refresh(thief.Refresh), http.StatusUnauthorized, "invalid_grant")
			wantError(t, e.refresh(owner.Refresh), http.StatusUnauthorized, "invalid_grant")
			wrong := map[string]string{"current_password": "not the password", "new_password": "yet another password"}
			p := e.login("alice", "a whole new password")
			wantError(t, e.do("POST", "/auth/password", wrong, "Authorization", "Bearer "+p.Access), http.StatusUnauthorized, "invalid_credentials")
		})
	}
}
