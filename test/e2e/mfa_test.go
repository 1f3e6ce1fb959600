package e2e

import (
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/mfa"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/totp"
)

// The second factor over HTTP, on every store. Codes come from Debian's
// oathtool (an independent RFC 6238 implementation), at the server's
// clock, which the tests move.

const mfaPW = "Pw-correct-horse-1"

// oathtool returns the TOTP code of the base32 secret at t.
func oathtool(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	out, err := exec.Command("oathtool", "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
	if err != nil {
		t.Fatalf("oathtool (Debian package oathtool; scripts/test.sh installs it): %v", err)
	}
	code := strings.TrimSpace(string(out))
	if totp.CheckCode(code) != nil {
		t.Fatalf("oathtool printed %q", out)
	}
	return code
}

// code is the current code of secret at the server's clock.
func (e *env) code(secret string) string { return oathtool(e.t, secret, e.clock.Now()) }

// nextStep moves the server's clock to the start of the next TOTP step, so
// a new code is due.
func (e *env) nextStep() {
	now := e.clock.Now()
	e.clock.Advance(totp.Period - time.Duration(now.UnixNano())%totp.Period)
}

// enrolled signs user up (with a verified address when email is set), logs
// in, enrols and confirms TOTP; it returns the secret, the recovery codes
// and the enrolling session's tokens.
func (e *env) enrolled(user, email string) (secret string, codes []string, p pair) {
	e.t.Helper()
	if email != "" {
		e.verifiedUser(user, email)
	} else {
		e.signup(user, mfaPW)
	}
	p = e.login(user, mfaPW)
	r := e.do("POST", "/auth/mfa/totp", map[string]string{}, "Authorization", "Bearer "+p.Access)
	if r.Status != http.StatusOK {
		e.t.Fatalf("enrol: %d %s", r.Status, r.Raw)
	}
	secret = r.str("secret")
	u, err := url.Parse(r.str("otpauth_uri"))
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != secret ||
		u.Query().Get("digits") != "6" || u.Query().Get("period") != "30" || u.Query().Get("algorithm") != "SHA1" {
		e.t.Fatalf("otpauth_uri %q for secret %q", r.str("otpauth_uri"), secret)
	}
	e.nextStep()
	r = e.do("POST", "/auth/mfa/totp/confirm", map[string]string{"code": e.code(secret)}, "Authorization", "Bearer "+p.Access)
	if r.Status != http.StatusOK {
		e.t.Fatalf("confirm: %d %s", r.Status, r.Raw)
	}
	for _, c := range r.Body["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if len(codes) != 10 {
		e.t.Fatalf("recovery codes: %s", r.Raw)
	}
	return secret, codes, p
}

// mfaToken logs in as an enrolled user (with deviceToken, if any) and
// returns the mfa_token of the 403 mfa_required answer.
func (e *env) mfaToken(user, deviceToken string) string {
	e.t.Helper()
	body := map[string]string{"username": user, "password": mfaPW}
	if deviceToken != "" {
		body["device_token"] = deviceToken
	}
	r := e.do("POST", "/auth/login", body)
	wantError(e.t, r, http.StatusForbidden, "mfa_required")
	methods, _ := r.Body["mfa_methods"].([]any)
	if !strings.HasPrefix(r.str("mfa_token"), mfa.TokenPrefix) || len(methods) != 2 || r.Body["access_token"] != nil || r.Body["device_token"] != nil {
		e.t.Fatalf("mfa_required answer: %s", r.Raw)
	}
	return r.str("mfa_token")
}

func (e *env) verify(body map[string]string) response {
	e.t.Helper()
	return e.do("POST", "/auth/mfa/verify", body)
}

// TestMFAFlow: enrol with a code from oathtool, log in in two steps, a code
// works once (the replay one second later is refused, the next step's code
// works), a recovery code works once and tells the user, regenerating voids
// the old codes, removal needs a code and tells the user; then the password
// alone logs in again.
func TestMFAFlow(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			// Ten guesses: the flow makes five wrong ones on purpose.
			e := newEnv(t, kind, func(c *config.Config) { c.LoginMaxFailures = 10 }, nil)
			const addr = "mfa@example.com"
			secret, codes, first := e.enrolled("mfa-user", addr)
			if n := len(e.mails(addr, outbox.FactorAdded)); n != 1 {
				t.Fatalf("%d factor_added notices, want 1", n)
			}
			// The enrolling session goes on; a wrong password answers as for
			// any user.
			if r := e.me(first.Access); r.Status != http.StatusOK {
				t.Fatalf("/me of the enrolling session: %d %s", r.Status, r.Raw)
			}
			wrong := e.do("POST", "/auth/login", map[string]string{"username": "mfa-user", "password": "Pw-wrong-horse-1"})
			wantError(t, wrong, http.StatusUnauthorized, "invalid_credentials")
			e.signup("plain-user", mfaPW)
			plain := e.do("POST", "/auth/login", map[string]string{"username": "plain-user", "password": "Pw-wrong-horse-1"})
			if wrong.Raw != plain.Raw {
				t.Fatalf("a wrong password of an MFA user answers %s, of another user %s", wrong.Raw, plain.Raw)
			}

			tok := e.mfaToken("mfa-user", "")
			e.nextStep()
			code := e.code(secret)
			r := e.verify(map[string]string{"mfa_token": tok, "code": code})
			if r.Status != http.StatusOK {
				t.Fatalf("verify: %d %s", r.Status, r.Raw)
			}
			p := pairOf(t, r)
			if r.str("device_token") == "" {
				t.Fatalf("verify gave no device token: %s", r.Raw)
			}
			if me := e.me(p.Access); me.Status != http.StatusOK {
				t.Fatalf("/me after verify: %d %s", me.Status, me.Raw)
			}
			if rr := e.refresh(p.Refresh); rr.Status != http.StatusOK {
				t.Fatalf("refresh after verify: %d %s", rr.Status, rr.Raw)
			}

			// The same code one second later, with a fresh mfa_token: refused.
			e.clock.Advance(time.Second)
			tok = e.mfaToken("mfa-user", "")
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "code": code}), http.StatusBadRequest, "invalid_code")
			if !e.hasEvent("mfa_replayed") {
				t.Fatal("no mfa_replayed security event")
			}
			// The next step's code, with the same mfa_token (a wrong code
			// does not spend it): accepted.
			e.nextStep()
			if r := e.verify(map[string]string{"mfa_token": tok, "code": e.code(secret)}); r.Status != http.StatusOK {
				t.Fatalf("next step's code: %d %s", r.Status, r.Raw)
			}

			// A recovery code (typed in capitals, without its dash) works
			// once, and tells the user.
			rc := strings.ToUpper(strings.ReplaceAll(codes[3], "-", ""))
			tok = e.mfaToken("mfa-user", "")
			if r := e.verify(map[string]string{"mfa_token": tok, "recovery_code": rc}); r.Status != http.StatusOK {
				t.Fatalf("recovery code: %d %s", r.Status, r.Raw)
			}
			if n := len(e.mails(addr, outbox.RecoveryCodeUsed)); n != 1 {
				t.Fatalf("%d recovery_code_used notices, want 1", n)
			}
			tok = e.mfaToken("mfa-user", "")
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "recovery_code": codes[3]}), http.StatusBadRequest, "invalid_code")

			// Regenerating needs a code and voids the old set.
			auth := []string{"Authorization", "Bearer " + first.Access}
			wantError(t, e.do("POST", "/auth/mfa/recovery-codes", map[string]string{"code": "000000"}, auth...), http.StatusBadRequest, "invalid_code")
			e.nextStep()
			r = e.do("POST", "/auth/mfa/recovery-codes", map[string]string{"code": e.code(secret)}, auth...)
			if r.Status != http.StatusOK {
				t.Fatalf("regenerate: %d %s", r.Status, r.Raw)
			}
			fresh, _ := r.Body["recovery_codes"].([]any)
			if len(fresh) != 10 {
				t.Fatalf("regenerated: %s", r.Raw)
			}
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "recovery_code": codes[5]}), http.StatusBadRequest, "invalid_code")

			// Removal needs a code: a used recovery code or a wrong one is
			// refused; a fresh recovery code removes the factor.
			wantError(t, e.do("DELETE", "/auth/mfa/totp", map[string]string{"recovery_code": codes[3]}, auth...), http.StatusBadRequest, "invalid_code")
			if r := e.do("DELETE", "/auth/mfa/totp", map[string]string{"recovery_code": fresh[0].(string)}, auth...); r.Status != http.StatusNoContent {
				t.Fatalf("remove: %d %s", r.Status, r.Raw)
			}
			if n := len(e.mails(addr, outbox.FactorRemoved)); n != 1 {
				t.Fatalf("%d factor_removed notices, want 1", n)
			}
			for _, ev := range []string{"mfa_enrolled", "mfa_recovery_code_used", "mfa_recovery_codes_regenerated", "mfa_removed"} {
				if !e.hasEvent(ev) {
					t.Fatalf("no %s security event", ev)
				}
			}
			e.login("mfa-user", mfaPW)
		})
	}
}

