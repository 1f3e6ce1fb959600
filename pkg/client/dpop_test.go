package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/client"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/mac"
)

func p256Key(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// dpopAPI starts a fake API that checks DPoP proofs with pkg/dpop's
// Verifier, spending each jti once.
func dpopAPI(t *testing.T, nonces *dpop.Nonces) *fakeAPI {
	t.Helper()
	api := startFakeAPI()
	t.Cleanup(api.Close)
	api.DPoP = &dpop.Verifier{Replay: &dpop.Memory{}, Nonces: nonces}
	return api
}

func get(t *testing.T, c *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDPoPBindsSessionToKey: with DPoPKey the login binds the session to
// the key (token_type DPoP), protected calls go as "Authorization: DPoP"
// with a proof the verifier accepts (with ath, for each request's own
// method and URL), and a refresh carries a proof by the same key.
func TestDPoPBindsSessionToKey(t *testing.T) {
	api := dpopAPI(t, nil)
	key := p256Key(t)
	store := &client.MemoryStore{}
	tr := &client.Transport{BaseURL: api.URL, Store: store, DPoPKey: key}
	ctx := context.Background()
	if err := tr.Login(ctx, "alice", alicePassword); err != nil {
		t.Fatal(err)
	}
	tok, _ := store.Load(ctx)
	if tok.TokenType != client.TokenTypeDPoP {
		t.Fatalf("token_type %q, want DPoP", tok.TokenType)
	}
	jkt, _ := dpop.KeyThumbprint(key)
	if got := api.BoundTo(tok.AccessToken); got != jkt {
		t.Fatalf("session bound to %q, want the key's thumbprint %q", got, jkt)
	}
	hc := tr.Client()
	for _, u := range []string{"/me", "/me?page=2"} {
		if st, body := get(t, hc, api.URL+u); st != http.StatusOK {
			t.Fatalf("GET %s: %d %s", u, st, body)
		}
	}
	resp, err := hc.Post(api.URL+"/echo", "text/plain", strings.NewReader("hello"))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /echo: %v %v", resp, err)
	}
	resp.Body.Close()

	api.ExpireAccess()
	if st, body := get(t, hc, api.URL+"/me"); st != http.StatusOK {
		t.Fatalf("GET /me after expiry: %d %s", st, body)
	}
	if n := api.RefreshCalls.Load(); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	fresh, _ := store.Load(ctx)
	if fresh.RefreshToken == tok.RefreshToken || !strings.EqualFold(fresh.TokenType, "DPoP") {
		t.Errorf("refresh did not rotate to a bound pair: %+v", fresh)
	}
	// login, 3 calls, the refresh, the call after it.
	if n := api.ProofsAccepted.Load(); n != 6 {
		t.Errorf("proofs accepted = %d, want 6", n)
	}
	if n := api.ProofRefusals.Load(); n != 0 {
		t.Errorf("proofs refused = %d", n)
	}
}

// TestDPoPTokensUselessWithoutKey, as the thief: the bound pair copied into
// a transport with no key, or with another key, gets no answer from a
// protected route and no new pair, and the owner's session goes on.
func TestDPoPTokensUselessWithoutKey(t *testing.T) {
	api := dpopAPI(t, nil)
	owner := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}, DPoPKey: p256Key(t)}
	ctx := context.Background()
	if err := owner.Login(ctx, "alice", alicePassword); err != nil {
		t.Fatal(err)
	}
	stolen, _ := owner.Store.Load(ctx)
	for name, key := range map[string]*ecdsa.PrivateKey{"no key": nil, "another key": p256Key(t)} {
		t.Run(name, func(t *testing.T) {
			thief := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
			if key != nil {
				thief.DPoPKey = key
			}
			thief.Store.Save(ctx, stolen)
			resp, err := thief.Client().Get(api.URL + "/me")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					t.Fatal("a copied bound token was accepted")
				}
			} else if !errors.Is(err, client.ErrSessionEnded) {
				t.Fatalf("thief: %v", err)
			}
			if api.Revoked(stolen.RefreshToken) {
				t.Fatal("the thief's refused refresh ended the owner's session")
			}
		})
	}
	if st, body := get(t, owner.Client(), api.URL+"/me"); st != http.StatusOK {
		t.Fatalf("owner after the thief: %d %s", st, body)
	}
}

// switchableMAC is a MAC source whose key a test replaces, so the nonces
// the client holds become foreign.
type switchableMAC struct {
	mu   sync.Mutex
	ring mac.Keyring
}

func (s *switchableMAC) Keyring(context.Context) (mac.Keyring, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ring, nil
}

