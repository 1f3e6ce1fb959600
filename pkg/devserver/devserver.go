package devserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/deadline"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

// MaxBody is the most of a request body the server reads: one byte more
// than any handler accepts (httpapi.MaxBodyBytes), so a larger body is
// refused by the handler exactly as on API Gateway without being buffered.
const MaxBody = httpapi.MaxBodyBytes + 1

// Default timeouts of HTTPServer. Reading a request (headers and the small
// body) is bounded so a slow or stalled client cannot hold a connection;
// writing allows for a login waiting its turn to hash plus the store deadline.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
)

// unauthorizedBody is template.yaml's UNAUTHORIZED gateway response.
const unauthorizedBody = `{"error":"invalid_token","error_description":"The access token is missing, malformed, expired or revoked."}`

// stepUpBody and stepUpChallenge are template.yaml's ACCESS_DENIED gateway
// response, which API Gateway sends when the authorizer's policy denies a
// route of ROTOR_MFA_ROUTES to a token without "mfa": RFC 9470's
// insufficient_user_authentication, with 401 as that RFC says. A refresh
// does not help (it keeps the session's methods); a login with a second
// factor does.
const (
	stepUpBody      = `{"error":"insufficient_user_authentication","error_description":"This route needs a multi-factor login: log in again with a second factor."}`
	stepUpChallenge = `Bearer error="insufficient_user_authentication", error_description="A multi-factor login is required"`
)

// Server routes requests to the API's handlers.
type Server struct {
	API        *httpapi.API
	Authorizer *authorizer.Authorizer
	Static     http.Handler // served at GET / when set (the demo page)
	Mailbox    http.Handler // served at GET /dev/mailbox when set (Mailer)
	Log        *slog.Logger

	// Timeouts of HTTPServer; the Default values when zero.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
}

// HTTPServer returns an http.Server for Handler with every timeout set: what
// a server someone may run in a container must have.
func (s *Server) HTTPServer() *http.Server {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	return &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: or(s.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       or(s.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      or(s.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       or(s.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    64 << 10,
	}
}

// Handler returns the routes of template.yaml.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	preflight := map[string]bool{}
	route := func(pattern string, h httpapi.Handler, protected bool) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, h, protected) })
		// Each path's OPTIONS goes, unauthenticated, to the handler of that
		// path, which answers the CORS preflight as template.yaml's
		// PreflightFunction does (cors.Preflight).
		if _, path, _ := strings.Cut(pattern, " "); !preflight[path] {
			preflight[path] = true
			mux.HandleFunc("OPTIONS "+path, func(w http.ResponseWriter, r *http.Request) { s.serve(w, r, h, false) })
		}
	}
	route("POST /auth/signup", s.API.Signup, false)
	route("POST /auth/login", s.API.Login, false)
	route("POST /auth/refresh", s.API.Refresh, false)
	route("POST /auth/logout", s.API.Logout, false)
	route("GET /.well-known/jwks.json", s.API.JWKS, false)
	route("POST /oauth/token", s.API.Token, false)
	route("POST /oauth/revoke", s.API.Revoke, false)
	route("GET /.well-known/openid-configuration", s.API.Discovery, false)
	route("GET /.well-known/oauth-authorization-server", s.API.Discovery, false)
	route("GET /me", s.API.Me, true)
	route("GET /auth/sessions", s.API.Sessions, true)
	route("DELETE /auth/sessions/{id}", s.API.Sessions, true)
	route("POST /auth/password", s.API.Password, true)
	route("POST "+httpapi.RouteEmail, s.API.Email, true)
	route("POST "+httpapi.RouteEmailVerify, s.API.Email, false)
	route("POST "+httpapi.RouteEmailResend, s.API.Email, true)
	route("POST "+httpapi.RoutePasswordForgot, s.API.Recovery, false)
	route("POST "+httpapi.RoutePasswordReset, s.API.Recovery, false)
	route("POST "+httpapi.RouteMFATOTP, s.API.MFA, true)
	route("DELETE "+httpapi.RouteMFATOTP, s.API.MFA, true)
	route("POST "+httpapi.RouteMFAConfirm, s.API.MFA, true)
	route("POST "+httpapi.RouteMFARecoveryCodes, s.API.MFA, true)
	route("POST "+httpapi.RouteMFAVerify, s.API.MFA, false)
	route("POST "+httpapi.RouteMFAPasskeyOptions, s.API.MFA, false)
	route("POST "+httpapi.RoutePasskeyRegisterOptions, s.API.Passkeys, true)
	route("POST "+httpapi.RoutePasskeyRegister, s.API.Passkeys, true)
	route("POST "+httpapi.RoutePasskeyLoginOptions, s.API.Passkeys, false)
	route("POST "+httpapi.RoutePasskeyLogin, s.API.Passkeys, false)
	route("GET "+httpapi.RoutePasskeys, s.API.Passkeys, true)
	route("PATCH "+httpapi.RoutePasskey, s.API.Passkeys, true)
	route("DELETE "+httpapi.RoutePasskey, s.API.Passkeys, true)
	if s.Mailbox != nil {
		mux.Handle("GET /dev/mailbox", s.Mailbox)
	}
	if s.Static != nil {
		mux.Handle("GET /", s.Static)
	}
	return mux
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, h httpapi.Handler, protected bool) {
	// A body past MaxBody also closes the connection once answered.
	r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
	req, err := Event(r)
	if err != nil {
		// The client stopped sending or took longer than ReadTimeout.
		s.log().Debug("request body unread", "cause", err.Error())
		s.write(w, s.gatewayResponse(http.StatusBadRequest, `{"message":"Bad Request"}`, nil))
		return
	}
	if protected {
		actx, cancel := deadline.Bound(r.Context(), s.API.StoreTimeout)
		id, err := s.Authorizer.AuthorizeRequest(actx, authorizer.Request{
			Authorization: r.Header.Get("Authorization"), Proofs: r.Header.Values(dpop.HeaderName),
			Method: r.Method, URL: localURL(r),
		})
		cancel()
		switch {
		case errors.Is(err, authorizer.ErrUnauthorized):
			s.write(w, s.gatewayResponse(http.StatusUnauthorized, unauthorizedBody, s.challenge(r.Context(), err)))
			return
		case err != nil:
			s.log().Error("authorizer failed", "cause", err.Error())
			s.write(w, s.gatewayResponse(http.StatusInternalServerError, `{"message":null}`, nil))
			return
		}
		// The Deny of the authorizer's policy, as API Gateway applies it.
		if rs := s.Authorizer.MFARoutes; len(rs) > 0 && !id.MFA() && rs.Requires(r.Method, r.URL.Path) {
			s.write(w, s.gatewayResponse(http.StatusUnauthorized, stepUpBody, map[string]string{"WWW-Authenticate": stepUpChallenge}))
			return
		}
		req.RequestContext.Authorizer = id.Context()
	}
	resp, err := h(r.Context(), req)
	if err != nil {
		// A Lambda that returns an error is a 502 at API Gateway.
		s.log().Error("handler failed", "cause", err.Error())
		s.write(w, s.gatewayResponse(http.StatusBadGateway, `{"message": "Internal server error"}`, nil))
		return
	}
	s.write(w, resp)
}

