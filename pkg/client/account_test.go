package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/client"
)

const accountPW = "Pw-client-account-1"

func apiCode(err error) string {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return ""
}

// TestRecoveryCalls runs the account calls against the real local API:
// signup with an address, verify with the mailed link, forgot, reset, and
// the typed errors of the refusals.
func TestRecoveryCalls(t *testing.T) {
	api := startLocalAPI()
	defer api.Close()
	ctx := context.Background()
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}

	id, err := tr.Signup(ctx, "dora", accountPW, "dora@example.com")
	if err != nil || id == "" {
		t.Fatalf("signup: %q, %v", id, err)
	}
	if _, err := tr.Signup(ctx, "dora", accountPW, ""); apiCode(err) != "username_taken" {
		t.Fatalf("a second signup: %v; want username_taken", err)
	}
	verify, err := client.LinkToken(api.link("dora@example.com", "rtv_"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.VerifyEmail(ctx, verify); err != nil {
		t.Fatal(err)
	}
	if err := tr.VerifyEmail(ctx, verify); apiCode(err) != "invalid_link_token" {
		t.Fatalf("the link again: %v; want invalid_link_token", err)
	}

	if err := tr.Login(ctx, "dora", accountPW); err != nil {
		t.Fatal(err)
	}
	before, _ := tr.Store.Load(ctx)
	for _, by := range [][2]string{{"dora", ""}, {"", "dora@example.com"}, {"nobody", ""}} {
		if err := tr.ForgotPassword(ctx, by[0], by[1]); err != nil {
			t.Fatalf("forgot %v: %v", by, err)
		}
	}
	if err := tr.ForgotPassword(ctx, "", "not an address"); apiCode(err) != "invalid_request" {
		t.Fatalf("forgot with a malformed address: %v; want invalid_request", err)
	}
	reset, err := client.LinkToken(api.link("dora@example.com", "rtp_"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.ResetPassword(ctx, reset, "Pw-client-account-2"); err != nil {
		t.Fatal(err)
	}
	if err := tr.ResetPassword(ctx, reset, "Pw-client-account-3"); apiCode(err) != "invalid_link_token" {
		t.Fatalf("the reset link again: %v; want invalid_link_token", err)
	}
	// The session from before the reset has ended (its refresh token is
	// refused); the new password logs in, the old one does not.
	old := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	if err := old.Store.Save(ctx, client.Tokens{RefreshToken: before.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Client().Get(api.URL + "/me"); !errors.Is(err, client.ErrSessionEnded) {
		t.Fatalf("the session from before the reset: %v; want ErrSessionEnded", err)
	}
	if err := tr.Login(ctx, "dora", accountPW); apiCode(err) != "invalid_credentials" {
		t.Fatalf("the old password: %v", err)
	}
	if err := tr.Login(ctx, "dora", "Pw-client-account-2"); err != nil {
		t.Fatal(err)
	}
}

// TestAccountBearerCalls: resend and change of address carry the stored
// access token; without one the gateway refuses them (401 invalid_token).
func TestAccountBearerCalls(t *testing.T) {
	api := startLocalAPI()
	defer api.Close()
	ctx := context.Background()
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	if _, err := tr.Signup(ctx, "erin", accountPW, "erin@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := tr.ResendVerification(ctx); apiCode(err) != "invalid_token" {
		t.Fatalf("resend without a session: %v; want invalid_token", err)
	}
	if err := tr.Login(ctx, "erin", accountPW); err != nil {
		t.Fatal(err)
	}
	api.link("erin@example.com", "rtv_")
	n := api.mails("erin@example.com")
	if err := tr.ResendVerification(ctx); err != nil {
		t.Fatal(err)
	}
	if api.link("erin@example.com", "rtv_"); api.mails("erin@example.com") != n+1 {
		t.Fatalf("%d mails after a resend, want %d", api.mails("erin@example.com"), n+1)
	}
	if err := tr.ChangeEmail(ctx, "wrong password", "erin.new@example.com"); apiCode(err) != "invalid_credentials" {
		t.Fatalf("change with a wrong password: %v; want invalid_credentials", err)
	}
	if err := tr.ChangeEmail(ctx, accountPW, "erin.new@example.com"); err != nil {
		t.Fatal(err)
	}
	tok, err := client.LinkToken(api.link("erin.new@example.com", "rtc_"))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.VerifyEmail(ctx, tok); err != nil {
		t.Fatal(err)
	}
	resp, err := tr.Client().Get(api.URL + "/me")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/me: %v", err)
	}
	resp.Body.Close()
}

// TestLinkToken reads the token of a mail's link from its fragment only.
func TestLinkToken(t *testing.T) {
	for _, tc := range []struct {
		link, want string
		ok         bool
	}{
		{"https://app.example.com/#token=rtp_abc", "rtp_abc", true},
		{"http://127.0.0.1:3000/?flow=reset#flow=reset&token=rtv_x-_1", "rtv_x-_1", true},
		{"https://app.example.com/reset?token=rtp_abc", "", false}, // a query is sent to servers: not where Rotor puts it
		{"https://app.example.com/#token=", "", false},
		{"%zz", "", false},
	} {
		got, err := client.LinkToken(tc.link)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("LinkToken(%q) = %q, %v; want %q, ok %v", tc.link, got, err, tc.want, tc.ok)
		}
	}
}

// FuzzLinkToken: a link pasted by a user is outside input. LinkToken never
// panics, and a token it returns came from the fragment: a link without
// '#' has none.
func FuzzLinkToken(f *testing.F) {
	for _, s := range []string{
		"https://app.example.com/reset-password#token=rtp_abc",
		"http://127.0.0.1:3000/verify-email#token=rtv_x-_1&x=%zz",
		"https://app.example.com/reset?token=rtp_abc",
		"#token=%00",
		"%zz#token=a",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, link string) {
		tok, err := client.LinkToken(link)
		if err != nil {
			return
		}
		if tok == "" || !strings.Contains(link, "#") {
			t.Fatalf("LinkToken(%q) = %q without a fragment", link, tok)
		}
	})
}