// TestMFAEnrolNeedsRecentLogin: a session whose login is older than five
// minutes enrols only with the current password; a confirmed factor is not
// replaced by a new enrolment.
func TestMFAEnrolNeedsRecentLogin(t *testing.T) {
	e := newEnv(t, "memory", nil, nil)
	e.signup("old-login", mfaPW)
	p := e.login("old-login", mfaPW)
	e.clock.Advance(6 * time.Minute)
	auth := []string{"Authorization", "Bearer " + p.Access}
	wantError(t, e.do("POST", "/auth/mfa/totp", map[string]string{}, auth...), http.StatusBadRequest, "invalid_request")
	wantError(t, e.do("POST", "/auth/mfa/totp", map[string]string{"current_password": "Pw-wrong-horse-1"}, auth...), http.StatusUnauthorized, "invalid_credentials")
	if r := e.do("POST", "/auth/mfa/totp", map[string]string{"current_password": mfaPW}, auth...); r.Status != http.StatusOK {
		t.Fatalf("enrol with the password: %d %s", r.Status, r.Raw)
	}
	_, _, q := e.enrolled("has-factor", "")
	wantError(t, e.do("POST", "/auth/mfa/totp", map[string]string{}, "Authorization", "Bearer "+q.Access), http.StatusConflict, "mfa_already_enrolled")
}

