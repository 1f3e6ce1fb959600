package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/rotor-auth/rotor/internal/testpasskey"
	"github.com/rotor-auth/rotor/pkg/config"
)

// A passkey as a login's second step (/auth/mfa/passkey/options, then
// /auth/mfa/verify with the assertion), on every store, with the virtual
// authenticator.

// mfaStart logs user in with the password alone and returns the
// mfa_required answer.
func (e *env) mfaStart(user string) response {
	e.t.Helper()
	r := e.do("POST", "/auth/login", map[string]string{"username": user, "password": mfaPW})
	wantError(e.t, r, http.StatusForbidden, "mfa_required")
	return r
}

// mfaAssertion is d's answer to fresh second-step options for mfaToken.
func (e *env) mfaAssertion(mfaToken string, d *testpasskey.Device) json.RawMessage {
	e.t.Helper()
	r := e.do("POST", "/auth/mfa/passkey/options", map[string]string{"mfa_token": mfaToken})
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("mfa passkey options: %d %v %s", r.Status, r.Header, r.Raw)
	}
	opts, err := virtualwebauthn.ParseAssertionOptions(r.Raw)
	if err != nil {
		e.t.Fatalf("request options %s: %v", r.Raw, err)
	}
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(browser, d.Auth, d.Cred, *opts))
}

func (e *env) verifyPasskey(mfaToken string, credential json.RawMessage) response {
	e.t.Helper()
	return e.do("POST", "/auth/mfa/verify", map[string]any{"mfa_token": mfaToken, "credential": credential})
}

// TestMFAWithPasskey: a TOTP user with a passkey is offered "passkey"; the
// options name the user's passkeys and only them; the assertion signs in
// with amr pwd, the key, user, mfa. An mfa_token is used once: a second
// verify with it is refused; a replayed assertion (its challenge used) is
// refused even with a fresh mfa_token; another user's passkey is refused
// and counted as a wrong guess.
func TestMFAWithPasskey(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := passkeyEnv(t, kind, nil)
			_, _, p := e.enrolled("mfa-pk", "")
			uid := e.me(p.Access).str("user_id")
			d := testpasskey.NewDevice(uid)
			e.enrolPasskey(p.Access, d, "laptop")

			r := e.mfaStart("mfa-pk")
			methods := r.Body["mfa_methods"].([]any)
			if !slices.Contains(methods, any("passkey")) {
				t.Fatalf("mfa_methods %v lack passkey", methods)
			}
			tok := r.str("mfa_token")
			or := e.do("POST", "/auth/mfa/passkey/options", map[string]string{"mfa_token": tok})
			opts, err := virtualwebauthn.ParseAssertionOptions(or.Raw)
			if err != nil {
				t.Fatalf("options %d %s: %v", or.Status, or.Raw, err)
			}
			if len(opts.AllowCredentials) != 1 || opts.AllowCredentials[0] != base64.RawURLEncoding.EncodeToString(d.Cred.ID) {
				t.Fatalf("allowCredentials %v, want the user's one passkey", opts.AllowCredentials)
			}
			cred := json.RawMessage(virtualwebauthn.CreateAssertionResponse(browser, d.Auth, d.Cred, *opts))
			second := e.mfaAssertion(tok, d) // options again: the token is not used by them
			v := e.verifyPasskey(tok, cred)
			if v.Status != http.StatusOK {
				t.Fatalf("verify with a passkey: %d %s", v.Status, v.Raw)
			}
			if got := amrOf(t, v.str("access_token")); !slices.Equal(got, []string{"pwd", "hwk", "user", "mfa"}) {
				t.Fatalf("amr %v", got)
			}

			// The mfa_token was used with the passkey: a second right
			// assertion cannot use it again, nor can new options be had.
			wantError(t, e.verifyPasskey(tok, second), http.StatusUnauthorized, "invalid_mfa_token")
			wantError(t, e.do("POST", "/auth/mfa/passkey/options", map[string]string{"mfa_token": tok}), http.StatusUnauthorized, "invalid_mfa_token")

			// The assertion replayed on a fresh mfa_token (a minute later:
			// a passkey used as the mfa_token is made counts as its first
			// step's): its challenge is spent.
			e.clock.Advance(time.Minute)
			tok2 := e.mfaStart("mfa-pk").str("mfa_token")
			wantError(t, e.verifyPasskey(tok2, cred), http.StatusUnauthorized, "invalid_passkey")
			if !strings.Contains(e.logs.String(), `"reason":"challenge"`) {
				t.Fatal("replayed assertion not refused by its spent challenge")
			}

			// Another user's passkey, with options of that user's own mfa_token
			// (the challenge is bound to the other user) and with options of
			// this token (the credential is not the token user's).
			_, _, po := e.enrolled("mfa-pk-other", "")
			od := testpasskey.NewDevice(e.me(po.Access).str("user_id"))
			e.enrolPasskey(po.Access, od, "other")
			otherTok := e.mfaStart("mfa-pk-other").str("mfa_token")
			wantError(t, e.verifyPasskey(tok2, e.mfaAssertion(otherTok, od)), http.StatusUnauthorized, "invalid_passkey")
			ropts := e.do("POST", "/auth/mfa/passkey/options", map[string]string{"mfa_token": tok2})
			o2, err := virtualwebauthn.ParseAssertionOptions(ropts.Raw)
			if err != nil {
				t.Fatal(err)
			}
			o2.AllowCredentials = nil
			wantError(t, e.verifyPasskey(tok2, json.RawMessage(virtualwebauthn.CreateAssertionResponse(browser, od.Auth, od.Cred, *o2))), http.StatusUnauthorized, "invalid_passkey")
			// Refused by Rotor's own check (the library's user handle check
			// would refuse it too): the reason says so.
			if !strings.Contains(e.logs.String(), `"reason":"other_user"`) {
				t.Fatal("another user's passkey not refused as other_user")
			}
			if n := countEvents(e, "mfa_failed"); n < 3 {
				t.Fatalf("%d mfa_failed events, want the refused assertions logged", n)
			}

			// The token survived the refusals: the owner's passkey still works.
			if v := e.verifyPasskey(tok2, e.mfaAssertion(tok2, d)); v.Status != http.StatusOK {
				t.Fatalf("owner after refusals: %d %s", v.Status, v.Raw)
			}
		})
	}
}

