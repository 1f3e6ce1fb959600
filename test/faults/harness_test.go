// Package faults runs Rotor's HTTP API (the local server's handlers and
// authorizer) on a store and a key source that fail on command: stalls,
// errors, writes whose answer is lost or that land late, Secrets Manager
// unavailable, a clock that jumps. Each case states what the client sees and
// checks that nothing is lost: every session that should live still
// refreshes.
package faults

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testapi"
	"github.com/rotor-auth/rotor/internal/testlog"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/store/memory"
)

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

// env is one running server, seen through two request deadlines.
type env struct {
	t   *testing.T
	url string
	// tightURL is the same server (store, keys, clock, log) with a short
	// request deadline: do sends a request there while a call is set to
	// stall or apply late, so that it runs into the deadline soon. Every
	// other request goes to url, whose deadline is only a hang guard: its
	// argon2id work took 380 ms a call beside three busy loops, and no wall
	// clock may decide whether a healthy request passes (issue 19).
	tightURL string
	clock    *testapi.Clock
	store    *faulty
	secrets  *secrets
	logs     *testlog.Buffer
	mac      mac.Source // the server MAC key: mints a mail's link as the sender does
	// outboxStore is the outbox of a server on a real store
	// (TestFrozenDynamoDB); nil: store's embedded one.
	outboxStore outbox.Store
}

// newEnv starts a server on the embedded store, keys read through a
// keys.Cache from a Secrets Manager that is up unless secretsDown.
func newEnv(t *testing.T, secretsDown bool) *env {
	t.Helper()
	return newEnvWith(t, secretsDown, nil)
}

// newEnvWith is newEnv with the configuration edited by edit (nil: none).
func newEnvWith(t *testing.T, secretsDown bool, edit func(*config.Config)) *env {
	t.Helper()
	cfg := config.Default()
	cfg.StoreTimeout = time.Minute // the most Validate allows: a hang guard
	if edit != nil {
		edit(&cfg)
	}
	tight := cfg
	tight.StoreTimeout = 200 * time.Millisecond // the deadline every stalled call runs into
	for _, c := range []config.Config{cfg, tight} {
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
	e := &env{t: t, clock: testapi.NewClock(time.Now().UTC()), logs: &testlog.Buffer{}, store: &faulty{Store: memory.New()}}
	k, err := keys.Generate(cfg.SigningAlg, nil, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = &secrets{set: keys.Set{Current: k}, down: secretsDown}
	d := testapi.Deps(t, cfg, e.store, e.logs.Logger(slog.LevelDebug))
	e.mac = d.MAC
	d.Keys = &keys.Cache{Fetch: e.secrets.fetch, TTL: cfg.KeyCacheTTL, Now: e.clock.Now}
	e.url = testapi.Serve(t, cfg, d, testapi.API(t, cfg, d), e.clock.Now)
	e.tightURL = testapi.Serve(t, tight, d, testapi.API(t, tight, d), e.clock.Now)
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
	url := e.url
	if e.store != nil && e.store.stalls() {
		url = e.tightURL
	}
	req := testapi.Request(e.t, method, url+path, body, headers...)
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
	tries := 0
	r := e.retry503(func() response {
		tries++
		return e.do("POST", "/auth/signup", map[string]string{"username": user, "password": password})
	})
	// A signup retried after a 503 may find the account its first try made.
	if r.Status != http.StatusCreated && !(tries > 1 && r.Status == http.StatusConflict) {
		e.t.Fatalf("signup %s: %d %s", user, r.Status, r.Raw)
	}
}

func (e *env) login(user string) pair {
	e.t.Helper()
	r := e.retry503(func() response {
		return e.do("POST", "/auth/login", map[string]string{"username": user, "password": password})
	})
	if r.Status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", user, r.Status, r.Raw)
	}
	return pairOf(e.t, r)
}

// retry503 sends a setup request again after a 503, as a client does: the
// fault tests give the store a short deadline, which a loaded machine (the
// whole suite on two cores) can overrun before any fault is injected. Only
// the steps before the fault retry; what the tests assert never does.
func (e *env) retry503(send func() response) response {
	r := send()
	for i := 0; i < 5 && r.Status == http.StatusServiceUnavailable; i++ {
		r = send()
	}
	return r
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