// TestMFAOneCodeTwoLambdas: two logins verify the same code at the same
// instant (each with its own mfa_token): exactly one token response.
func TestMFAOneCodeTwoLambdas(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			secret, _, _ := e.enrolled("racer", "")
			e.nextStep()
			const n = 6
			toks := make([]string, n)
			for i := range toks {
				toks[i] = e.mfaToken("racer", "")
			}
			code := e.code(secret)
			got := together(n, func(i int) response { return e.verify(map[string]string{"mfa_token": toks[i], "code": code}) })
			ok := 0
			for _, r := range got {
				switch {
				case r.Status == http.StatusOK:
					ok++
				case r.Status == http.StatusBadRequest && r.str("error") == "invalid_code":
				case r.Status == http.StatusTooManyRequests && r.str("error") == "too_many_attempts":
					// A loser's failed guess counts under the user: past
					// the limit, the rest are refused before the check.
				default:
					t.Fatalf("a losing verify answered %d %s", r.Status, r.Raw)
				}
			}
			if ok != 1 {
				t.Fatalf("%d of %d racing verifies of one code got tokens, want exactly 1", ok, n)
			}
		})
	}
}

// TestMFAGuessBurst: a burst of parallel wrong codes with one mfa_token
// checks no more codes than the limit; the rest are refused before being
// checked, and so is then the right code.
func TestMFAGuessBurst(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			const limit = 3
			e := newEnv(t, kind, func(c *config.Config) { c.LoginMaxFailures = limit }, nil)
			secret, _, _ := e.enrolled("guessed", "")
			tok := e.mfaToken("guessed", "")
			e.nextStep()
			right := e.code(secret)
			wrongCode := func(i int) string {
				c := []byte(right)
				c[i%6] = '0' + (c[i%6]-'0'+1)%10
				return string(c)
			}
			const n = 12
			got := together(n, func(i int) response { return e.verify(map[string]string{"mfa_token": tok, "code": wrongCode(i)}) })
			checked := 0
			for _, r := range got {
				switch {
				case r.Status == http.StatusBadRequest && r.str("error") == "invalid_code":
					checked++
				case r.Status == http.StatusTooManyRequests && r.str("error") == "too_many_attempts":
				default:
					t.Fatalf("a guess answered %d %s", r.Status, r.Raw)
				}
			}
			if checked > limit || checked == 0 {
				t.Fatalf("%d of %d parallel guesses were checked; limit %d", checked, n, limit)
			}
			// A store that reserves per counter may have refused more than
			// it had to under contention: guess on until refused, and never
			// past the limit in all.
			for i := 0; ; i++ {
				r := e.verify(map[string]string{"mfa_token": tok, "code": wrongCode(i)})
				if r.Status == http.StatusTooManyRequests {
					break
				}
				wantError(t, r, http.StatusBadRequest, "invalid_code")
				if checked++; checked > limit {
					t.Fatalf("%d guesses checked; limit %d", checked, limit)
				}
			}
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "code": right}), http.StatusTooManyRequests, "too_many_attempts")
		})
	}
}