// TestMFAPasskeyOptionsNeedAToken: options are refused without a valid
// mfa_token, and for a user without passkeys (who is not offered one).
func TestMFAPasskeyOptionsNeedAToken(t *testing.T) {
	e := passkeyEnv(t, "memory", nil)
	e.enrolled("totp-only", "")
	r := e.mfaStart("totp-only")
	if slices.Contains(r.Body["mfa_methods"].([]any), any("passkey")) {
		t.Fatalf("passkey offered to a user without one: %s", r.Raw)
	}
	wantError(t, e.do("POST", "/auth/mfa/passkey/options", map[string]string{"mfa_token": r.str("mfa_token")}), http.StatusConflict, "mfa_not_enrolled")
	wantError(t, e.do("POST", "/auth/mfa/passkey/options", map[string]string{"mfa_token": "forged"}), http.StatusUnauthorized, "invalid_mfa_token")
	wantError(t, e.do("POST", "/auth/mfa/verify", map[string]any{"mfa_token": r.str("mfa_token"), "code": "123456", "credential": map[string]string{}}), http.StatusBadRequest, "invalid_request")
}

// TestMFAPasskeyIsNotTheFirstFactorAgain: a found security key (no user
// verification) signs in to a TOTP user's mfa_required; the same key
// cannot then be the second step (one key is one factor), the TOTP code
// can.
func TestMFAPasskeyIsNotTheFirstFactorAgain(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := passkeyEnv(t, kind, nil)
			secret, _, p := e.enrolled("found-key", "")
			d := testpasskey.NewDevice(e.me(p.Access).str("user_id"))
			d.Auth.Options.UserNotVerified = true
			e.enrolPasskey(p.Access, d, "security key")
			e.clock.Advance(time.Minute) // the registration is not a use
			r := e.passkeyLogin(e.assertion(d, browser))
			wantError(t, r, http.StatusForbidden, "mfa_required")
			tok := r.str("mfa_token")
			wantError(t, e.verifyPasskey(tok, e.mfaAssertion(tok, d)), http.StatusUnauthorized, "invalid_passkey")
			if !strings.Contains(e.logs.String(), `"reason":"first_factor"`) {
				t.Fatal("the first step's passkey not refused as such")
			}
			e.nextStep()
			if v := e.verify(map[string]string{"mfa_token": tok, "code": e.code(secret)}); v.Status != http.StatusOK {
				t.Fatalf("TOTP after the refused passkey: %d %s", v.Status, v.Raw)
			}
		})
	}
}

// TestMFAPasskeyGuessesCounted: refused assertions take the slots wrong
// codes take: after the limit, even the owner's right assertion and a
// right code are refused before being checked.
func TestMFAPasskeyGuessesCounted(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			const limit = 3
			e := passkeyEnv(t, kind, func(c *config.Config) { c.LoginMaxFailures = limit })
			secret, _, p := e.enrolled("pk-guessed", "")
			d := testpasskey.NewDevice(e.me(p.Access).str("user_id"))
			e.enrolPasskey(p.Access, d, "laptop")
			e.clock.Advance(time.Minute)
			tok := e.mfaStart("pk-guessed").str("mfa_token")
			stranger := testpasskey.NewDevice("usr_stranger")
			for i := 0; ; i++ {
				r := e.verifyPasskey(tok, e.mfaAssertion(tok, stranger))
				if r.Status == http.StatusTooManyRequests {
					if i != limit {
						t.Fatalf("refused after %d guesses; limit %d", i, limit)
					}
					break
				}
				wantError(t, r, http.StatusUnauthorized, "invalid_passkey")
				if i > limit {
					t.Fatalf("%d assertions checked; limit %d", i+1, limit)
				}
			}
			wantError(t, e.verifyPasskey(tok, e.mfaAssertion(tok, d)), http.StatusTooManyRequests, "too_many_attempts")
			// A code of a step not yet used (the clock moved a minute since
			// the enrolment's).
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "code": e.code(secret)}), http.StatusTooManyRequests, "too_many_attempts")
		})
	}
}
