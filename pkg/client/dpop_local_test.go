package client_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/pkg/client"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/totp"
)

// dpopLocalAPI is the real API with DPoP optional, as make dev runs it.
func dpopLocalAPI(t *testing.T) *localAPI {
	t.Helper()
	api := startLocalAPI(func(c *config.Config) { c.DPoP = config.DPoPOptional })
	t.Cleanup(api.Close)
	return api
}

// cnfJKT reads the cnf.jkt claim of an access token, unverified.
func cnfJKT(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Cnf.JKT
}

// refreshNow makes tr refresh before its next request (RefreshBefore past
// any expiry) and sends one to a public route, which ignores the token.
func refreshNow(t *testing.T, api *localAPI, tr *client.Transport) error {
	t.Helper()
	tr.RefreshBefore = 24 * time.Hour
	defer func() { tr.RefreshBefore = 0 }()
	resp, err := tr.Client().Get(api.URL + "/.well-known/jwks.json")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

// TestDPoPAgainstLocalServer: the real token endpoints accept the Go
// client's proofs: the login binds the session to its key (token_type DPoP,
// cnf.jkt its thumbprint), each refresh carries a proof the server takes,
// the same pair copied into a transport without the key (or with another)
// is refused invalid_dpop_proof while the owner goes on, and a refresh
// whose answer is lost is retried with a fresh proof and answered.
func TestDPoPAgainstLocalServer(t *testing.T) {
	api := dpopLocalAPI(t)
	ctx := context.Background()
	key := p256Key(t)
	store := &client.MemoryStore{}
	owner := &client.Transport{BaseURL: api.URL, Store: store, DPoPKey: key}
	if _, err := owner.Signup(ctx, "gopher", alicePassword, ""); err != nil {
		t.Fatal(err)
	}
	if err := owner.Login(ctx, "gopher", alicePassword); err != nil {
		t.Fatal(err)
	}
	tok, _ := store.Load(ctx)
	jkt, _ := dpop.KeyThumbprint(key)
	if tok.TokenType != "DPoP" || cnfJKT(t, tok.AccessToken) != jkt {
		t.Fatalf("login: token_type %q, cnf.jkt %q; want DPoP bound to %q", tok.TokenType, cnfJKT(t, tok.AccessToken), jkt)
	}

	if err := refreshNow(t, api, owner); err != nil {
		t.Fatalf("refresh with a proof: %v", err)
	}
	fresh, _ := store.Load(ctx)
	if fresh.RefreshToken == tok.RefreshToken || cnfJKT(t, fresh.AccessToken) != jkt {
		t.Fatalf("the refresh did not rotate to a pair bound to the key: %+v", fresh)
	}

	for name, thiefKey := range map[string]*client.Transport{
		"no key":      {BaseURL: api.URL, Store: &client.MemoryStore{}},
		"another key": {BaseURL: api.URL, Store: &client.MemoryStore{}, DPoPKey: p256Key(t)},
	} {
		t.Run(name, func(t *testing.T) {
			thief := thiefKey
			thief.Store.Save(ctx, fresh)
			var ended *client.SessionEndedError
			if err := refreshNow(t, api, thief); !errors.As(err, &ended) || ended.Code != "invalid_dpop_proof" {
				t.Fatalf("the thief's refresh: %v; want refused invalid_dpop_proof", err)
			}
		})
	}
	if err := refreshNow(t, api, owner); err != nil {
		t.Fatalf("the owner's refresh after the thief's: %v", err)
	}

	// The answer of the next refresh is lost on its way back.
	var drop atomic.Bool
	drop.Store(true)
	var refreshes atomic.Int64
	owner.Base = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && r.URL.Path == "/auth/refresh" {
			refreshes.Add(1)
			if drop.CompareAndSwap(true, false) {
				resp.Body.Close()
				return nil, errors.New("the answer was lost")
			}
		}
		return resp, err
	})
	before, _ := store.Load(ctx)
	if err := refreshNow(t, api, owner); err != nil {
		t.Fatalf("refresh whose first answer was lost: %v", err)
	}
	after, _ := store.Load(ctx)
	if refreshes.Load() != 2 || after.RefreshToken == before.RefreshToken {
		t.Fatalf("refresh calls %d, rotated %v; want the lost call and its retry, rotated", refreshes.Load(), after.RefreshToken != before.RefreshToken)
	}
	if err := refreshNow(t, api, owner); err != nil {
		t.Fatalf("the successor the retry got is not the live token: %v", err)
	}
}

