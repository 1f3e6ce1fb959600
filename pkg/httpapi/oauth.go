package httpapi

import (
	"context"
	"encoding/base64"
	"errors"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
)

// The standard doors to the same flows: RFC 6749's token endpoint (§4.3 the
// password grant, §6 refresh), RFC 7009's revocation endpoint, and the
// discovery documents of OpenID Connect Discovery 1.0 and RFC 8414. They call
// the same auth.Service methods as /auth/login, /auth/refresh and
// /auth/logout, so throttling, rotation, grace and reuse detection are one
// implementation. The cookie transport never applies here: bodies in,
// bodies out, so a cross-site form post gains nothing.

// The errors of RFC 6749 §5.2 and RFC 7009 §2.2.1 that the JSON routes do
// not have. invalid_grant is 400 here, where /auth/refresh says 401.
var (
	oauthInvalidGrant     = &apierr.Error{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "The refresh token is invalid, expired or revoked."}
	oauthBadCredentials   = &apierr.Error{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "The username or password is incorrect."}
	oauthUnsupportedGrant = &apierr.Error{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: `grant_type must be "password", "refresh_token", "` + GrantMFAOTP + `" or "` + GrantMFARecoveryCode + `".`}
	oauthBadMFAToken      = &apierr.Error{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "The mfa_token is invalid, expired or already used; log in again."}
	oauthBadCode          = &apierr.Error{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "The code is incorrect or was already used."}
	oauthInvalidClient    = &apierr.Error{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "Clients are public: send client_id alone, without a secret."}
	oauthUnsupportedToken = &apierr.Error{Status: http.StatusBadRequest, Code: "unsupported_token_type", Description: "Access tokens expire on their own; revoke the refresh token."}
)

// maxClientID bounds client_id, which Rotor only passes through to the log.
const maxClientID = 255

// formContentType is the one body type of the OAuth endpoints.
const formContentType = "application/x-www-form-urlencoded"

// oauthHeaders are RFC 6749 §5.1's headers for any answer carrying tokens
// (Cache-Control: no-store is on every Rotor answer already).
func oauthHeaders() map[string]string { return map[string]string{"Pragma": "no-cache"} }

// form is a parsed OAuth request body: RFC 6749 §3.2 rules applied.
type form map[string]string

// parseForm reads an application/x-www-form-urlencoded body, bounded like the
// JSON bodies: one value per parameter (§3.2: "MUST NOT be included more than
// once"), empty values treated as omitted, unknown parameters ignored.
func parseForm(req Request) (form, error) {
	ct := header(req, "Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != formContentType {
		return nil, apierr.InvalidRequest.Describe("Content-Type must be %s (RFC 6749 §4.3.2, RFC 7009 §2.1).", formContentType)
	}
	body, err := bodyOf(req)
	if err != nil {
		return nil, err
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, apierr.InvalidRequest.Describe("The body is not a valid form encoding.")
	}
	f := form{}
	for k, vs := range vals {
		if len(vs) > 1 {
			return nil, apierr.InvalidRequest.Describe("Parameter %q is repeated (RFC 6749 §3.2).", clip(k))
		}
		// A password or token that is not UTF-8 could otherwise become a
		// different string on its way to the store.
		if !utf8.ValidString(k) || !utf8.ValidString(vs[0]) {
			return nil, apierr.InvalidRequest.Describe("Parameters must be UTF-8.")
		}
		if vs[0] != "" {
			f[k] = vs[0]
		}
	}
	return f, nil
}

// clip keeps an echoed parameter name short.
func clip(s string) string {
	if len(s) > 40 || !utf8.ValidString(s) {
		return "(a long or invalid name)"
	}
	return s
}

