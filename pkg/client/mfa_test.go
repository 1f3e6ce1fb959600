package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/rotor-auth/rotor/pkg/client"
)

const danaPassword = "dana's second factor"

// mfaLogin logs dana in up to the second factor and returns the challenge.
func mfaLogin(t *testing.T, tr *client.Transport) *client.MFARequiredError {
	t.Helper()
	err := tr.Login(context.Background(), "dana", danaPassword)
	var mfa *client.MFARequiredError
	if !errors.Is(err, client.ErrMFARequired) || !errors.As(err, &mfa) {
		t.Fatalf("Login of an enrolled user = %v; want *MFARequiredError", err)
	}
	if mfa.MFAToken == "" || mfa.Username != "dana" || strings.Join(mfa.Methods, ",") != "otp,recovery_code" {
		t.Fatalf("challenge %+v", mfa)
	}
	if strings.Contains(err.Error(), mfa.MFAToken) {
		t.Errorf("error text %q shows the mfa_token", err)
	}
	if _, err := tr.Store.Load(context.Background()); !errors.Is(err, client.ErrNoTokens) {
		t.Fatalf("tokens stored before the second factor: %v", err)
	}
	return mfa
}

// TestVerifyMFA: a login answered mfa_required is finished with a code;
// the tokens are stored as after a login, and the device token is kept
// for the username; the mfa_token works once.
func TestVerifyMFA(t *testing.T) {
	api := startFakeAPI()
	defer api.Close()
	devices := &client.MemoryDevices{}
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}, Devices: devices}
	ctx := context.Background()
	mfa := mfaLogin(t, tr)

	var apiErr *client.APIError
	if err := tr.VerifyMFA(ctx, mfa, "000000"); !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong code: %v; want a 401 *APIError", err)
	}
	if err := tr.VerifyMFA(ctx, mfa, fakeOTP); err != nil {
		t.Fatalf("VerifyMFA: %v", err)
	}
	if tok, err := tr.Store.Load(ctx); err != nil || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("stored after verify: %+v, %v", tok, err)
	}
	if dev, _ := devices.LoadDevice(ctx, "dana"); !strings.HasPrefix(dev, "rtd_fake_dana_") {
		t.Errorf("device token after verify = %q", dev)
	}
	resp, err := tr.Client().Post(api.URL+"/payments", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("MFA route after verify: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := tr.VerifyMFA(ctx, mfa, fakeOTP); !errors.As(err, &apiErr) || apiErr.Code != "invalid_grant" {
		t.Errorf("the mfa_token a second time: %v; want invalid_grant", err)
	}
}

// TestVerifyRecoveryCode: the same with a recovery code, which works once.
func TestVerifyRecoveryCode(t *testing.T) {
	api := startFakeAPI()
	defer api.Close()
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}
	ctx := context.Background()
	if err := tr.VerifyRecoveryCode(ctx, mfaLogin(t, tr), fakeRecoveryCode); err != nil {
		t.Fatalf("VerifyRecoveryCode: %v", err)
	}
	if _, err := tr.Store.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var apiErr *client.APIError
	if err := tr.VerifyRecoveryCode(ctx, mfaLogin(t, &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}}), fakeRecoveryCode); !errors.As(err, &apiErr) {
		t.Errorf("a used recovery code: %v; want an *APIError", err)
	}
}

// TestStepUpIsNotRefreshed: a 401 insufficient_user_authentication (an MFA
// route with a password login's token) reaches the caller as it is, with
// no refresh (it would keep the session's methods and change nothing);
// StepUpRequired tells it from an expired token's 401.
func TestStepUpIsNotRefreshed(t *testing.T) {
	api, tr := loggedIn(t)
	resp, err := tr.Client().Post(api.URL+"/payments", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !client.StepUpRequired(resp) {
		t.Fatalf("answer %d %v; want the step-up refusal", resp.StatusCode, resp.Header)
	}
	if n := api.RefreshCalls.Load(); n != 0 {
		t.Errorf("%d refreshes for a step-up refusal; want none", n)
	}
	api.ExpireAccess()
	resp, err = tr.Client().Get(api.URL + "/me")
	if err != nil || resp.StatusCode != http.StatusOK || client.StepUpRequired(resp) {
		t.Fatalf("expired token: %v %v; want refreshed and 200", resp, err)
	}
	resp.Body.Close()
}

// TestVerifyMFAKnownDevice: on a device that already holds a device token
// for the user, the second step sends the token the login sent (the
// server binds the mfa_token to it; without it a known device's second
// step is refused).
func TestVerifyMFAKnownDevice(t *testing.T) {
	api := startFakeAPI()
	defer api.Close()
	ctx := context.Background()
	devices := &client.MemoryDevices{}
	if err := devices.SaveDevice(ctx, "dana", "rtd_known_device"); err != nil {
		t.Fatal(err)
	}
	tr := &client.Transport{BaseURL: api.URL, Store: &client.MemoryStore{}, Devices: devices}
	mfa := mfaLogin(t, tr)
	if err := tr.VerifyMFA(ctx, mfa, fakeOTP); err != nil {
		t.Fatalf("VerifyMFA on a known device: %v", err)
	}
}