// TestDPoPNonceAgainstLocalServer: with server nonces required
// (ROTOR_DPOP_NONCE), the real login answers the first proof
// use_dpop_nonce with a DPoP-Nonce; the client retries once with it, keeps
// it, and its refreshes carry it.
func TestDPoPNonceAgainstLocalServer(t *testing.T) {
	api := startLocalAPI(func(c *config.Config) { c.DPoP, c.DPoPNonce = config.DPoPOptional, true })
	t.Cleanup(api.Close)
	ctx := context.Background()
	var nonceAnswers, tokenCalls atomic.Int64
	key := p256Key(t)
	store := &client.MemoryStore{}
	tr := &client.Transport{BaseURL: api.URL, Store: store, DPoPKey: key, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && strings.HasPrefix(r.URL.Path, "/auth/") && r.URL.Path != "/auth/signup" {
			tokenCalls.Add(1)
			if resp.StatusCode == http.StatusBadRequest && resp.Header.Get(dpop.NonceHeader) != "" {
				nonceAnswers.Add(1)
			}
		}
		return resp, err
	})}
	if _, err := tr.Signup(ctx, "nonce-gopher", alicePassword, ""); err != nil {
		t.Fatal(err)
	}
	if err := tr.Login(ctx, "nonce-gopher", alicePassword); err != nil {
		t.Fatal(err)
	}
	tok, _ := store.Load(ctx)
	if tok.TokenType != "DPoP" {
		t.Fatalf("token_type %q", tok.TokenType)
	}
	if n, calls := nonceAnswers.Load(), tokenCalls.Load(); n != 1 || calls != 2 {
		t.Fatalf("login: %d use_dpop_nonce answers in %d calls; want the first refused, the retry with the nonce taken", n, calls)
	}
	for range 2 {
		if err := refreshNow(t, api, tr); err != nil {
			t.Fatal(err)
		}
	}
	if n, calls := nonceAnswers.Load(), tokenCalls.Load(); n != 1 || calls != 4 {
		t.Fatalf("refreshes: %d use_dpop_nonce answers in %d calls; want the kept nonce used", n, calls)
	}
	if fresh, _ := store.Load(ctx); fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("the refreshes did not rotate")
	}
}

// TestDPoPSecondStepAgainstLocalServer: a login with a proof binds its
// mfa_token to the key; the client's second step carries a proof by the same
// key and gets a bound pair. The mfa_token (and the right code) in a
// transport without the key is refused.
func TestDPoPSecondStepAgainstLocalServer(t *testing.T) {
	api := dpopLocalAPI(t)
	ctx := context.Background()
	now := time.Now()

	// A TOTP factor, enrolled through a bearer session (no key).
	plain := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	if _, err := plain.Signup(ctx, "mfa-gopher", alicePassword, ""); err != nil {
		t.Fatal(err)
	}
	if err := plain.Login(ctx, "mfa-gopher", alicePassword); err != nil {
		t.Fatal(err)
	}
	var enrolment struct{ Secret string }
	postJSONAs(t, plain, api.URL+"/auth/mfa/totp", `{"current_password":"`+alicePassword+`"}`, &enrolment)
	code, _ := totp.Code(enrolment.Secret, now)
	postJSONAs(t, plain, api.URL+"/auth/mfa/totp/confirm", `{"code":"`+code+`"}`, nil)
	next, _ := totp.Code(enrolment.Secret, now.Add(totp.Period))

	key := p256Key(t)
	store := &client.MemoryStore{}
	owner := &client.Transport{BaseURL: api.URL, Store: store, DPoPKey: key}
	var challenge *client.MFARequiredError
	if err := owner.Login(ctx, "mfa-gopher", alicePassword); !errors.As(err, &challenge) {
		t.Fatalf("login: %v; want mfa_required", err)
	}

	thief := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	var apiErr *client.APIError
	if err := thief.VerifyMFA(ctx, challenge, next); !errors.As(err, &apiErr) {
		t.Fatalf("the mfa_token without the login's key: %v; want refused", err)
	}

	if err := owner.VerifyMFA(ctx, challenge, next); err != nil {
		t.Fatalf("the second step with the key's proof: %v", err)
	}
	tok, _ := store.Load(ctx)
	jkt, _ := dpop.KeyThumbprint(key)
	if tok.TokenType != "DPoP" || cnfJKT(t, tok.AccessToken) != jkt {
		t.Fatalf("second step: token_type %q, cnf.jkt %q; want DPoP bound to %q", tok.TokenType, cnfJKT(t, tok.AccessToken), jkt)
	}
}

// postJSONAs posts body through tr (its bearer token) and decodes a 2xx
// answer into out.
func postJSONAs(t *testing.T, tr *client.Transport, url, body string, out any) {
	t.Helper()
	resp, err := tr.Client().Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatal(err)
		}
	}
}
