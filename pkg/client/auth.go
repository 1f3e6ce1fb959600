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
)

// maxResponseBody bounds what the client reads of an API answer.
const maxResponseBody = 1 << 20

// Login exchanges a username and password for a token pair at
// /auth/login and saves it in t.Store. With t.Devices set it sends the
// username's device token and keeps the new one. A refused login is an
// *APIError whose Code is "invalid_credentials", or "too_many_attempts"
// with RetryAfter set.
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
	resp, err := t.postJSON(ctx, "/auth/login", body)
	if err != nil {
		return fmt.Errorf("client: login: %w", err)
	}
	defer discard(resp)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("client: login: %w", decodeAPIError(resp))
	}
	tok, dev, err := decodeLogin(resp, t.now())
	if err != nil {
		return fmt.Errorf("client: login: %w", err)
	}
	if err := t.Store.Save(ctx, tok); err != nil {
		return fmt.Errorf("client: login: %w", err)
	}
	if t.Devices != nil && dev != "" {
		if err := t.Devices.SaveDevice(ctx, username, dev); err != nil {
			return fmt.Errorf("client: login: %w", err)
		}
	}
	return nil
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
	resp, err := t.postJSON(ctx, "/auth/logout", map[string]string{"refresh_token": tok.RefreshToken})
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
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint(path), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	return t.base().RoundTrip(req)
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
	tok := Tokens{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken}
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
