// Package faults runs Rotor's HTTP API (the local server's handlers and
// authorizer) on a store and a key source that fail on command: stalls,
// errors, writes whose answer is lost or that land late, Secrets Manager
// unavailable, a clock that jumps. Each case states what the client sees and
// checks that nothing is lost: every session that should live still
// refreshes.
package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/app/authorizerfn"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

// clock is the one settable clock of a server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// secrets is Secrets Manager as the key cache sees it: up or down.
type secrets struct {
	mu   sync.Mutex
	down bool
	set  keys.Set
	n    int // fetches
}

var errSecretsDown = errors.New("faults: secretsmanager: GetSecretValue: ServiceUnavailable")

func (s *secrets) fetch(context.Context) (keys.Set, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.down {
		return keys.Set{}, errSecretsDown
	}
	return s.set, nil
}

func (s *secrets) setDown(down bool) { s.mu.Lock(); s.down = down; s.mu.Unlock() }

// env is one running server.
type env struct {
	t       *testing.T
	url     string
	clock   *clock
	store   *faulty
	secrets *secrets
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// newEnv starts a server on the embedded store, keys read through a
// keys.Cache from a Secrets Manager that is up unless secretsDown.
func newEnv(t *testing.T, secretsDown bool) *env {
	t.Helper()
	cfg := config.Default()
	cfg.StoreTimeout = 200 * time.Millisecond // the deadline every stalled call runs into
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: &clock{t: time.Now().UTC()}, logs: &syncBuffer{}, store: &faulty{Store: memory.New()}}
	k, err := keys.Generate(cfg.SigningAlg, nil, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = &secrets{set: keys.Set{Current: k}, down: secretsDown}
	cache := &keys.Cache{Fetch: e.secrets.fetch, TTL: cfg.KeyCacheTTL, Now: e.clock.Now}
	ring, err := mac.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := apifn.Deps{Store: e.store, Keys: cache, MAC: mac.Static(ring), Log: log}
	api, err := apifn.API(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	api.Auth.Now = e.clock.Now
	api.Verifier.Now = e.clock.Now
	authz := authorizerfn.New(cfg, d.Keys, d.Store, d.Log)
	authz.Verifier.Now = e.clock.Now
	authz.Now = e.clock.Now
	srv := httptest.NewServer((&devserver.Server{API: api, Authorizer: authz, Log: log}).Handler())
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// response is an HTTP answer with its body decoded.
type response struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (r response) str(k string) string { s, _ := r.Body[k].(string); return s }

func (e *env) do(method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := hangGuard.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

const password = "correct horse battery"

// hangGuard is the tests' HTTP client. Its timeout is no measurement: it
// only turns a server that never answers (a store call without a deadline)
// into a failure instead of a hung test.
var hangGuard = &http.Client{Timeout: 30 * time.Second}

// pair is what a client holds.
type pair struct{ Access, Refresh string }

func (e *env) signup(user string) {
	e.t.Helper()
	if r := e.do("POST", "/auth/signup", map[string]string{"username": user, "password": password}); r.Status != http.StatusCreated {
		e.t.Fatalf("signup %s: %d %s", user, r.Status, r.Raw)
	}
}

func (e *env) login(user string) pair {
	e.t.Helper()
	r := e.do("POST", "/auth/login", map[string]string{"username": user, "password": password})
	if r.Status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", user, r.Status, r.Raw)
	}
	return pairOf(e.t, r)
}

func pairOf(t *testing.T, r response) pair {
	t.Helper()
	p := pair{Access: r.str("access_token"), Refresh: r.str("refresh_token")}
	if p.Access == "" || p.Refresh == "" {
		t.Fatalf("not a token response: %d %s", r.Status, r.Raw)
	}
	return p
}

func (e *env) refresh(rt, ticket string) response {
	e.t.Helper()
	body := map[string]string{"refresh_token": rt}
	if ticket != "" {
		body["retry_ticket"] = ticket
	}
	return e.do("POST", "/auth/refresh", body)
}

// alive checks that a session still works end to end: its access token is
// accepted and its refresh token rotates. It returns the rotated pair.
func (e *env) alive(p pair) pair {
	e.t.Helper()
	r := e.refresh(p.Refresh, "")
	if r.Status != http.StatusOK {
		e.t.Fatalf("the session was lost: refresh %d %s", r.Status, r.Raw)
	}
	next := pairOf(e.t, r)
	if m := e.do("GET", "/me", nil, "Authorization", "Bearer "+next.Access); m.Status != http.StatusOK {
		e.t.Fatalf("/me with the refreshed pair: %d %s", m.Status, m.Raw)
	}
	if strings.Contains(e.logs.String(), `"event":"reuse_detected"`) {
		e.t.Fatal("a client that followed the rules was taken for a thief")
	}
	return next
}

// wantError checks an error answer's status and code.
func wantError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("error") != code || r.str("error_description") == "" {
		t.Fatalf("got %d %s; want %d %s", r.Status, r.Raw, status, code)
	}
}
