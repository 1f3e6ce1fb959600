package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Signup creates a user at /auth/signup and returns its id. With email set
// the account gets that address, unverified, and a verification mail goes
// to it; the answer is the same whether or not another account holds the
// address. A refused signup is an *APIError ("username_taken",
// "invalid_request", "too_many_attempts"). Signup logs nobody in.
func (t *Transport) Signup(ctx context.Context, username, password, email string) (userID string, err error) {
	body := map[string]string{"username": username, "password": password}
	if email != "" {
		body["email"] = email
	}
	resp, err := t.postJSON(ctx, "/auth/signup", body)
	if err != nil {
		return "", fmt.Errorf("client: signup: %w", err)
	}
	defer discard(resp)
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("client: signup: %w", decodeAPIError(resp))
	}
	var created struct {
		UserID string `json:"user_id"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBody)).Decode(&created); err != nil || created.UserID == "" {
		return "", errors.New("client: signup: the answer has no user_id")
	}
	return created.UserID, nil
}

// VerifyEmail verifies an address at /auth/email/verify with the token of
// a verification or address-change mail (LinkToken reads it from the
// mail's link). A used, expired or unknown token is an *APIError whose Code
// is "invalid_link_token".
func (t *Transport) VerifyEmail(ctx context.Context, token string) error {
	return t.expect(ctx, "verify email", "/auth/email/verify", map[string]string{"token": token}, false)
}

// ResendVerification asks /auth/email/verify/resend for a new verification
// mail to the logged-in user's unverified (or pending) address.
func (t *Transport) ResendVerification(ctx context.Context) error {
	return t.expect(ctx, "resend verification", "/auth/email/verify/resend", map[string]string{}, true)
}

// ChangeEmail asks /auth/email to change the logged-in user's address to
// newEmail: a verification mail goes there, and the change applies once it
// is verified (the old address is told). A wrong current password is an
// *APIError whose Code is "invalid_credentials".
func (t *Transport) ChangeEmail(ctx context.Context, currentPassword, newEmail string) error {
	return t.expect(ctx, "change email", "/auth/email", map[string]string{"current_password": currentPassword, "email": newEmail}, true)
}

// ForgotPassword asks /auth/password/forgot for a password-reset mail for
// the account named by username or, when username is empty, by its
// verified address email. It succeeds alike whether or not such an account
// exists (the server does not tell); it fails for a malformed request, or
// with an *APIError "too_many_attempts" when this client asked too often.
func (t *Transport) ForgotPassword(ctx context.Context, username, email string) error {
	body := map[string]string{"username": username}
	if username == "" {
		body = map[string]string{"email": email}
	}
	return t.expect(ctx, "forgot password", "/auth/password/forgot", body, false)
}

// ResetPassword sets a new password at /auth/password/reset with the token
// of a reset mail. Every session and device token of the user ends, this
// client's stored session included: log in again with the new password. A
// used, expired or superseded token is an *APIError whose Code is
// "invalid_link_token".
func (t *Transport) ResetPassword(ctx context.Context, token, newPassword string) error {
	return t.expect(ctx, "reset password", "/auth/password/reset", map[string]string{"token": token, "new_password": newPassword}, false)
}

// LinkToken returns the token of a Rotor mail's link, which carries it in
// its fragment ("https://app.example.com/reset-password#token=rtp_..."):
// the part of a URL no browser sends to any server.
func LinkToken(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("client: link: %w", err)
	}
	v, err := url.ParseQuery(u.Fragment)
	if err != nil || v.Get("token") == "" {
		return "", errors.New("client: link: no #token= in the link")
	}
	return v.Get("token"), nil
}

// expect posts body as JSON to path, with the stored access token when
// bearer (through t itself, refreshing as any request does), and wants a
// 2xx answer.
func (t *Transport) expect(ctx context.Context, what, path string, body any, bearer bool) error {
	var resp *http.Response
	var err error
	if bearer {
		var raw []byte
		if raw, err = json.Marshal(body); err != nil {
			return fmt.Errorf("client: %s: %w", what, err)
		}
		req, rerr := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint(path), bytes.NewReader(raw))
		if rerr != nil {
			return fmt.Errorf("client: %s: %w", what, rerr)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err = t.RoundTrip(req)
	} else {
		resp, err = t.postJSON(ctx, path, body)
	}
	if err != nil {
		return fmt.Errorf("client: %s: %w", what, err)
	}
	defer discard(resp)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("client: %s: %w", what, decodeAPIError(resp))
	}
	return nil
}