// TestMFABypass: what an attacker who knows the password tries instead of
// the second factor.
func TestMFABypass(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			// A device token and a session from before the enrolment.
			e.signup("victim", mfaPW)
			before := e.do("POST", "/auth/login", map[string]string{"username": "victim", "password": mfaPW})
			dev := before.str("device_token")
			old := pairOf(t, before)
			p := e.login("victim", mfaPW)
			auth := []string{"Authorization", "Bearer " + p.Access}
			secret := e.do("POST", "/auth/mfa/totp", map[string]string{}, auth...).str("secret")
			e.nextStep()
			if r := e.do("POST", "/auth/mfa/totp/confirm", map[string]string{"code": e.code(secret)}, auth...); r.Status != http.StatusOK {
				t.Fatalf("confirm: %d %s", r.Status, r.Raw)
			}
			otherSecret, _, _ := e.enrolled("other", "")

			// A session started with the password alone before the factor
			// was added ends with the enrolment: its refresh is refused.
			wantError(t, e.refresh(old.Refresh), http.StatusUnauthorized, "invalid_grant")

			// The password grant of /oauth/token: mfa_required, no tokens.
			form := url.Values{"grant_type": {"password"}, "username": {"victim"}, "password": {mfaPW}}.Encode()
			r := e.do("POST", "/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded")
			wantError(t, r, http.StatusForbidden, "mfa_required")
			if r.Body["access_token"] != nil {
				t.Fatalf("password grant of an MFA user: %s", r.Raw)
			}

			// A made-up mfa_token.
			fake, _, err := mfa.NewToken(mustRing(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			e.nextStep()
			wantError(t, e.verify(map[string]string{"mfa_token": fake, "code": e.code(secret)}), http.StatusUnauthorized, "invalid_mfa_token")

			// The victim's mfa_token with the attacker's own code.
			tok := e.mfaToken("victim", "")
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "code": e.code(otherSecret)}), http.StatusBadRequest, "invalid_code")

			// The mfa_token of a login that sent a device token, without it
			// or with another: refused; with it: accepted.
			tok = e.mfaToken("victim", dev)
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "code": e.code(secret)}), http.StatusUnauthorized, "invalid_mfa_token")
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "code": e.code(secret), "device_token": dev + "x"}), http.StatusUnauthorized, "invalid_mfa_token")
			if r := e.verify(map[string]string{"mfa_token": tok, "code": e.code(secret), "device_token": dev}); r.Status != http.StatusOK {
				t.Fatalf("verify with the login's device token: %d %s", r.Status, r.Raw)
			}
			// Used once: reused with the next code, refused.
			e.nextStep()
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "code": e.code(secret), "device_token": dev}), http.StatusUnauthorized, "invalid_mfa_token")

			// Expired: five minutes after the login.
			tok = e.mfaToken("victim", "")
			e.clock.Advance(mfa.TokenTTL)
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "code": e.code(secret)}), http.StatusUnauthorized, "invalid_mfa_token")

			// A password change after the first step voids its mfa_token.
			tok = e.mfaToken("victim", "")
			if r := e.do("POST", "/auth/password", map[string]string{"current_password": mfaPW, "new_password": "Pw-new-horse-22"}, auth...); r.Status != http.StatusNoContent {
				t.Fatalf("password change: %d %s", r.Status, r.Raw)
			}
			e.nextStep()
			wantError(t, e.verify(map[string]string{"mfa_token": tok, "code": e.code(secret)}), http.StatusUnauthorized, "invalid_mfa_token")

			// The OAuth grant of the second step works, once.
			form = url.Values{"grant_type": {"password"}, "username": {"victim"}, "password": {"Pw-new-horse-22"}}.Encode()
			r = e.do("POST", "/oauth/token", form, "Content-Type", "application/x-www-form-urlencoded")
			wantError(t, r, http.StatusForbidden, "mfa_required")
			grant := url.Values{"grant_type": {"urn:rotor:params:oauth:grant-type:mfa-otp"}, "mfa_token": {r.str("mfa_token")}, "otp": {e.code(secret)}}.Encode()
			if r := e.do("POST", "/oauth/token", grant, "Content-Type", "application/x-www-form-urlencoded"); r.Status != http.StatusOK || r.str("access_token") == "" {
				t.Fatalf("mfa-otp grant: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.do("POST", "/oauth/token", grant, "Content-Type", "application/x-www-form-urlencoded"), http.StatusBadRequest, "invalid_grant")
		})
	}
}