// localURL is the URL a client of the local server called: what its DPoP
// proofs name as htu (API Gateway's counterpart is the event's domain and
// path, pkg/authorizer).
func localURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// challenge is the WWW-Authenticate of a refused token: RFC 6750's, or RFC
// 9449 §7.1's for a refused proof, with a fresh DPoP-Nonce when the proof
// needs one. API Gateway's UNAUTHORIZED gateway response can only send one
// fixed challenge (template.yaml); the local server says which.
func (s *Server) challenge(ctx context.Context, err error) map[string]string {
	algs := `algs="` + strings.Join(dpop.AlgorithmNames(), " ") + `"`
	switch {
	case errors.Is(err, authorizer.ErrUseNonce):
		h := map[string]string{"WWW-Authenticate": `DPoP error="use_dpop_nonce", ` + algs}
		if p := s.Authorizer.Proofs; p != nil && p.Nonces != nil {
			now := time.Now
			if s.Authorizer.Now != nil {
				now = s.Authorizer.Now
			}
			if n, err := p.Nonces.Issue(ctx, now()); err == nil {
				h[dpop.NonceHeader] = n
			}
		}
		return h
	case errors.Is(err, authorizer.ErrInvalidProof):
		return map[string]string{"WWW-Authenticate": `DPoP error="invalid_dpop_proof", ` + algs}
	}
	return map[string]string{"WWW-Authenticate": `Bearer error="invalid_token"`}
}

func (s *Server) gatewayResponse(status int, body string, extra map[string]string) httpapi.Response {
	h := map[string]string{"Content-Type": "application/json"}
	for k, v := range httpapi.CORSHeaders(s.API.CORSOrigin) {
		h[k] = v
	}
	for k, v := range extra {
		h[k] = v
	}
	return httpapi.Response{StatusCode: status, Headers: h, Body: body}
}

func (s *Server) write(w http.ResponseWriter, resp httpapi.Response) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		body, _ = base64.StdEncoding.DecodeString(resp.Body)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

// Event turns an HTTP request into the REST API proxy event API Gateway would
// send: Host and X-Forwarded-Proto set by the server, stage "local", the client's address as sourceIp, binary bodies base64.
// It reads at most MaxBody bytes of the body: a longer body arrives cut to
// MaxBody, which is still too large for every handler.
func Event(r *http.Request) (httpapi.Request, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBody+1))
	var tooLarge *http.MaxBytesError
	if err != nil && !errors.As(err, &tooLarge) {
		return httpapi.Request{}, fmt.Errorf("devserver: read body: %w", err)
	}
	body = body[:min(len(body), MaxBody)]
	headers := map[string]string{}
	multi := map[string][]string{}
	for k, vs := range r.Header {
		headers[k] = strings.Join(vs, ",")
		multi[k] = vs
	}
	// As API Gateway does: the Host the client called (Go keeps it out of
	// r.Header; also the event's requestContext.domainName) and the scheme it used, whatever the client sent, so a DPoP
	// proof's htu is checked against the URL the client called
	// (httpapi.RequestURL).
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	for k, v := range map[string]string{"Host": r.Host, "X-Forwarded-Proto": proto} {
		for h := range headers {
			if strings.EqualFold(h, k) {
				delete(headers, h)
				delete(multi, h)
			}
		}
		headers[k], multi[k] = v, []string{v}
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = vs[0]
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	req := httpapi.Request{
		Resource:              r.Pattern,
		Path:                  r.URL.Path,
		HTTPMethod:            r.Method,
		Headers:               headers,
		MultiValueHeaders:     multi,
		QueryStringParameters: query,
		PathParameters:        map[string]string{},
		RequestContext: events.APIGatewayProxyRequestContext{
			Stage:      "local",
			DomainName: r.Host,
			RequestID:  requestID(),
			Path:       r.URL.Path,
			HTTPMethod: r.Method,
			Identity:   events.APIGatewayRequestIdentity{SourceIP: ip, UserAgent: r.UserAgent()},
		},
	}
	if id := r.PathValue("id"); id != "" {
		req.PathParameters["id"] = id
	}
	if utf8.Valid(body) {
		req.Body = string(body)
	} else {
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return req, nil
}

func requestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
