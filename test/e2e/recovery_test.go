package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotor-auth/rotor/internal/testenv"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/mail"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
)

// The account-recovery flows over HTTP, on every store. The outbox is read
// through the store (outbox.Store, the sender's view), and a link's token is
// minted from a message as the sender does (onetime.Mint with the server MAC
// key), never taken from the server's answers: they hold none.

const recoveryPW = "Pw-correct-horse-1"

// outboxMessages returns every message waiting in e's outbox, oldest first.
func (e *env) outboxMessages() []outbox.Message {
	e.t.Helper()
	st, ok := e.store.(outbox.Store)
	if !ok {
		e.t.Fatalf("the %T store has no outbox", e.store)
	}
	msgs, err := st.DueMessages(testenv.Context(e.t), time.Now().Add(24*365*time.Hour), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return msgs
}

// mails returns the messages of kind k to address to.
func (e *env) mails(to string, k outbox.Kind) []outbox.Message {
	e.t.Helper()
	var out []outbox.Message
	for _, m := range e.outboxMessages() {
		if m.To == to && m.Kind == k {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b outbox.Message) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// link returns the token of message m's link, minted as the sender does.
func (e *env) link(m outbox.Message) string {
	e.t.Helper()
	ring, err := e.mac.Keyring(testenv.Context(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := onetime.Mint(ring, onetime.Purpose(m.Data["token_purpose"]), m.TokenID)
	if err != nil {
		e.t.Fatalf("message %s (%s) carries no token: %v", m.ID, m.Kind, err)
	}
	return tok
}

// lastLink returns the token of the newest message of kind k to address to.
func (e *env) lastLink(to string, k outbox.Kind) string {
	e.t.Helper()
	ms := e.mails(to, k)
	if len(ms) == 0 {
		e.t.Fatalf("no %s mail to %s in %+v", k, to, e.outboxMessages())
	}
	return e.link(ms[len(ms)-1])
}

func (e *env) signupWithEmail(user, email string) response {
	e.t.Helper()
	return e.do("POST", "/auth/signup", map[string]string{"username": user, "password": recoveryPW, "email": email})
}

// verifiedUser signs up user with address email and verifies it.
func (e *env) verifiedUser(user, email string) {
	e.t.Helper()
	if r := e.signupWithEmail(user, email); r.Status != http.StatusCreated {
		e.t.Fatalf("signup %s: %d %s", user, r.Status, r.Raw)
	}
	if r := e.do("POST", "/auth/email/verify", map[string]string{"token": e.lastLink(email, outbox.VerifyEmail)}); r.Status != http.StatusNoContent {
		e.t.Fatalf("verify %s: %d %s", email, r.Status, r.Raw)
	}
}

func (e *env) forgot(body map[string]string, headers ...string) response {
	e.t.Helper()
	return e.do("POST", "/auth/password/forgot", body, headers...)
}

func (e *env) reset(token, pw string) response {
	e.t.Helper()
	return e.do("POST", "/auth/password/reset", map[string]string{"token": token, "new_password": pw})
}

// TestRecoveryFlow: sign up with an address, verify it, forget the password,
// reset it with the mailed link: the sessions of before are gone, the old
// password too, the link works once, and the notice is queued.
func TestRecoveryFlow(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			if r := e.signupWithEmail("alice", "Alice@Example.COM"); r.Status != http.StatusCreated || r.str("user_id") == "" {
				t.Fatalf("signup: %d %s", r.Status, r.Raw)
			}
			const addr = "Alice@example.com" // the domain lower-cased, the local part as given
			before := e.login("alice", recoveryPW)
			if me := e.me(before.Access); me.str("email") != addr || me.Body["email_verified"] != false {
				t.Fatalf("/me before verification: %s", me.Raw)
			}
			verify := e.lastLink(addr, outbox.VerifyEmail)
			if !strings.HasPrefix(verify, onetime.VerifyPrefix) {
				t.Fatalf("verification token %q", verify)
			}
			if r := e.do("POST", "/auth/email/verify", map[string]string{"token": verify}); r.Status != http.StatusNoContent {
				t.Fatalf("verify: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.do("POST", "/auth/email/verify", map[string]string{"token": verify}), http.StatusBadRequest, "invalid_link_token")
			if me := e.me(before.Access); me.str("email") != addr || me.Body["email_verified"] != true {
				t.Fatalf("/me after verification: %s", me.Raw)
			}

			if r := e.forgot(map[string]string{"email": "alice@EXAMPLE.com"}); r.Status != http.StatusAccepted {
				t.Fatalf("forgot by an address the account does not have: %d %s", r.Status, r.Raw)
			}
			if n := len(e.mails(addr, outbox.PasswordReset)); n != 0 {
				t.Fatalf("the local part is as given: alice@ is not Alice@, yet %d reset mails", n)
			}
			if r := e.forgot(map[string]string{"username": "ALICE"}); r.Status != http.StatusAccepted {
				t.Fatalf("forgot: %d %s", r.Status, r.Raw)
			}
			reset := e.lastLink(addr, outbox.PasswordReset)
			if !strings.HasPrefix(reset, onetime.ResetPrefix) {
				t.Fatalf("reset token %q", reset)
			}
			const newPW = "Pw-new-staple-22"
			if r := e.reset(reset, newPW); r.Status != http.StatusNoContent {
				t.Fatalf("reset: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.reset(reset, "Pw-another-one-333"), http.StatusBadRequest, "invalid_link_token")
			wantError(t, e.refresh(before.Refresh), http.StatusUnauthorized, "invalid_grant")
			wantError(t, e.do("GET", "/auth/sessions", nil, bearer(before.Access)...), http.StatusUnauthorized, "invalid_token")
			wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "alice", "password": recoveryPW}), http.StatusUnauthorized, "invalid_credentials")
			after := e.login("alice", newPW)
			if me := e.me(after.Access); me.str("email") != addr {
				t.Fatalf("/me after the reset: %s", me.Raw)
			}
			if n := len(e.mails(addr, outbox.PasswordWasReset)); n != 1 {
				t.Fatalf("%d password-reset notices, want 1", n)
			}
			notice := e.mails(addr, outbox.PasswordWasReset)[0]
			if notice.TokenID != "" || notice.Data["ip"] == "" || notice.Data["at"] == "" {
				t.Fatalf("notice %+v: want when and from where, no link", notice)
			}
		})
	}
}

// TestSignupDoesNotRevealAddresses: a signup with another account's
// verified address gets the same answer as a fresh one; the address's
// owner is told, and the new account gets no link to that address.
func TestSignupDoesNotRevealAddresses(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			e.verifiedUser("owner", "owner@example.com")
			taken := e.signupWithEmail("mallory", "owner@example.com")
			fresh := e.signupWithEmail("mallory2", "fresh@example.com")
			if taken.Status != fresh.Status || !slices.Equal(keys(taken.Body), keys(fresh.Body)) || taken.str("user_id") == "" {
				t.Fatalf("taken address: %d %s; fresh address: %d %s", taken.Status, taken.Raw, fresh.Status, fresh.Raw)
			}
			if n := len(e.mails("owner@example.com", outbox.SignupAttempt)); n != 1 {
				t.Fatalf("%d signup-attempt mails to the owner, want 1", n)
			}
			if n := len(e.mails("owner@example.com", outbox.VerifyEmail)); n != 1 {
				t.Fatalf("%d verification mails to owner@ (the owner's own only), want 1", n)
			}
			// The new account shows its address as any unverified one.
			p := e.login("mallory", recoveryPW)
			if me := e.me(p.Access); me.str("email") != "owner@example.com" || me.Body["email_verified"] != false {
				t.Fatalf("/me of the signup with a taken address: %s", me.Raw)
			}
			// Usernames keep their 409.
			wantError(t, e.signupWithEmail("owner", "other@example.com"), http.StatusConflict, "username_taken")
		})
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestForgotDoesNotRevealAccounts: forgot answers every input the same
// (status and body), and mails only a verified address.
func TestForgotDoesNotRevealAccounts(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			e.verifiedUser("vera", "vera@example.com")
			if r := e.signupWithEmail("una", "una@example.com"); r.Status != http.StatusCreated {
				t.Fatal(r.Raw)
			}
			e.signup("nomail", recoveryPW)
			inputs := []map[string]string{
				{"username": "vera"}, {"email": "vera@example.com"},
				{"username": "una"}, {"email": "una@example.com"}, // unverified
				{"username": "nomail"},
				{"username": "nobody"}, {"email": "nobody@example.com"},
			}
			var first response
			for i, in := range inputs {
				r := e.forgot(in)
				if i == 0 {
					first = r
				}
				if r.Status != http.StatusAccepted || r.Raw != first.Raw {
					t.Fatalf("forgot %v: %d %s; forgot %v: %d %s", in, r.Status, r.Raw, inputs[0], first.Status, first.Raw)
				}
			}
			if n := len(e.mails("vera@example.com", outbox.PasswordReset)); n != 2 {
				t.Fatalf("%d reset mails to the verified address, want 2", n)
			}
			for _, m := range e.outboxMessages() {
				if m.Kind == outbox.PasswordReset && m.To != "vera@example.com" {
					t.Fatalf("reset mail to %q", m.To)
				}
			}
		})
	}
}

