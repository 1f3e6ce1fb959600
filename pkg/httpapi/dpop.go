package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/token"
)

// RequestURL is the absolute URL the client called, as a DPoP proof's htu
// names it (RFC 9449 §4.3), rebuilt from a REST API proxy event:
// requestContext.domainName (the execute-api host or the custom domain the
// request reached: API Gateway's word), falling back to the Host header only
// when the event has no domain name; and requestContext.path, the path as
// the client sent it, with a custom domain's base path or the stage of an
// execute-api URL (the event's top-level path lacks the stage). The Host
// header is the client's text: taken first, it let a proof made for another
// API's URL be replayed here with that API's name as the Host. The
// authorizer builds the same URL from its events. The scheme is https, the
// only one API Gateway serves, unless X-Forwarded-Proto says http: the local
// server and sam local, which serve plain HTTP, say so. A client that sent
// that header itself gains nothing: the proof must still name the URL
// rebuilt here, and an honest client never signs an http one for an https
// endpoint.
func RequestURL(req Request) string {
	scheme := "https"
	if strings.EqualFold(strings.TrimSpace(header(req, "X-Forwarded-Proto")), "http") {
		scheme = "http"
	}
	host := req.RequestContext.DomainName
	if host == "" {
		host = header(req, "Host")
	}
	path := req.RequestContext.Path
	if path == "" {
		path = req.Path
	}
	return scheme + "://" + host + path
}

// dpopHeader returns the request's DPoP header and whether there is exactly
// one: a request with two proofs is refused (RFC 9449 §4.3 check 1), and a
// comma-joined value (how some proxies fold two) is no compact JWS either.
func dpopHeader(req Request) (string, int) {
	n, v := 0, ""
	for k, vs := range req.MultiValueHeaders {
		if strings.EqualFold(k, dpop.HeaderName) {
			n += len(vs)
			if len(vs) > 0 {
				v = vs[0]
			}
		}
	}
	if n > 0 {
		return v, n
	}
	for k, hv := range req.Headers {
		if strings.EqualFold(k, dpop.HeaderName) {
			n++
			v = hv
		}
	}
	return v, n
}

func (a *API) now() time.Time {
	if a.Auth != nil && a.Auth.Now != nil {
		return a.Auth.Now()
	}
	return time.Now()
}

// proofKey checks the DPoP proof of a request to a token endpoint (htm and
// htu of this request, no ath; the server nonce when nonces are on; its jti
// spent in the shared replay cache) and returns its key's thumbprint, to
// which the session is bound. Without a proof it returns "" (a bearer
// session), unless proofs are required. With DPoP off, proofs are ignored.
func (a *API) proofKey(ctx context.Context, req Request) (string, error) {
	if a.DPoP == nil {
		return "", nil
	}
	h, n := dpopHeader(req)
	switch {
	case n == 0 && a.DPoPRequired:
		return "", apierr.InvalidDPoPProof.Describe("A DPoP proof is required.")
	case n == 0:
		return "", nil
	case n > 1:
		return "", apierr.InvalidDPoPProof.Describe("Send exactly one DPoP proof.")
	}
	p, err := a.DPoP.Verify(ctx, h, dpop.Check{Method: req.HTTPMethod, URL: RequestURL(req), Now: a.now()})
	if err != nil {
		return "", a.proofError(ctx, err)
	}
	return p.JKT, nil
}

// proofError is the answer to a proof Verify refused: use_dpop_nonce with a
// fresh nonce, invalid_dpop_proof, or 503 when the replay cache or the
// nonce key could not be read (nothing was decided).
func (a *API) proofError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, dpop.ErrUseNonce):
		nonce, nerr := a.DPoP.Nonces.Issue(ctx, a.now())
		if nerr != nil {
			return apierr.Unavailable.With(nerr)
		}
		return apierr.UseDPoPNonce.WithHeader(dpop.NonceHeader, nonce).With(err)
	case errors.Is(err, dpop.ErrInvalid):
		return apierr.InvalidDPoPProof.With(err)
	}
	return apierr.Unavailable.With(err)
}