// TestMFASecretAtRest: what the store holds of a factor (a database
// reader's copy of the row) produces no code: the secret is not in it, and
// without the server MAC key it does not open. Nothing the store holds (every
// item, row and key) is the secret, a recovery code or an mfa_token.
func TestMFASecretAtRest(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			secret, codes, p := e.enrolled("at-rest", "at-rest@example.com")
			id := e.me(p.Access).str("user_id")
			tok := e.mfaToken("at-rest", "")
			st, ok := e.store.(mfa.Store)
			if !ok {
				t.Fatalf("the %T store keeps no factors", e.store)
			}
			f, err := st.GetFactor(testenv.Context(t), id)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.ToUpper(f.Sealed), secret) || f.Sealed == "" {
				t.Fatalf("the stored factor %q holds the secret %q", f.Sealed, secret)
			}
			other, err := mac.Generate(nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := mfa.Open(other, id, f.Sealed); err == nil {
				t.Fatal("the stored secret opens without the server's key")
			}
			ring := mustRingOf(t, e)
			got, err := mfa.Open(ring, id, f.Sealed)
			if err != nil || got != secret {
				t.Fatalf("the server's key opens %q, %v; want the secret", got, err)
			}
			if _, err := mfa.Open(ring, "usr_someone_else", f.Sealed); err == nil {
				t.Fatal("the row opens as another user's")
			}
			if kind == "memory" {
				return // no bytes at rest to scan
			}
			raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
			if err != nil {
				t.Fatal(err)
			}
			secrets := map[string]string{"secret": secret, "secret (lower case)": strings.ToLower(secret), "secret (hex)": hex.EncodeToString(raw),
				"mfa_token": tok, "mfa_token body": strings.TrimPrefix(tok, mfa.TokenPrefix)}
			for i, c := range codes {
				secrets[fmt.Sprintf("recovery code %d", i)] = c
				secrets[fmt.Sprintf("recovery code %d (no dash)", i)] = strings.ReplaceAll(c, "-", "")
			}
			records := storedValues(t, e, "onetime_tokens")
			all := strings.Join(records, "\n")
			if !strings.Contains(all, f.Sealed) || strings.Count(all, f.Codes[0]) != 1 {
				t.Fatal("the scan misses the factor: it proves nothing")
			}
			for what, s := range secrets {
				if strings.Contains(all, s) {
					t.Errorf("the store holds the %s", what)
				}
			}
		})
	}
}