// TestResetTokenRaces: sixteen resets with one token at once: exactly one
// wins, and only its password logs in.
func TestResetTokenRaces(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			e.verifiedUser("rita", "rita@example.com")
			e.forgot(map[string]string{"username": "rita"})
			tok := e.lastLink("rita@example.com", outbox.PasswordReset)
			got := together(16, func(i int) response { return e.reset(tok, fmt.Sprintf("Pw-racing-reset-%02d", i)) })
			won := -1
			for i, r := range got {
				switch {
				case r.Status == http.StatusNoContent && won >= 0:
					t.Fatalf("resets %d and %d both won", won, i)
				case r.Status == http.StatusNoContent:
					won = i
				default:
					wantError(t, r, http.StatusBadRequest, "invalid_link_token")
				}
			}
			if won < 0 {
				t.Fatal("no reset won")
			}
			e.login("rita", fmt.Sprintf("Pw-racing-reset-%02d", won))
			for _, i := range []int{(won + 1) % 16, (won + 7) % 16} {
				wantError(t, e.do("POST", "/auth/login", map[string]string{"username": "rita", "password": fmt.Sprintf("Pw-racing-reset-%02d", i)}), http.StatusUnauthorized, "invalid_credentials")
			}
			if n := len(e.mails("rita@example.com", outbox.PasswordWasReset)); n != 1 {
				t.Fatalf("%d reset notices, want 1", n)
			}
		})
	}
}

