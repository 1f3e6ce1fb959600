package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/rotor-auth/rotor/pkg/dpop"
)

// maxResponseBody bounds what the client reads of an API answer.
const maxResponseBody = 1 << 20

// Login exchanges a username and password for a token pair at
// /auth/login and saves it in t.Store. With t.Devices set it sends the
// username's device token and keeps the new one. A refused login is an
// *APIError whose Code is "invalid_credentials", or "too_many_attempts"
// with RetryAfter set; for an account with a second factor, after the
// right password, an *MFARequiredError (errors.Is ErrMFARequired) to pass
// to VerifyMFA or VerifyRecoveryCode.
func (t *Transport) Login(ctx context.Context, username, password string) error {
	body := map[string]string{"username": username, "password": password}
	if t.Devices != nil {
		dev, err := t.Devices.LoadDevice(ctx, username)
		if err != nil {
			return fmt.Errorf("client: login: %w", err)
		}
		if dev != "" {
			body["device_token"] = dev
		}
	}
	resp, err := t.postToken(ctx, "/auth/login", body)
	if err != nil {
		return fmt.Errorf("client: login: %w", err)
	}
	defer discard(resp)
	return t.finishLogin(ctx, "login", username, resp)
}

// VerifyMFA finishes a login that answered mfa_required with a code from
// the user's authenticator app, at /auth/mfa/verify, and saves the tokens
// in t.Store as Login does. A wrong code is an *APIError.
func (t *Transport) VerifyMFA(ctx context.Context, challenge *MFARequiredError, code string) error {
	return t.verify(ctx, challenge, map[string]string{"mfa_token": challenge.MFAToken, "code": code})
}

// VerifyRecoveryCode is VerifyMFA with one of the user's recovery codes
// instead of an app's code; each code works once.
func (t *Transport) VerifyRecoveryCode(ctx context.Context, challenge *MFARequiredError, recoveryCode string) error {
	return t.verify(ctx, challenge, map[string]string{"mfa_token": challenge.MFAToken, "recovery_code": recoveryCode})
}

// verify posts the second step. The mfa_token is bound to the device token
// the login sent, so the same one goes with it (a known device's second
// step without it is refused).
func (t *Transport) verify(ctx context.Context, challenge *MFARequiredError, body map[string]string) error {
	if t.Devices != nil && challenge.Username != "" {
		dev, err := t.Devices.LoadDevice(ctx, challenge.Username)
		if err != nil {
			return fmt.Errorf("client: verify mfa: %w", err)
		}
		if dev != "" {
			body["device_token"] = dev
		}
	}
	resp, err := t.postToken(ctx, "/auth/mfa/verify", body)
	if err != nil {
		return fmt.Errorf("client: verify mfa: %w", err)
	}
	defer discard(resp)
	return t.finishLogin(ctx, "verify mfa", challenge.Username, resp)
}

// finishLogin reads the answer of a login or an MFA verify: it saves the
// tokens and the username's device token, or returns the error answer (an
// *MFARequiredError for mfa_required).
func (t *Transport) finishLogin(ctx context.Context, op, username string, resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("client: %s: %w", op, decodeLoginError(resp, username))
	}
	tok, dev, err := decodeLogin(resp, t.now())
	if err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	if err := t.Store.Save(ctx, tok); err != nil {
		return fmt.Errorf("client: %s: %w", op, err)
	}
	if t.Devices != nil && dev != "" && username != "" {
		if err := t.Devices.SaveDevice(ctx, username, dev); err != nil {
			return fmt.Errorf("client: %s: %w", op, err)
		}
	}
	return nil
}

// decodeLoginError reads a refused login: 403 mfa_required with its
// mfa_token becomes an *MFARequiredError, anything else an *APIError.
func decodeLoginError(resp *http.Response, username string) error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	var body struct {
		Error       string   `json:"error"`
		Description string   `json:"error_description"`
		MFAToken    string   `json:"mfa_token"`
		Methods     []string `json:"mfa_methods"`
	}
	if resp.StatusCode == http.StatusForbidden && json.Unmarshal(raw, &body) == nil && body.Error == "mfa_required" && body.MFAToken != "" {
		return &MFARequiredError{Username: username, MFAToken: body.MFAToken, Methods: body.Methods, Description: body.Description}
	}
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return decodeAPIError(resp)
}