func mustRing(t *testing.T) mac.Keyring {
	t.Helper()
	r, err := mac.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRingOf(t *testing.T, e *env) mac.Keyring {
	t.Helper()
	r, err := e.mac.Keyring(testenv.Context(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// hasEvent reports whether the server logged a security event named ev.
func (e *env) hasEvent(ev string) bool {
	return strings.Contains(e.logs.String(), `"event":"`+ev+`"`)
}

// TestMFACookieTransport: in the cookie transport the second step answers
// as a login does (the refresh token and the device token only as HttpOnly
// cookies), and an mfa_token is bound to the device cookie its login came
// with: the same browser finishes, another (without that cookie) cannot.
func TestMFACookieTransport(t *testing.T) {
	e := newEnv(t, "memory", func(c *config.Config) { c.CORSAllowOrigin = "https://app.example.com" }, nil)
	transport := []string{httpapi.TransportHeader, "cookie"}
	e.signup("browser", mfaPW)
	r := e.do("POST", "/auth/login", map[string]string{"username": "browser", "password": mfaPW}, transport...)
	dev := setCookies(t, r)[httpapi.DeviceCookie]
	if r.Status != http.StatusOK || dev == nil {
		t.Fatalf("cookie login: %d %s", r.Status, r.Raw)
	}
	auth := []string{"Authorization", "Bearer " + r.str("access_token")}
	secret := e.do("POST", "/auth/mfa/totp", map[string]string{}, auth...).str("secret")
	e.nextStep()
	if r := e.do("POST", "/auth/mfa/totp/confirm", map[string]string{"code": e.code(secret)}, auth...); r.Status != http.StatusOK {
		t.Fatalf("confirm: %d %s", r.Status, r.Raw)
	}
	withDevice := append([]string{"Cookie", httpapi.DeviceCookie + "=" + dev.Value}, transport...)
	r = e.do("POST", "/auth/login", map[string]string{"username": "browser", "password": mfaPW}, withDevice...)
	wantError(t, r, http.StatusForbidden, "mfa_required")
	if len(r.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("the first step set cookies: %v", r.Header.Values("Set-Cookie"))
	}
	tok := r.str("mfa_token")
	e.nextStep()
	body := map[string]string{"mfa_token": tok, "code": e.code(secret)}
	wantError(t, e.do("POST", "/auth/mfa/verify", body, transport...), http.StatusUnauthorized, "invalid_mfa_token")
	r = e.do("POST", "/auth/mfa/verify", body, withDevice...)
	if r.Status != http.StatusOK || r.str("access_token") == "" || r.Body["refresh_token"] != nil || r.Body["device_token"] != nil {
		t.Fatalf("cookie verify: %d %s", r.Status, r.Raw)
	}
	jar := wantAuthCookies(t, r)
	if r.str("csrf_token") != jar.csrf || setCookies(t, r)[httpapi.DeviceCookie] == nil {
		t.Fatalf("cookie verify: csrf %q, cookies %v", r.str("csrf_token"), r.Header.Values("Set-Cookie"))
	}
}
