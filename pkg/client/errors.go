package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrSessionEnded reports that the server refused the refresh token (it is
// unknown, expired, revoked or was reused), or that no tokens are stored:
// the user must log in again. Match it with errors.Is; errors.As with a
// *SessionEndedError gives the server's reason.
var ErrSessionEnded = errors.New("client: session ended, log in again")

// ErrNoTokens is returned by a TokenStore's Load when it holds no tokens.
var ErrNoTokens = errors.New("client: no tokens stored")

// ErrBodyNotReplayable is returned when a request with a body drew a 401,
// the tokens were refreshed, but the request cannot be retried because it
// has no GetBody to produce its body again. The tokens are fresh, so the
// caller may build the request anew and send it. Requests made by
// http.NewRequest with a *bytes.Buffer, *bytes.Reader or *strings.Reader
// body always have GetBody.
var ErrBodyNotReplayable = errors.New("client: request body cannot be replayed after a token refresh (set Request.GetBody)")

// SessionEndedError carries why the session ended. It matches
// ErrSessionEnded with errors.Is.
type SessionEndedError struct {
	// StatusCode is the HTTP status of the refused refresh, 0 when no
	// tokens were stored.
	StatusCode int
	// Code is the server's error code, such as "invalid_grant".
	Code string
	// Description is the server's human-readable explanation.
	Description string
}

// Error describes the refused refresh.
func (e *SessionEndedError) Error() string {
	if e.StatusCode == 0 {
		return "client: session ended: " + e.Description
	}
	return fmt.Sprintf("client: session ended: refresh refused with %d %s: %s", e.StatusCode, e.Code, e.Description)
}

// Is makes errors.Is(err, ErrSessionEnded) true.
func (e *SessionEndedError) Is(target error) bool { return target == ErrSessionEnded }

// APIError is an error answer of the Rotor API in its fixed shape
// {"error","error_description"}, returned by Login, Logout and by a refresh
// that failed for another reason than a refused token (a 5xx, a 429).
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the "error" field, such as "invalid_credentials".
	Code string
	// Description is the "error_description" field.
	Description string
	// RetryAfter is the parsed Retry-After header of a 429, or zero.
	RetryAfter time.Duration
}

// Error describes the API answer.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("client: server answered %d", e.StatusCode)
	}
	return fmt.Sprintf("client: server answered %d %s: %s", e.StatusCode, e.Code, e.Description)
}

// ErrMFARequired reports that the password was right but the account has a
// second factor: the login is finished by VerifyMFA or VerifyRecoveryCode
// with the *MFARequiredError errors.As gives.
var ErrMFARequired = errors.New("client: a second factor is required")

// MFARequiredError is the server's 403 mfa_required answer to a login: the
// password was right, and the user must now send a code. It matches
// ErrMFARequired with errors.Is.
type MFARequiredError struct {
	// Username is who logged in, so the device token the verify answers
	// with is kept for that username.
	Username string
	// MFAToken is the short-lived, single-use token that binds the second
	// step to this login; VerifyMFA sends it back.
	MFAToken string
	// Methods are the second factors on offer: "otp", "recovery_code".
	Methods []string
	// Description is the server's human-readable explanation.
	Description string
}

// Error describes the challenge (never the mfa_token).
func (e *MFARequiredError) Error() string {
	return fmt.Sprintf("client: second factor required (%s)", strings.Join(e.Methods, ", "))
}

// Is makes errors.Is(err, ErrMFARequired) true.
func (e *MFARequiredError) Is(target error) bool { return target == ErrMFARequired }

// StepUpRequired reports whether resp is RFC 9470's refusal of a route that
// needs a multi-factor login (401 with WWW-Authenticate Bearer
// error="insufficient_user_authentication"). The Transport returns such an
// answer as it is, without refreshing: a refresh keeps the session's
// methods, only a login with a second factor helps.
func StepUpRequired(resp *http.Response) bool {
	return resp != nil && resp.StatusCode == http.StatusUnauthorized &&
		strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="insufficient_user_authentication"`)
}