// tokenClient is the client of a request to a token endpoint: client(req)
// with the key of its DPoP proof, checked.
func (a *API) tokenClient(ctx context.Context, req Request) (auth.Client, error) {
	c := client(req)
	jkt, err := a.proofKey(ctx, req)
	if err != nil {
		return auth.Client{}, err
	}
	c.JKT = jkt
	return c, nil
}

// tokenRequest reads what each route that starts a session reads besides
// its body, in this order: the refresh token's transport (cookie or body),
// the device token (deviceToken, the body's, else the device cookie) and
// the client with the key of its DPoP proof, checked and spent.
func (a *API) tokenRequest(ctx context.Context, req Request, deviceToken string) (cookie bool, device string, c auth.Client, err error) {
	if cookie, err = a.cookieTransport(req); err != nil {
		return false, "", auth.Client{}, err
	}
	if deviceToken == "" {
		deviceToken = cookieValue(req, DeviceCookie)
	}
	c, err = a.tokenClient(ctx, req)
	return cookie, deviceToken, c, err
}

// nonceHeader adds a fresh server nonce to a token response when nonces
// are on (RFC 9449 §8.2: the client uses it in its next proof).
func (a *API) nonceHeader(ctx context.Context, r *reply) {
	if a.DPoP == nil || a.DPoP.Nonces == nil {
		return
	}
	nonce, err := a.DPoP.Nonces.Issue(ctx, a.now())
	if err != nil {
		return // the next proof is asked for one
	}
	if r.headers == nil {
		r.headers = map[string]string{}
	}
	r.headers[dpop.NonceHeader] = nonce
}

// accessToken reads the access token of a route that verifies it itself
// (POST /auth/logout with a token): "Authorization: Bearer" for a bearer
// token, "Authorization: DPoP" and a proof by its key (with ath, for this
// request's method and URL) for a token bound to a key (cnf.jkt), whatever
// the DPoP mode: a bound token never works without its key.
func (a *API) accessToken(ctx context.Context, req Request) (*token.Claims, bool, error) {
	scheme, raw, ok := token.FromAuthorization(header(req, "Authorization"))
	if !ok {
		return nil, false, nil
	}
	claims, err := a.Verifier.Verify(ctx, raw)
	if err != nil {
		return nil, true, invalidBearer(err)
	}
	jkt := claims.BoundKey()
	switch {
	case jkt == "" && scheme == token.SchemeBearer:
		return claims, true, nil
	case jkt == "":
		return nil, true, apierr.InvalidToken.Describe("The access token is not bound to a DPoP key; send it as a Bearer token.")
	case scheme != token.SchemeDPoP:
		return nil, true, apierr.InvalidToken.Describe("The access token is bound to a DPoP key; send it with the DPoP scheme and a proof.")
	}
	h, n := dpopHeader(req)
	if n != 1 {
		return nil, true, resourceError(apierr.InvalidDPoPProof.Describe("Send exactly one DPoP proof."))
	}
	v := a.DPoP
	if v == nil {
		// DPoP turned off after the token was bound: its proof is checked
		// all the same, but its jti is not spent (no replay cache is open).
		// A replay gains nothing here: the route's one success ends the
		// token's session, which the token check reads first
		// (TestLogoutProofReplayWithDPoPOff).
		v = &dpop.Verifier{}
	}
	if _, err := v.Verify(ctx, h, dpop.Check{Method: req.HTTPMethod, URL: RequestURL(req), AccessToken: raw, JKT: jkt, Now: a.now()}); err != nil {
		return nil, true, resourceError(apierr.From(a.proofError(ctx, err)))
	}
	return claims, true, nil
}

// resourceError turns a token endpoint's proof refusal (400) into a
// protected resource's (RFC 9449 §7.1, §9): 401 with a DPoP challenge
// naming the error and the algorithms a proof may use. A 503 stays.
func resourceError(e *apierr.Error) error {
	if e.Status != http.StatusBadRequest {
		return e
	}
	c := *e
	c.Status = http.StatusUnauthorized
	c.Challenge = `DPoP error="` + e.Code + `", algs="` + strings.Join(dpop.AlgorithmNames(), " ") + `"`
	return &c
}
