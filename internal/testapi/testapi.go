package testapi

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
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
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/devserver"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/token"
)

// Deps are the local server's dependencies (devserver.Memory: development
// keys, a fresh server MAC key) on st, logging to log (nil: the flows'
// default).
func Deps(t testing.TB, cfg config.Config, st apifn.Store, log *slog.Logger) apifn.Deps {
	t.Helper()
	d, err := devserver.Memory(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	d.Store = st
	return d
}

// Service is apifn.Service, failing the test on error.
func Service(t testing.TB, cfg config.Config, d apifn.Deps) *auth.Service {
	t.Helper()
	svc, err := apifn.Service(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// API is apifn.API, failing the test on error.
func API(t testing.TB, cfg config.Config, d apifn.Deps) *httpapi.API {
	t.Helper()
	api, err := apifn.API(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// BoundAccess is a fresh P-256 DPoP key and an access token from d's keys
// bound to it (cnf.jkt its thumbprint), of user u1 (ada, session s1), valid
// for a minute from now.
func BoundAccess(t testing.TB, cfg config.Config, d apifn.Deps) (*ecdsa.PrivateKey, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jkt, err := dpop.KeyThumbprint(key)
	if err != nil {
		t.Fatal(err)
	}
	iss := &token.Issuer{Keys: d.Keys, Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: time.Minute}
	access, err := iss.Issue(context.Background(), token.Subject{UserID: "u1", Username: "ada", SessionID: "s1", JKT: jkt}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return key, access
}

// Serve serves api and the authorizer the functions build on d (the local
// server's handler) over a test HTTP server closed at the end of the test,
// and returns its URL. A non-nil now is the one clock of the flows, the
// access-token checks and the authorizer.
func Serve(t testing.TB, cfg config.Config, d apifn.Deps, api *httpapi.API, now func() time.Time) string {
	t.Helper()
	authz := authorizerfn.New(cfg, d.Keys, d.Store, d.MAC, d.Log)
	if now != nil {
		api.Auth.Now = now
		api.Verifier.Now = now
		authz.Verifier.Now = now
		authz.Now = now
	}
	srv := httptest.NewServer((&devserver.Server{API: api, Authorizer: authz, Log: d.Log}).Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// Clock is a settable clock shared by every part of one server.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Advance moves the clock by d (backwards when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Request is a request to url with body, a string sent as is or a value sent
// as JSON (nil: none), and headers given as name, value pairs.
func Request(t testing.TB, method, url string, body any, headers ...string) *http.Request {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req
}