func (s *switchableMAC) rotate(t *testing.T) {
	ring, err := mac.Generate(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.ring = ring
	s.mu.Unlock()
}

// TestDPoPServerNonce: with server nonces required, the first login is
// answered use_dpop_nonce and retried once with the nonce; the nonce is
// kept, so the calls after it need no second round trip; when the server's
// nonce changes, a protected call (a POST with a body) and a refresh are
// each retried once with the new one.
func TestDPoPServerNonce(t *testing.T) {
	src := &switchableMAC{}
	src.rotate(t)
	api := dpopAPI(t, &dpop.Nonces{MAC: src})
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}, DPoPKey: p256Key(t)}
	ctx := context.Background()
	if err := tr.Login(ctx, "alice", alicePassword); err != nil {
		t.Fatal(err)
	}
	if n := api.NonceRequests.Load(); n != 1 {
		t.Fatalf("use_dpop_nonce answers = %d, want 1", n)
	}
	hc := tr.Client()
	if st, body := get(t, hc, api.URL+"/me"); st != http.StatusOK {
		t.Fatalf("GET /me: %d %s", st, body)
	}
	if n := api.NonceRequests.Load(); n != 1 {
		t.Fatalf("the kept nonce was not used: use_dpop_nonce answers = %d", n)
	}

	src.rotate(t)
	resp, err := hc.Post(api.URL+"/echo", "text/plain", strings.NewReader("twice"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /echo with a stale nonce: %d", resp.StatusCode)
	}
	if n := api.NonceRequests.Load(); n != 2 {
		t.Errorf("use_dpop_nonce answers = %d, want 2", n)
	}
	if got := api.Echoed(); len(got) != 1 || got[0] != "twice" {
		t.Errorf("echoed %q: the retry must carry the body", got)
	}

	src.rotate(t)
	api.ExpireAccess()
	if st, body := get(t, hc, api.URL+"/me"); st != http.StatusOK {
		t.Fatalf("GET /me after expiry with a stale nonce: %d %s", st, body)
	}
	// The expired token's 401 came with the stale nonce's answer, then the
	// refresh and the retried call used the new one.
	if n := api.RefreshCalls.Load(); n < 1 {
		t.Errorf("refreshes = %d", n)
	}
	if n := api.ProofRefusals.Load(); n != 0 {
		t.Errorf("proofs refused = %d", n)
	}
}

// TestDPoPLostRefreshAnswer: the server rotates a bound session's refresh
// token but its answer never arrives, and the outage outlasts the grace
// window. The client retries at once with the same refresh token and a new
// proof, gets the same successor, and the session goes on. A bearer
// session in the same outage is taken for reuse on its next refresh and
// ends: the case DPoP exists to fix.
func TestDPoPLostRefreshAnswer(t *testing.T) {
	tests := []struct {
		name      string
		key       bool
		wantEnded bool
	}{
		{"bound session: the retry with a proof gets the same successor", true, false},
		{"bearer session: the late retry is reuse", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := dpopAPI(t, nil)
			api.LostFor = graceWindow + time.Second
			tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
			if tc.key {
				tr.DPoPKey = p256Key(t)
			}
			ctx := context.Background()
			if err := tr.Login(ctx, "alice", alicePassword); err != nil {
				t.Fatal(err)
			}
			api.ExpireAccess()
			api.DropRefreshes.Store(1)
			resp, err := tr.Client().Get(api.URL + "/me")
			if !tc.wantEnded {
				if err != nil {
					t.Fatalf("GET /me after a lost refresh answer: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET /me: %d", resp.StatusCode)
				}
				if n := api.RefreshCalls.Load(); n != 2 {
					t.Errorf("refresh calls = %d, want 2 (the lost one and its retry)", n)
				}
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("the bearer client's first refresh answer was lost, yet GET /me answered %d", resp.StatusCode)
			}
			// The next request retries the old token, too late.
			_, err = tr.Client().Get(api.URL + "/me")
			if !errors.Is(err, client.ErrSessionEnded) {
				t.Fatalf("bearer retry after the grace window: %v, want ErrSessionEnded (reuse)", err)
			}
		})
	}
}

// TestDPoPKeyWithoutServerDPoP: a server with DPoP off ignores the proofs
// and answers Bearer; the client then sends its token as a bearer token.
func TestDPoPKeyWithoutServerDPoP(t *testing.T) {
	api := startFakeAPI()
	t.Cleanup(api.Close)
	store := &client.MemoryStore{}
	tr := &client.Transport{BaseURL: api.URL, Store: store, DPoPKey: p256Key(t)}
	if err := tr.Login(context.Background(), "alice", alicePassword); err != nil {
		t.Fatal(err)
	}
	if tok, _ := store.Load(context.Background()); tok.TokenType != "Bearer" {
		t.Fatalf("token_type %q", tok.TokenType)
	}
	if st, body := get(t, tr.Client(), api.URL+"/me"); st != http.StatusOK {
		t.Fatalf("GET /me: %d %s", st, body)
	}
}