// TestResetTokenBoundToEpoch: a password change, or another reset, voids a
// reset token; logins racing a reset leave no session alive after it.
func TestResetTokenBoundToEpoch(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, func(c *config.Config) { c.MailLimitPerAddress, c.MailLimitPerIP = 50, 50 }, nil)
			e.verifiedUser("eve", "eve@example.com")
			const pw2, pw3 = "Pw-second-one-22", "Pw-third-one-333"

			// A password change voids the token mailed before it.
			e.forgot(map[string]string{"username": "eve"})
			early := e.lastLink("eve@example.com", outbox.PasswordReset)
			p := e.login("eve", recoveryPW)
			if r := e.do("POST", "/auth/password", map[string]string{"current_password": recoveryPW, "new_password": pw2}, bearer(p.Access)...); r.Status != http.StatusNoContent {
				t.Fatalf("password change: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.reset(early, pw3), http.StatusBadRequest, "invalid_link_token")
			if n := len(e.mails("eve@example.com", outbox.PasswordChanged)); n != 1 {
				t.Fatalf("%d password-changed notices, want 1", n)
			}

			// Of two tokens, the one used first voids the other.
			e.forgot(map[string]string{"username": "eve"})
			a := e.lastLink("eve@example.com", outbox.PasswordReset)
			e.clock.Advance(time.Second) // lastLink: the newest mail
			e.forgot(map[string]string{"email": "eve@example.com"})
			b := e.lastLink("eve@example.com", outbox.PasswordReset)
			if a == b {
				t.Fatal("two forgot requests, one token")
			}
			if r := e.reset(b, pw3); r.Status != http.StatusNoContent {
				t.Fatalf("reset: %d %s", r.Status, r.Raw)
			}
			wantError(t, e.reset(a, "Pw-fourth-one-4444"), http.StatusBadRequest, "invalid_link_token")

			// Logins with the old password racing a reset: none of their
			// sessions outlives it.
			e.clock.Advance(time.Second)
			e.forgot(map[string]string{"username": "eve"})
			c := e.lastLink("eve@example.com", outbox.PasswordReset)
			const pw5 = "Pw-fifth-one-55555"
			got := together(9, func(i int) response {
				if i == 4 {
					return e.reset(c, pw5)
				}
				return e.do("POST", "/auth/login", map[string]string{"username": "eve", "password": pw3})
			})
			if got[4].Status != http.StatusNoContent {
				t.Fatalf("reset: %d %s", got[4].Status, got[4].Raw)
			}
			for i, r := range got {
				if i == 4 || r.Status != http.StatusOK {
					continue
				}
				wantError(t, e.refresh(r.str("refresh_token")), http.StatusUnauthorized, "invalid_grant")
			}
			e.login("eve", pw5)
		})
	}
}

