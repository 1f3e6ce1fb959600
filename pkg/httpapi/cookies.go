package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/token"
)

// The cookie transport: a browser client that sends this header on login,
// refresh and logout gets the refresh token as an HttpOnly cookie that page
// scripts can never read, plus a CSRF token (double submit: an HttpOnly
// cookie and the X-CSRF-Token header must match).
const (
	TransportHeader = "X-Rotor-Refresh-Transport"
	CSRFHeader      = "X-CSRF-Token"
	RefreshCookie   = "rotor_refresh"
	CSRFCookie      = "rotor_csrf"
	// DeviceCookie holds the device token (package device). A login reads
	// it when the body has no device_token; logout leaves it, so the device
	// stays known to the next login.
	DeviceCookie = "rotor_device"
)

// DeviceCookieMaxAge is how long a browser keeps the device cookie. The
// token itself stays valid while the server MAC key that tagged it is
// current or previous; each login replaces it.
const DeviceCookieMaxAge = 365 * 24 * time.Hour

// cookieTransport reports whether the request asks for the cookie
// transport, and refuses it while the CORS origin is "*": a browser neither
// sends nor keeps cookies for a cross-origin answer that allows any origin,
// so the client would silently lose its refresh token.
func (a *API) cookieTransport(req Request) (bool, error) {
	if !strings.EqualFold(header(req, TransportHeader), "cookie") {
		return false, nil
	}
	if a.CORSOrigin == "*" {
		return false, apierr.InvalidRequest.Describe("The cookie transport needs the API's CORS origin set to the web app's origin (CorsAllowOrigin, ROTOR_CORS_ALLOW_ORIGIN), not *: browsers do not send credentials to an API that allows any origin.")
	}
	return true, nil
}

// cookiePath scopes the cookies to the auth routes, under the stage prefix
// API Gateway adds (requestContext.path is /Prod/auth/login where path is
// /auth/login).
func cookiePath(req Request) string {
	prefix := strings.TrimSuffix(req.RequestContext.Path, req.Path)
	return prefix + "/auth"
}

func newCSRFToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func setCookies(path, refresh, csrf string, ttl time.Duration) []string {
	mk := func(name, value string) string {
		c := http.Cookie{Name: name, Value: value, Path: path, MaxAge: int(ttl.Seconds()), HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
		return c.String()
	}
	return []string{mk(RefreshCookie, refresh), mk(CSRFCookie, csrf)}
}

func clearCookies(path string) []string {
	mk := func(name string) string {
		c := http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
		return c.String()
	}
	return []string{mk(RefreshCookie), mk(CSRFCookie)}
}

func deviceCookie(path, token string) string {
	c := http.Cookie{Name: DeviceCookie, Value: token, Path: path, MaxAge: int(DeviceCookieMaxAge.Seconds()), HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode}
	return c.String()
}

// requestCookies parses every Cookie header of req.
func requestCookies(req Request) []*http.Cookie {
	var cookieHeaders []string
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, "Cookie") {
			cookieHeaders = append(cookieHeaders, vs...)
		}
	}
	if len(cookieHeaders) == 0 {
		if c := header(req, "Cookie"); c != "" {
			cookieHeaders = []string{c}
		}
	}
	cookies, _ := http.ParseCookie(strings.Join(cookieHeaders, "; "))
	return cookies
}

// cookieValue returns the value of req's cookie called name, or "".
func cookieValue(req Request, name string) string {
	for _, c := range requestCookies(req) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// fromCookies returns the refresh token and CSRF token of a cookie-transport
// request, after checking the CSRF header matches its cookie.
func fromCookies(req Request) (refresh, csrf string, err error) {
	for _, c := range requestCookies(req) {
		switch c.Name {
		case RefreshCookie:
			refresh = c.Value
		case CSRFCookie:
			csrf = c.Value
		}
	}
	sent := header(req, CSRFHeader)
	if csrf == "" || sent == "" || subtle.ConstantTimeCompare([]byte(csrf), []byte(sent)) != 1 {
		return "", "", apierr.CSRFFailed
	}
	if refresh == "" {
		return "", "", apierr.InvalidGrant.Describe("No refresh token cookie.")
	}
	return refresh, csrf, nil
}

// invalidBearer maps a verification failure: a bad token is the client's
// problem (401), unavailable keys are ours (503).
func invalidBearer(err error) error {
	if errors.Is(err, token.ErrInvalid) {
		return apierr.InvalidToken.With(err)
	}
	return apierr.Unavailable.With(err)
}