// Logout ends the session at /auth/logout and clears t.Store. The store is
// cleared even when the server cannot be reached, since the user asked to
// be logged out; a session the server already ended is not an error.
func (t *Transport) Logout(ctx context.Context) error {
	tok, err := t.Store.Load(ctx)
	if errors.Is(err, ErrNoTokens) {
		return nil
	}
	if err != nil {
		return err
	}
	clearErr := t.Store.Clear(ctx)
	resp, err := t.postToken(ctx, "/auth/logout", map[string]string{"refresh_token": tok.RefreshToken})
	if err != nil {
		return errors.Join(fmt.Errorf("client: logout: %w", err), clearErr)
	}
	defer discard(resp)
	switch resp.StatusCode {
	case http.StatusNoContent, http.StatusOK, http.StatusUnauthorized:
		return clearErr
	default:
		return errors.Join(fmt.Errorf("client: logout: %w", decodeAPIError(resp)), clearErr)
	}
}

// postJSON posts v as JSON to the API path through the base transport,
// never through t itself: auth calls carry no bearer token.
func (t *Transport) postJSON(ctx context.Context, path string, v any) (*http.Response, error) {
	return t.post(ctx, path, v, false)
}

// postToken is postJSON for the calls that start or use a session (login,
// the second step, refresh, logout): with t.DPoPKey set each carries a
// DPoP proof for the endpoint, and an answer asking for the server's nonce
// is retried once with it.
func (t *Transport) postToken(ctx context.Context, path string, v any) (*http.Response, error) {
	return t.post(ctx, path, v, t.DPoPKey != nil)
}

func (t *Transport) post(ctx context.Context, path string, v any, withProof bool) (*http.Response, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint(path), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if withProof {
			p, err := t.proof(http.MethodPost, req.URL, "")
			if err != nil {
				return nil, err
			}
			req.Header.Set(dpop.HeaderName, p)
		}
		resp, err := t.base().RoundTrip(req)
		if err != nil || !withProof {
			return resp, err
		}
		if t.keepNonce(req.URL, resp) && attempt == 0 && useDPoPNonce(resp) {
			discard(resp)
			continue
		}
		return resp, nil
	}
}

// tokenResponse is the RFC 6749 §5.1 shaped answer of login and refresh.
type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	TokenType             string `json:"token_type"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
	DeviceToken           string `json:"device_token"` // logins only
}

// decodeTokens parses a token response received at now.
func decodeTokens(resp *http.Response, now time.Time) (Tokens, error) {
	tok, _, err := decodeLogin(resp, now)
	return tok, err
}

// decodeLogin parses a token response received at now, and the device
// token a login response carries.
func decodeLogin(resp *http.Response, now time.Time) (Tokens, string, error) {
	var tr tokenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBody)).Decode(&tr); err != nil {
		return Tokens{}, "", fmt.Errorf("decode token response: %w", err)
	}
	if tr.AccessToken == "" || tr.RefreshToken == "" {
		return Tokens{}, "", errors.New("token response lacks access_token or refresh_token")
	}
	tok := Tokens{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, TokenType: tr.TokenType}
	if tr.ExpiresIn > 0 {
		tok.AccessExpiresAt = now.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	if tr.RefreshTokenExpiresIn > 0 {
		tok.RefreshExpiresAt = now.Add(time.Duration(tr.RefreshTokenExpiresIn) * time.Second)
	}
	return tok, tr.DeviceToken, nil
}

// decodeRetryable reads a 503 answer to a refresh and its retry ticket.
func decodeRetryable(resp *http.Response) (*APIError, string) {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	var body struct {
		Ticket string `json:"retry_ticket"`
	}
	_ = json.Unmarshal(raw, &body)
	resp.Body = io.NopCloser(bytes.NewReader(raw))
	return decodeAPIError(resp), body.Ticket
}

// decodeAPIError reads an error answer; a body that is not the API's error
// shape still gives the status.
func decodeAPIError(resp *http.Response) *APIError {
	e := &APIError{StatusCode: resp.StatusCode}
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, maxResponseBody)).Decode(&body) == nil {
		e.Code, e.Description = body.Error, body.Description
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}