// TestResetTokenOnlyResets: a reset token is no refresh token, no bearer
// token and no verification token, and the other way round.
func TestResetTokenOnlyResets(t *testing.T) {
	e := newEnv(t, "memory", nil, nil)
	e.verifiedUser("tom", "tom@example.com")
	e.forgot(map[string]string{"username": "tom"})
	reset := e.lastLink("tom@example.com", outbox.PasswordReset)
	wantError(t, e.refresh(reset), http.StatusUnauthorized, "invalid_grant")
	wantError(t, e.me(reset), http.StatusUnauthorized, "invalid_token")
	wantError(t, e.do("POST", "/auth/logout", map[string]string{"refresh_token": reset}), http.StatusUnauthorized, "invalid_token")
	wantError(t, e.do("POST", "/auth/email/verify", map[string]string{"token": reset}), http.StatusBadRequest, "invalid_link_token")
	// The verification token of the same account is no reset token.
	if r := e.signupWithEmail("tina", "tina@example.com"); r.Status != http.StatusCreated {
		t.Fatal(r.Raw)
	}
	verify := e.lastLink("tina@example.com", outbox.VerifyEmail)
	wantError(t, e.reset(verify, "Pw-new-staple-22"), http.StatusBadRequest, "invalid_link_token")
	// A made-up reset token of the right shape.
	wantError(t, e.reset(onetime.ResetPrefix+strings.Repeat("A", len(reset)-len(onetime.ResetPrefix)), "Pw-new-staple-22"), http.StatusBadRequest, "invalid_link_token")
	// The real one still works: the refusals above used nothing up.
	if r := e.reset(reset, "Pw-new-staple-22"); r.Status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", r.Status, r.Raw)
	}
}

// TestMailBombing: sixteen forgot requests at once for one account, from
// one address and from several: a bounded number of mails, not sixteen.
func TestMailBombing(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			limit := config.Default().MailLimitPerAddress
			e.verifiedUser("bob", "bob@example.com")
			got := together(16, func(i int) response {
				return e.from(fmt.Sprintf("127.0.0.%d", 2+i%4)).forgot(map[string]string{"username": "bob"})
			})
			for _, r := range got {
				if r.Status != http.StatusAccepted || r.Raw != got[0].Raw {
					t.Fatalf("forgot: %d %s (first: %s)", r.Status, r.Raw, got[0].Raw)
				}
			}
			// By address too, and a signup with the address: all one stream.
			e.forgot(map[string]string{"email": "bob@example.com"})
			e.signupWithEmail("bob-again", "bob@example.com")
			n := len(e.mails("bob@example.com", outbox.PasswordReset)) + len(e.mails("bob@example.com", outbox.SignupAttempt))
			if n > limit {
				t.Fatalf("%d mails to one address, want at most %d", n, limit)
			}
			// One source address asking for many accounts is refused (429)
			// once past its own budget; that says nothing about accounts.
			from := e.from("127.0.0.9")
			refused := 0
			for i := range config.Default().MailLimitPerIP + 2 {
				r := from.forgot(map[string]string{"username": fmt.Sprintf("nobody-%d", i)})
				if r.Status == http.StatusTooManyRequests {
					refused++
				}
			}
			if refused == 0 {
				t.Fatal("no forgot request refused from one address past its budget")
			}
		})
	}
}