// clientID returns the public client's id, from the form or HTTP Basic
// (RFC 6749 §2.3.1: both parts form-encoded). A client secret is refused:
// Rotor has no confidential clients (token_endpoint_auth_methods_supported
// is ["none"]), and accepting a secret it cannot check would pretend
// otherwise. An empty secret, as golang.org/x/oauth2 and requests-oauthlib
// send for public clients, is fine.
func clientID(req Request, f form) (string, error) {
	id := f["client_id"]
	if f["client_secret"] != "" {
		return "", oauthInvalidClient
	}
	if scheme, cred, ok := strings.Cut(header(req, "Authorization"), " "); ok && strings.EqualFold(scheme, "Basic") {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
		if err != nil {
			return "", apierr.InvalidRequest.Describe("The Basic credentials are not valid base64.").With(err)
		}
		user, secret, _ := strings.Cut(string(b), ":")
		if user, err = url.QueryUnescape(user); err != nil {
			return "", apierr.InvalidRequest.Describe("The Basic client id is not form-encoded.").With(err)
		}
		if secret != "" {
			// §5.2: a client that tried the Authorization header gets 401
			// and a challenge in its scheme.
			e := *oauthInvalidClient
			e.Challenge = `Basic realm="rotor"`
			return "", e.With(errors.New("httpapi: client secret sent"))
		}
		// RFC 6749 §2.3: one authentication method per request.
		if id != "" && id != user {
			return "", apierr.InvalidRequest.Describe("client_id differs between the form and the Authorization header.")
		}
		id = user
	}
	if len(id) > maxClientID || !utf8.ValidString(id) {
		return "", apierr.InvalidRequest.Describe("client_id must be at most %d bytes of UTF-8.", maxClientID)
	}
	return id, nil
}

// oauthError restates the shared flows' errors in RFC 6749 §5.2's words:
// a wrong password or a dead refresh token is invalid_grant, status 400.
// Throttling (429 with Retry-After) and unavailability (503) keep their
// status and code: a client must wait, not start over.
func oauthError(err error) error {
	e := apierr.From(err)
	switch {
	case e.Code == apierr.InvalidCredentials.Code:
		return oauthBadCredentials.With(err)
	case e.Code == apierr.InvalidGrant.Code:
		return oauthInvalidGrant.With(err)
	case e.Code == apierr.InvalidMFAToken.Code:
		return oauthBadMFAToken.With(err)
	case e.Code == apierr.InvalidCode.Code:
		return oauthBadCode.With(err)
	}
	return err
}

// Token handles POST /oauth/token (RFC 6749 §4.3 and §6).
func (a *API) Token(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		f, err := parseForm(req)
		if err != nil {
			return reply{}, err
		}
		cid, err := clientID(req, f)
		if err != nil {
			return reply{}, err
		}
		var p auth.Pair
		c, err := a.tokenClient(ctx, req)
		if err != nil {
			return reply{}, err
		}
		switch f["grant_type"] {
		case "password":
			if err := required([2]string{"username", f["username"]}, [2]string{"password", f["password"]}); err != nil {
				return reply{}, err
			}
			// device_token: what an earlier password grant (or /auth/login)
			// for this username returned; its owner is throttled apart from
			// strangers. Never read from a cookie here.
			p, err = a.Auth.Login(ctx, f["username"], f["password"], f["device_token"], c)
		case "refresh_token":
			if err := required([2]string{"refresh_token", f["refresh_token"]}); err != nil {
				return reply{}, err
			}
			// retry_ticket: from a 503 answer to an earlier try with the same
			// refresh token, exactly as /auth/refresh takes it.
			p, err = a.Auth.RefreshWithKey(ctx, f["refresh_token"], f["retry_ticket"], c.JKT)
		case GrantMFAOTP:
			// The second step of a password grant answered 403
			// mfa_required: the mfa_token and a TOTP code (and the same
			// device_token, if the password grant sent one).
			if err := required([2]string{"mfa_token", f["mfa_token"]}, [2]string{"otp", f["otp"]}); err != nil {
				return reply{}, err
			}
			p, err = a.Auth.VerifyMFA(ctx, f["mfa_token"], f["otp"], "", f["device_token"], c)
		case GrantMFARecoveryCode:
			if err := required([2]string{"mfa_token", f["mfa_token"]}, [2]string{"recovery_code", f["recovery_code"]}); err != nil {
				return reply{}, err
			}
			p, err = a.Auth.VerifyMFA(ctx, f["mfa_token"], "", f["recovery_code"], f["device_token"], c)
		case "":
			return reply{}, apierr.InvalidRequest.Describe(`Parameter "grant_type" is required.`)
		default:
			return reply{}, oauthUnsupportedGrant
		}
		if err != nil {
			return reply{}, oauthError(err)
		}
		a.log().DebugContext(ctx, "oauth token issued", "event", "oauth_token", "grant_type", f["grant_type"], "client_id", cid, "session_id", p.SessionID)
		r, err := a.tokens(ctx, req, p, false, "")
		for k, v := range oauthHeaders() {
			if r.headers == nil {
				r.headers = map[string]string{}
			}
			r.headers[k] = v
		}
		return r, err
	})
}

