package httpapi

import (
	"context"
	"net/http"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/token"
)

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (c credentials) check() error {
	return required([2]string{"username", c.Username}, [2]string{"password", c.Password})
}

// loginBody is a login: the credentials and, optionally, the device token an
// earlier login as this username returned.
type loginBody struct {
	credentials
	DeviceToken string `json:"device_token"`
}

// tokenResponse is RFC 6749 §5.1's token response.
type tokenResponse struct {
	AccessToken           string `json:"access_token"`
	TokenType             string `json:"token_type"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          string `json:"refresh_token,omitempty"`
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
	CSRFToken             string `json:"csrf_token,omitempty"`
	DeviceToken           string `json:"device_token,omitempty"`
}

func client(req Request) auth.Client {
	ua := req.RequestContext.Identity.UserAgent
	if ua == "" {
		ua = header(req, "User-Agent")
	}
	return auth.Client{IP: req.RequestContext.Identity.SourceIP, UserAgent: ua}
}

// Signup handles POST /auth/signup {"username","password"[,"email"]}.
func (a *API) Signup(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		var in struct {
			credentials
			Email string `json:"email"`
		}
		if err := decode(req, &in); err != nil {
			return reply{}, err
		}
		if err := in.check(); err != nil {
			return reply{}, err
		}
		id, err := a.Auth.SignupWithEmail(ctx, in.Username, in.Password, in.Email, client(req))
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusCreated, body: map[string]string{"user_id": id}}, nil
	})
}

// Login handles POST /auth/login.
func (a *API) Login(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		var in loginBody
		if err := decode(req, &in); err != nil {
			return reply{}, err
		}
		if err := in.check(); err != nil {
			return reply{}, err
		}
		cookie, device, c, err := a.tokenRequest(ctx, req, in.DeviceToken)
		if err != nil {
			return reply{}, err
		}
		in.DeviceToken = device
		p, err := a.Auth.Login(ctx, in.Username, in.Password, in.DeviceToken, c)
		if err != nil {
			return reply{}, err
		}
		return a.tokens(ctx, req, p, cookie, "")
	})
}

// Refresh handles POST /auth/refresh, with the refresh token in the body or,
// in the cookie transport, in the rotor_refresh cookie.
func (a *API) Refresh(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		var in struct {
			RefreshToken string `json:"refresh_token"`
			// RetryTicket is the retry_ticket of a 503 answer to an earlier
			// refresh with the same token.
			RetryTicket string `json:"retry_ticket"`
		}
		if err := decode(req, &in); err != nil {
			return reply{}, err
		}
		rt, csrf := in.RefreshToken, ""
		cookie, err := a.cookieTransport(req)
		if err != nil {
			return reply{}, err
		}
		if cookie {
			if rt, csrf, err = fromCookies(req); err != nil {
				return reply{}, err
			}
		}
		if err := required([2]string{"refresh_token", rt}); err != nil {
			return reply{}, err
		}
		jkt, err := a.proofKey(ctx, req)
		if err != nil {
			return reply{}, err
		}
		p, err := a.Auth.RefreshWithKey(ctx, rt, in.RetryTicket, jkt)
		if err != nil {
			return reply{}, err
		}
		return a.tokens(ctx, req, p, cookie, csrf)
	})
}

// Logout handles POST /auth/logout: {"refresh_token"} ends that session;
// a bearer access token ends the caller's session, or all of the user's
// sessions with {"all": true}.
func (a *API) Logout(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		var in struct {
			RefreshToken string `json:"refresh_token"`
			All          bool   `json:"all"`
		}
		if err := decode(req, &in); err != nil {
			return reply{}, err
		}
		done := reply{status: http.StatusNoContent}
		cookie, err := a.cookieTransport(req)
		if err != nil {
			return reply{}, err
		}
		if cookie && in.RefreshToken == "" && !in.All {
			rt, _, err := fromCookies(req)
			if err != nil {
				return reply{}, err
			}
			in.RefreshToken = rt
			done.cookies = clearCookies(cookiePath(req))
		}
		if in.RefreshToken != "" {
			if in.All {
				return reply{}, apierr.InvalidRequest.Describe(`Send either "refresh_token" or a bearer token with "all", not both.`)
			}
			return done, a.Auth.Logout(ctx, in.RefreshToken)
		}
		// A bound access token (cnf.jkt) needs its key's proof here as at
		// the edge: this route reads the token itself.
		claims, ok, err := a.accessToken(ctx, req)
		if !ok {
			return reply{}, apierr.InvalidRequest.Describe(`Send "refresh_token", or a bearer access token.`)
		}
		if err != nil {
			return reply{}, err
		}
		c := auth.Caller{UserID: claims.Subject, Username: claims.Username, SessionID: claims.SessionID}
		if in.All {
			return done, a.Auth.LogoutAll(ctx, c)
		}
		err = a.Auth.EndSession(ctx, c, c.SessionID)
		if err != nil && apierr.From(err).Code == apierr.NotFound.Code {
			// The token's own session has ended already: the token is what
			// is invalid here, not a resource the caller named.
			return reply{}, apierr.InvalidToken.Describe("The session of this access token has already ended.").With(err)
		}
		return done, err
	})
}

// Sessions handles GET /auth/sessions and DELETE /auth/sessions/{id}.
func (a *API) Sessions(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		c, err := caller(req)
		if err != nil {
			return reply{}, err
		}
		switch req.HTTPMethod {
		case http.MethodGet:
			list, err := a.Auth.ListSessions(ctx, c)
			if err != nil {
				return reply{}, err
			}
			return reply{status: http.StatusOK, body: map[string]any{"sessions": list}}, nil
		case http.MethodDelete:
			id := req.PathParameters["id"]
			if !sessions.ValidSessionID(id) {
				return reply{}, apierr.NotFound
			}
			return reply{status: http.StatusNoContent}, a.Auth.EndSession(ctx, c, id)
		}
		return reply{}, apierr.MethodNotAllowed
	})
}

// Password handles POST /auth/password.
func (a *API) Password(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		c, err := caller(req)
		if err != nil {
			return reply{}, err
		}
		var in struct {
			Current string `json:"current_password"`
			New     string `json:"new_password"`
		}
		if err := decode(req, &in); err != nil {
			return reply{}, err
		}
		if err := required([2]string{"current_password", in.Current}, [2]string{"new_password", in.New}); err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusNoContent}, a.Auth.ChangePasswordFrom(ctx, c, in.Current, in.New, client(req))
	})
}

// JWKS handles GET /.well-known/jwks.json.
func (a *API) JWKS(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		set, err := a.Keys.Keys(ctx)
		if err != nil {
			return reply{}, apierr.Unavailable.With(err)
		}
		return reply{status: http.StatusOK, body: set.JWKS(), headers: map[string]string{"Cache-Control": "public, max-age=300"}}, nil
	})
}

// Me handles GET /me: the example protected route, answering from the
// authorizer's context, and the account's address (email, email_verified)
// when it has one, read from the store so it is current.
func (a *API) Me(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		c, err := caller(req)
		if err != nil {
			return reply{}, err
		}
		body := map[string]any{"user_id": c.UserID, "username": c.Username, "session_id": c.SessionID}
		if a.Auth != nil && a.Auth.Users != nil {
			addr, verified, err := a.Auth.Email(ctx, c)
			if err != nil {
				return reply{}, err
			}
			if addr != "" {
				body["email"], body["email_verified"] = addr, verified
			}
		}
		return reply{status: http.StatusOK, body: body}, nil
	})
}

func (a *API) tokens(ctx context.Context, req Request, p auth.Pair, cookie bool, csrf string) (reply, error) {
	typ := token.SchemeBearer
	if p.JKT != "" {
		typ = token.SchemeDPoP // RFC 9449 §5: the access token is bound
	}
	out := tokenResponse{
		AccessToken:           p.AccessToken,
		TokenType:             typ,
		ExpiresIn:             int64(p.AccessExpiresIn.Seconds()),
		RefreshToken:          p.RefreshToken,
		RefreshTokenExpiresIn: int64(p.RefreshExpiresIn.Seconds()),
		DeviceToken:           p.DeviceToken,
	}
	r := reply{status: http.StatusOK, body: &out}
	a.nonceHeader(ctx, &r)
	if cookie {
		if csrf == "" {
			var err error
			if csrf, err = newCSRFToken(); err != nil {
				return reply{}, apierr.Internal.With(err)
			}
		}
		r.cookies = setCookies(cookiePath(req), p.RefreshToken, csrf, p.RefreshExpiresIn)
		out.RefreshToken, out.CSRFToken = "", csrf
		if p.DeviceToken != "" {
			// Like the refresh token: out of page scripts' reach.
			r.cookies = append(r.cookies, deviceCookie(cookiePath(req), p.DeviceToken))
			out.DeviceToken = ""
		}
	}
	return r, nil
}

// caller reads the identity the authorizer put in the request context. A
// protected route without it is refused: never served anonymously.
func caller(req Request) (auth.Caller, error) {
	ctx := req.RequestContext.Authorizer
	get := func(k string) string { v, _ := ctx[k].(string); return v }
	c := auth.Caller{UserID: get("user_id"), Username: get("username"), SessionID: get("session_id")}
	if c.UserID == "" || c.SessionID == "" {
		return auth.Caller{}, apierr.InvalidToken
	}
	return c, nil
}