// TestLinksIgnoreRequestHeaders: a forgot request with a forged Host and
// X-Forwarded-Host queues the same message as any: nothing in it comes from
// those headers (the link's base is configuration, ROTOR_APP_URL).
func TestLinksIgnoreRequestHeaders(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			e.verifiedUser("hank", "hank@example.com")
			r := e.forgot(map[string]string{"username": "hank"}, "Host", "evil.example", "X-Forwarded-Host", "evil.example", "Forwarded", "host=evil.example", "Origin", "https://evil.example", "Referer", "https://evil.example/")
			if r.Status != http.StatusAccepted {
				t.Fatalf("forgot: %d %s", r.Status, r.Raw)
			}
			for _, m := range e.outboxMessages() {
				for k, v := range m.Data {
					if strings.Contains(v, "evil") {
						t.Fatalf("message %s field %s = %q comes from a request header", m.Kind, k, v)
					}
				}
			}
			ms := e.mails("hank@example.com", outbox.PasswordReset)
			if len(ms) != 1 {
				t.Fatalf("%d reset mails", len(ms))
			}
			// The sender renders the link from configuration, the token in
			// the fragment (never sent to a server: no Referer, no log).
			cfg := config.Default()
			tpl, err := mail.NewTemplates(cfg.ProductName, cfg.AppURL, cfg.MailFrom, "")
			if err != nil {
				t.Fatal(err)
			}
			tok := e.link(ms[0])
			m, err := tpl.Render(ms[0], tok)
			if err != nil {
				t.Fatal(err)
			}
			want := cfg.AppURL + mail.LinkPaths[outbox.PasswordReset] + "#token=" + tok
			if !strings.Contains(m.Text, want) || strings.Contains(m.Text+m.HTML, "evil") {
				t.Fatalf("mail text %q: want the link %q and nothing from the request's headers", m.Text, want)
			}
			if i := strings.Index(m.Text, tok); i < 0 || !strings.HasSuffix(m.Text[:i], "#token=") {
				t.Fatalf("the token is not in the link's fragment: %q", m.Text)
			}
		})
	}
}

// TestRecoveryTokensNotLogged: after every recovery flow (the refusals
// too), no log line holds a link token, its body, or a password.
func TestRecoveryTokensNotLogged(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, func(c *config.Config) { c.MailLimitPerAddress, c.MailLimitPerIP = 50, 50 }, nil)
			secrets := recoveryFlowSecrets(t, e)
			logs := e.logs.String()
			if !strings.Contains(logs, `"event":"password_reset"`) || !strings.Contains(logs, `"event":"email_verified"`) || !strings.Contains(logs, `"event":"link_token_refused"`) {
				t.Fatalf("the recovery events are not logged:\n%s", logs)
			}
			for what, s := range secrets {
				if strings.Contains(logs, s) {
					t.Errorf("the log holds the %s", what)
				}
			}
		})
	}
}

// recoveryFlowSecrets runs the recovery flows on e (signup with an address,
// verification, an address change, forgot and reset, a reused and a forged
// token) and returns, by name, what no log line and no stored value may
// hold: the link tokens, their bodies after the prefix, and the passwords.
func recoveryFlowSecrets(t *testing.T, e *env) map[string]string {
	t.Helper()
	const newPW = "Pw-new-staple-22"
	secrets := map[string]string{"password": recoveryPW, "new password": newPW}
	keep := func(name, tok string) {
		secrets[name] = tok
		secrets[name+" body"] = tok[4:]
	}
	if r := e.signupWithEmail("lena", "lena@example.com"); r.Status != http.StatusCreated {
		t.Fatal(r.Raw)
	}
	verify := e.lastLink("lena@example.com", outbox.VerifyEmail)
	keep("verification token", verify)
	if r := e.do("POST", "/auth/email/verify", map[string]string{"token": verify}); r.Status != http.StatusNoContent {
		t.Fatal(r.Raw)
	}
	wantError(t, e.do("POST", "/auth/email/verify", map[string]string{"token": verify}), http.StatusBadRequest, "invalid_link_token")
	p := e.login("lena", recoveryPW)
	if r := e.do("POST", "/auth/email", map[string]string{"current_password": recoveryPW, "email": "lena2@example.com"}, bearer(p.Access)...); r.Status != http.StatusAccepted {
		t.Fatal(r.Raw)
	}
	change := e.lastLink("lena2@example.com", outbox.VerifyEmail)
	keep("change token", change)
	if r := e.do("POST", "/auth/email/verify", map[string]string{"token": change}); r.Status != http.StatusNoContent {
		t.Fatal(r.Raw)
	}
	e.forgot(map[string]string{"username": "lena"})
	reset := e.lastLink("lena2@example.com", outbox.PasswordReset)
	keep("reset token", reset)
	if r := e.reset(reset, newPW); r.Status != http.StatusNoContent {
		t.Fatal(r.Raw)
	}
	wantError(t, e.reset(reset, newPW+"x"), http.StatusBadRequest, "invalid_link_token")
	forged := reset[:len(reset)-2] + map[bool]string{true: "AA", false: "BA"}[strings.HasSuffix(reset, "AA")]
	wantError(t, e.reset(forged, newPW), http.StatusBadRequest, "invalid_link_token")
	e.login("lena", newPW)
	return secrets
}