// Revoke handles POST /oauth/revoke (RFC 7009): token=<refresh token> ends
// its session. An unknown, expired or already revoked token is a success too
// (§2.2): the client's aim, that the token no longer works, is met.
func (a *API) Revoke(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		f, err := parseForm(req)
		if err != nil {
			return reply{}, err
		}
		if _, err := clientID(req, f); err != nil {
			return reply{}, err
		}
		tok := f["token"]
		if tok == "" {
			return reply{}, apierr.InvalidRequest.Describe(`Parameter "token" is required.`)
		}
		done := reply{status: http.StatusOK, headers: oauthHeaders()}
		err = a.Auth.Logout(ctx, tok)
		if err == nil {
			return done, nil
		}
		if e := apierr.From(err); e.Status >= 500 {
			return reply{}, err
		}
		// Not a live refresh token. A valid access token is a token type
		// Rotor does not revoke (§2.2.1): say so rather than pretend.
		if a.Verifier != nil {
			if _, verr := a.Verifier.Verify(ctx, tok); verr == nil {
				return reply{}, oauthUnsupportedToken
			}
		}
		return done, nil
	})
}

// Metadata is the authorization server's discovery document: RFC 8414 §2
// fields, and those OpenID Connect Discovery 1.0 §3 requires.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	JWKSURI                           string   `json:"jwks_uri"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ServiceDocumentation              string   `json:"service_documentation,omitempty"`
	// DPoPSigningAlgValuesSupported (RFC 9449 §5.1) lists the algorithms
	// a DPoP proof may use; absent when DPoP is off.
	DPoPSigningAlgValuesSupported []string `json:"dpop_signing_alg_values_supported,omitempty"`
}

// NewMetadata describes the server whose issuer is iss and whose access
// tokens are signed with alg. There is no authorization endpoint (Rotor has
// no redirect-based flow), so response_types_supported, which both RFC 8414
// and OIDC Discovery require, is the empty list: the truth, where any value
// would advertise an endpoint that does not exist. See docs/ARCHITECTURE.md.
func NewMetadata(iss, alg string) Metadata {
	return Metadata{
		Issuer:                            iss,
		JWKSURI:                           iss + "/.well-known/jwks.json",
		TokenEndpoint:                     iss + "/oauth/token",
		RevocationEndpoint:                iss + "/oauth/revoke",
		GrantTypesSupported:               []string{"password", "refresh_token", GrantMFAOTP, GrantMFARecoveryCode},
		ResponseTypesSupported:            []string{},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{alg},
		TokenEndpointAuthMethodsSupported: []string{"none"},
		RevocationEndpointAuthMethods:     []string{"none"},
		ScopesSupported:                   []string{},
	}
}

// Discovery handles GET /.well-known/openid-configuration and
// GET /.well-known/oauth-authorization-server: the same document.
func (a *API) Discovery(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		if a.Issuer == "" {
			return reply{}, apierr.Internal.With(errors.New("httpapi: no issuer configured"))
		}
		m := NewMetadata(a.Issuer, a.SigningAlg)
		if a.DPoP != nil {
			m.DPoPSigningAlgValuesSupported = dpop.AlgorithmNames()
		}
		return reply{status: http.StatusOK, body: m, headers: map[string]string{"Cache-Control": "public, max-age=300"}}, nil
	})
}
