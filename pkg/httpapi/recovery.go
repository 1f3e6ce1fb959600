package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/rotor-auth/rotor/pkg/apierr"
)

// The account-recovery routes, served by two functions: Email (the address:
// verify, resend, change) and Recovery (forgot, reset).
const (
	RouteEmail          = "/auth/email"
	RouteEmailVerify    = "/auth/email/verify"
	RouteEmailResend    = "/auth/email/verify/resend"
	RoutePasswordForgot = "/auth/password/forgot"
	RoutePasswordReset  = "/auth/password/reset"
)

// endpoint is the route template of req: API Gateway's resource
// ("/auth/email/verify"), or the local server's pattern without its method.
func endpoint(req Request) string {
	r := req.Resource
	if i := strings.IndexByte(r, '/'); i > 0 {
		r = r[i:]
	}
	return r
}

// accepted is the one answer of the routes that queue a mail: 202 with a
// fixed body, whatever happened (forgot answers it for every input).
var accepted = reply{status: http.StatusAccepted, body: map[string]string{"status": "accepted"}}

// Email handles POST /auth/email/verify {"token"} (no bearer: the token is
// the proof), POST /auth/email/verify/resend (bearer) and POST /auth/email
// {"current_password","email"} (bearer).
func (a *API) Email(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		if req.HTTPMethod != http.MethodPost {
			return reply{}, apierr.MethodNotAllowed
		}
		switch endpoint(req) {
		case RouteEmailVerify:
			var in struct {
				Token string `json:"token"`
			}
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			if err := required([2]string{"token", in.Token}); err != nil {
				return reply{}, err
			}
			return reply{status: http.StatusNoContent}, a.Auth.VerifyEmail(ctx, in.Token, client(req))
		case RouteEmailResend:
			c, err := caller(req)
			if err != nil {
				return reply{}, err
			}
			if err := a.Auth.ResendVerification(ctx, c, client(req)); err != nil {
				return reply{}, err
			}
			return accepted, nil
		case RouteEmail:
			c, err := caller(req)
			if err != nil {
				return reply{}, err
			}
			var in struct {
				Current string `json:"current_password"`
				Email   string `json:"email"`
			}
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			if err := required([2]string{"current_password", in.Current}, [2]string{"email", in.Email}); err != nil {
				return reply{}, err
			}
			if err := a.Auth.ChangeEmail(ctx, c, in.Current, in.Email, client(req)); err != nil {
				return reply{}, err
			}
			return accepted, nil
		}
		return reply{}, apierr.NotFound
	})
}

// Recovery handles POST /auth/password/forgot {"username"} or {"email"} and
// POST /auth/password/reset {"token","new_password"}.
func (a *API) Recovery(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		if req.HTTPMethod != http.MethodPost {
			return reply{}, apierr.MethodNotAllowed
		}
		switch endpoint(req) {
		case RoutePasswordForgot:
			var in struct {
				Username string `json:"username"`
				Email    string `json:"email"`
			}
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			if (in.Username == "") == (in.Email == "") {
				return reply{}, apierr.InvalidRequest.Describe(`Send "username" or "email", one of them.`)
			}
			if err := a.Auth.ForgotPassword(ctx, in.Username, in.Email, client(req)); err != nil {
				return reply{}, err
			}
			return accepted, nil
		case RoutePasswordReset:
			var in struct {
				Token string `json:"token"`
				New   string `json:"new_password"`
			}
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			if err := required([2]string{"token", in.Token}, [2]string{"new_password", in.New}); err != nil {
				return reply{}, err
			}
			return reply{status: http.StatusNoContent}, a.Auth.ResetPassword(ctx, in.Token, in.New, client(req))
		}
		return reply{}, apierr.NotFound
	})
}