// TestChangeEmail: the current password and a verified new address change
// the address; the old address is told, and until verified nothing changes.
func TestChangeEmail(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			e.verifiedUser("carl", "old@example.com")
			p := e.login("carl", recoveryPW)
			wantError(t, e.do("POST", "/auth/email", map[string]string{"current_password": "Pw-wrong-guess-333", "email": "new@example.com"}, bearer(p.Access)...), http.StatusUnauthorized, "invalid_credentials")
			if n := len(e.mails("new@example.com", outbox.VerifyEmail)); n != 0 {
				t.Fatalf("a wrong password queued %d mails", n)
			}
			if r := e.do("POST", "/auth/email", map[string]string{"current_password": recoveryPW, "email": "New@Example.com"}, bearer(p.Access)...); r.Status != http.StatusAccepted {
				t.Fatalf("change: %d %s", r.Status, r.Raw)
			}
			if me := e.me(p.Access); me.str("email") != "old@example.com" || me.Body["email_verified"] != true {
				t.Fatalf("/me before the new address is verified: %s", me.Raw)
			}
			tok := e.lastLink("New@example.com", outbox.VerifyEmail)
			if !strings.HasPrefix(tok, onetime.ChangePrefix) {
				t.Fatalf("change token %q", tok)
			}
			if r := e.do("POST", "/auth/email/verify", map[string]string{"token": tok}); r.Status != http.StatusNoContent {
				t.Fatalf("verify the new address: %d %s", r.Status, r.Raw)
			}
			if me := e.me(p.Access); me.str("email") != "New@example.com" || me.Body["email_verified"] != true {
				t.Fatalf("/me after the change: %s", me.Raw)
			}
			notices := e.mails("old@example.com", outbox.EmailChanged)
			if len(notices) != 1 || strings.Contains(notices[0].Data["new_email"], "New@") {
				t.Fatalf("notices to the old address: %+v", notices)
			}
			// A reset now goes to the new address only.
			e.forgot(map[string]string{"email": "old@example.com"})
			e.forgot(map[string]string{"email": "New@example.com"})
			if len(e.mails("old@example.com", outbox.PasswordReset)) != 0 || len(e.mails("New@example.com", outbox.PasswordReset)) != 1 {
				t.Fatalf("reset mails after the change: %+v", e.outboxMessages())
			}
		})
	}
}

// TestResendVerification: resend queues a new link for an unverified
// address, throttled; the bearer's session must be alive.
func TestResendVerification(t *testing.T) {
	for _, kind := range stores {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t, kind, nil, nil)
			if r := e.signupWithEmail("rex", "rex@example.com"); r.Status != http.StatusCreated {
				t.Fatal(r.Raw)
			}
			p := e.login("rex", recoveryPW)
			statuses := []int{}
			for range config.Default().MailLimitPerAddress + 1 {
				statuses = append(statuses, e.do("POST", "/auth/email/verify/resend", nil, bearer(p.Access)...).Status)
			}
			if statuses[0] != http.StatusAccepted || statuses[len(statuses)-1] != http.StatusTooManyRequests {
				t.Fatalf("resend statuses %v: want 202 first, 429 once past the limit", statuses)
			}
			if n := len(e.mails("rex@example.com", outbox.VerifyEmail)); n > config.Default().MailLimitPerAddress {
				t.Fatalf("%d verification mails", n)
			}
			// Any of the links verifies.
			if r := e.do("POST", "/auth/email/verify", map[string]string{"token": e.lastLink("rex@example.com", outbox.VerifyEmail)}); r.Status != http.StatusNoContent {
				t.Fatalf("verify: %d %s", r.Status, r.Raw)
			}
			if r := e.do("POST", "/auth/logout", map[string]any{"all": true}, bearer(p.Access)...); r.Status != http.StatusNoContent {
				t.Fatal(r.Raw)
			}
			wantError(t, e.do("POST", "/auth/email/verify/resend", nil, bearer(p.Access)...), http.StatusUnauthorized, "invalid_token")
		})
	}
}
