package faults

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/dpop"
)

// TestDPoPLostResponseOutage is issue 24's measurement, made to pass: a
// client whose refresh rotated but whose answer never came (it gave up: no
// 503, no retry ticket), then a store outage longer than the grace window
// (its retries fail; 11 s pass on the server's clock). Once the store is
// back, the old refresh token with a proof by the session's key gets the
// rotation's successor, the same twice, and the session goes on. Without
// the proof the same retry is reuse: the session ends, reuse_detected.
func TestDPoPLostResponseOutage(t *testing.T) {
	for _, withProof := range []bool{true, false} {
		name := "with the session's key"
		if !withProof {
			name = "without a proof"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnvWith(t, false, func(c *config.Config) { c.DPoP = config.DPoPOptional })
			e.signup("alice")
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			post := func(path string, body map[string]string, proof bool) response {
				t.Helper()
				if !proof {
					return e.do("POST", path, body)
				}
				p, err := dpop.NewProof(key, dpop.Request{Method: "POST", URL: e.url + path, Now: e.clock.Now()})
				if err != nil {
					t.Fatal(err)
				}
				return e.do("POST", path, body, "DPoP", p)
			}
			login := e.retry503(func() response {
				return post("/auth/login", map[string]string{"username": "alice", "password": password}, true)
			})
			if login.Status != http.StatusOK || login.str("token_type") != "DPoP" {
				t.Fatalf("login: %d %s", login.Status, login.Raw)
			}
			old := map[string]string{"refresh_token": login.str("refresh_token")}

			// The rotation lands; its answer is lost. The client gave up
			// before anything arrived, so it holds no retry ticket.
			e.store.set("RotateSession", loseAnswer)
			_ = post("/auth/refresh", old, true)
			// The store is out longer than the grace window; the client's
			// retries meanwhile fail and apply nothing.
			e.store.set("RotateSession", fail)
			for range 3 {
				e.clock.Advance(4 * time.Second)
				if r := post("/auth/refresh", old, true); r.Status < 500 {
					t.Fatalf("a refresh during the outage: %d %s", r.Status, r.Raw)
				}
			}
			e.store.set("RotateSession", healthy)

			r := post("/auth/refresh", old, withProof)
			if !withProof {
				wantError(t, r, http.StatusUnauthorized, "invalid_grant")
				if !strings.Contains(e.logs.String(), `"event":"reuse_detected"`) {
					t.Fatal("the retry without a proof was not reuse")
				}
				return
			}
			if r.Status != http.StatusOK || r.str("token_type") != "DPoP" {
				t.Fatalf("the owner's retry with its key after the outage: %d %s; the session was lost", r.Status, r.Raw)
			}
			again := post("/auth/refresh", old, true)
			if again.str("refresh_token") != r.str("refresh_token") {
				t.Fatalf("a second retry got another token: %d %s", again.Status, again.Raw)
			}
			next := post("/auth/refresh", map[string]string{"refresh_token": r.str("refresh_token")}, true)
			if next.Status != http.StatusOK {
				t.Fatalf("the session after the outage: %d %s", next.Status, next.Raw)
			}
			if strings.Contains(e.logs.String(), `"event":"reuse_detected"`) {
				t.Fatal("the owner holding the key was taken for a thief")
			}
		})
	}
}
