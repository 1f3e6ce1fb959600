package apierr

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Error is an API error: Status and Code are the contract, Description is safe to
// show to a client, Cause is the internal reason and is only ever logged.
type Error struct {
	Status      int
	Code        string
	Description string
	// RetryAfter, when positive, becomes a Retry-After header (seconds, rounded up).
	RetryAfter time.Duration
	// Fields are extra members of the error body, public like Description
	// (RFC 6749 §5.2 lets error responses carry more parameters).
	Fields map[string]string
	// Lists are extra members of the error body whose values are arrays
	// (mfa_required's mfa_methods).
	Lists map[string][]string
	// Challenge, when set, becomes a WWW-Authenticate header.
	Challenge string
	// Header holds more response headers (use_dpop_nonce's DPoP-Nonce).
	Header map[string]string
	Cause  error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Description, e.Cause)
	}
	return e.Code + ": " + e.Description
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Cause }

// Headers returns the extra response headers the error asks for.
func (e *Error) Headers() map[string]string {
	h := map[string]string{}
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		h["Retry-After"] = strconv.Itoa(secs)
	}
	if e.Challenge != "" {
		h["WWW-Authenticate"] = e.Challenge
	}
	for k, v := range e.Header {
		h[k] = v
	}
	if len(h) == 0 {
		return nil
	}
	return h
}

// With returns a copy of e wrapping cause.
func (e *Error) With(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// WithField returns a copy of e whose body also carries name: value.
func (e *Error) WithField(name, value string) *Error {
	c := *e
	c.Fields = map[string]string{name: value}
	for k, v := range e.Fields {
		c.Fields[k] = v
	}
	return &c
}

// WithHeader returns a copy of e whose answer also carries the header
// name: value.
func (e *Error) WithHeader(name, value string) *Error {
	c := *e
	c.Header = map[string]string{name: value}
	for k, v := range e.Header {
		if k != name {
			c.Header[k] = v
		}
	}
	return &c
}

// WithList returns a copy of e whose body also carries name: values.
func (e *Error) WithList(name string, values ...string) *Error {
	c := *e
	c.Lists = map[string][]string{name: values}
	for k, v := range e.Lists {
		c.Lists[k] = v
	}
	return &c
}

// Describe returns a copy of e with a more specific public description.
func (e *Error) Describe(format string, args ...any) *Error {
	c := *e
	c.Description = fmt.Sprintf(format, args...)
	return &c
}

// The errors of the HTTP contract. Use With or Describe to specialise them; the
// values themselves are never modified.
var (
	InvalidRequest     = &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: "The request is malformed."}
	InvalidCredentials = &Error{Status: http.StatusUnauthorized, Code: "invalid_credentials", Description: "The username or password is incorrect."}
	InvalidGrant       = &Error{Status: http.StatusUnauthorized, Code: "invalid_grant", Description: "The refresh token is invalid, expired or revoked."}
	InvalidToken       = &Error{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "The access token is missing, invalid or expired."}
	CSRFFailed         = &Error{Status: http.StatusForbidden, Code: "csrf_failed", Description: "The CSRF token is missing or does not match."}
	NotFound           = &Error{Status: http.StatusNotFound, Code: "not_found", Description: "The resource does not exist."}
	MethodNotAllowed   = &Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Description: "The method is not allowed on this route."}
	UsernameTaken      = &Error{Status: http.StatusConflict, Code: "username_taken", Description: "The username is already registered."}
	TooLarge           = &Error{Status: http.StatusBadRequest, Code: "invalid_request", Description: "The request body is too large."}
	TooManyAttempts    = &Error{Status: http.StatusTooManyRequests, Code: "too_many_attempts", Description: "Too many failed attempts; try again later."}
	Internal           = &Error{Status: http.StatusInternalServerError, Code: "server_error", Description: "The server could not complete the request."}
	// InvalidLink answers a mail link's token that is malformed, not issued
	// here, expired, used or no longer valid for its account: one answer
	// for all, so a guess learns nothing.
	InvalidLink = &Error{Status: http.StatusBadRequest, Code: "invalid_link_token", Description: "The link is invalid, expired or already used; ask for a new one."}
	// MFARequired answers a right password of a user with a second factor:
	// the body carries the mfa_token and mfa_methods of the second step.
	MFARequired = &Error{Status: http.StatusForbidden, Code: "mfa_required", Description: "A second factor is required to finish this login."}
	// InvalidMFAToken answers an mfa_token that is malformed, not issued
	// here, expired, used, or from another login: one answer for all.
	InvalidMFAToken = &Error{Status: http.StatusUnauthorized, Code: "invalid_mfa_token", Description: "The mfa_token is invalid, expired or already used; log in again."}
	// InvalidCode answers a wrong, malformed or already used code.
	InvalidCode = &Error{Status: http.StatusBadRequest, Code: "invalid_code", Description: "The code is incorrect or was already used."}
	// MFAEnrolled refuses an enrolment over a confirmed factor; MFANotEnrolled
	// a route that needs a factor (or a pending one) the user does not have.
	MFAEnrolled    = &Error{Status: http.StatusConflict, Code: "mfa_already_enrolled", Description: "A second factor is already enrolled; remove it first."}
	MFANotEnrolled = &Error{Status: http.StatusConflict, Code: "mfa_not_enrolled", Description: "No second factor is enrolled (or waiting for confirmation)."}
	// InvalidPasskey answers a passkey login whose response does not verify
	// (malformed, another origin or RP id, a challenge not issued here,
	// expired or used, an unknown credential, a bad signature, a cloned
	// authenticator refused): one answer for all.
	InvalidPasskey = &Error{Status: http.StatusUnauthorized, Code: "invalid_passkey", Description: "The passkey could not be verified; ask for new options and try again."}
	// PasskeyRegistered refuses a credential id registered already.
	PasskeyRegistered = &Error{Status: http.StatusConflict, Code: "passkey_registered", Description: "This passkey is registered already."}
	// InvalidDPoPProof refuses a token request whose DPoP proof (RFC 9449
	// §5) is missing where one is required, malformed, or not by the key
	// the session is bound to; UseDPoPNonce asks for a proof with the server
	// nonce of its DPoP-Nonce header (§8).
	InvalidDPoPProof = &Error{Status: http.StatusBadRequest, Code: "invalid_dpop_proof", Description: "The DPoP proof is missing, invalid or not by the key the session is bound to."}
	UseDPoPNonce     = &Error{Status: http.StatusBadRequest, Code: "use_dpop_nonce", Description: "The DPoP proof must carry the server nonce of the DPoP-Nonce header."}
	Unavailable      = &Error{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: "The service is temporarily unavailable; try again."}
)

// UnsupportedMediaType refuses a JSON route's body sent as anything but
// application/json: without the header a browser posts it cross-origin as a
// CORS "simple" request, with no preflight to refuse it.
var UnsupportedMediaType = &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Description: "The body must be sent with Content-Type: application/json."}

// From returns err as an *Error; anything that is not one becomes Internal
// wrapping err, so internal details never reach a client.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal.With(err)
}
