package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/rotor-auth/rotor/pkg/apierr"
)

// The passkey routes, served by one function (passkeys).
const (
	RoutePasskeys               = "/auth/passkeys"
	RoutePasskey                = "/auth/passkeys/{id}"
	RoutePasskeyRegisterOptions = "/auth/passkeys/register/options"
	RoutePasskeyRegister        = "/auth/passkeys/register"
	RoutePasskeyLoginOptions    = "/auth/passkeys/login/options"
	RoutePasskeyLogin           = "/auth/passkeys/login"

	maxPasskeyIDLength = 1400 // base64url of WebAuthn's 1023-byte maximum
	passkeyIDAlphabet  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// validPasskeyID reports whether id can be a credential id as the routes
// spell it (base64url, no padding): anything else is 404 with no store
// read.
func validPasskeyID(id string) bool {
	if id == "" || len(id) > maxPasskeyIDLength {
		return false
	}
	for _, r := range id {
		if !strings.ContainsRune(passkeyIDAlphabet, r) {
			return false
		}
	}
	return true
}

// optionsReply answers a ceremony's options: fresh each time, never cached.
func optionsReply(options json.RawMessage) reply {
	return reply{status: http.StatusOK, body: options, headers: map[string]string{"Cache-Control": "no-store"}}
}

// Passkeys handles the passkey routes:
// POST /auth/passkeys/register/options {"current_password"?} (bearer) →
// PublicKeyCredentialCreationOptions (JSON);
// POST /auth/passkeys/register {"credential","name"?} (bearer) → 201 the
// passkey; POST /auth/passkeys/login/options {} → request options;
// POST /auth/passkeys/login {"credential"[,"device_token"]} → the token
// response, in the cookie transport as a login's; GET /auth/passkeys
// (bearer) → {"passkeys"}; PATCH /auth/passkeys/{id} {"name"} (bearer) →
// 204; DELETE /auth/passkeys/{id} {"current_password"?} (bearer) → 204.
func (a *API) Passkeys(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		route, method := endpoint(req), req.HTTPMethod
		switch route {
		case RoutePasskeyLoginOptions, RoutePasskeyLogin, RoutePasskeyRegisterOptions, RoutePasskeyRegister:
			if method != http.MethodPost {
				return reply{}, apierr.MethodNotAllowed
			}
		case RoutePasskeys:
			if method != http.MethodGet {
				return reply{}, apierr.MethodNotAllowed
			}
		case RoutePasskey:
			if method != http.MethodPatch && method != http.MethodDelete {
				return reply{}, apierr.MethodNotAllowed
			}
		default:
			return reply{}, apierr.NotFound
		}
		switch route {
		case RoutePasskeyLoginOptions:
			var in struct{}
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			options, err := a.Auth.PasskeyLoginOptions(ctx, client(req))
			if err != nil {
				return reply{}, err
			}
			return optionsReply(options), nil
		case RoutePasskeyLogin:
			return a.passkeyLogin(ctx, req)
		}
		c, err := caller(req)
		if err != nil {
			return reply{}, err
		}
		switch route {
		case RoutePasskeyRegisterOptions:
			var in struct {
				Current string `json:"current_password"`
			}
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			options, err := a.Auth.PasskeyRegistrationOptions(ctx, c, in.Current, client(req))
			if err != nil {
				return reply{}, err
			}
			return optionsReply(options), nil
		case RoutePasskeyRegister:
			var in struct {
				Credential json.RawMessage `json:"credential"`
				Name       string          `json:"name"`
			}
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			if len(in.Credential) == 0 || in.Credential[0] != '{' {
				return reply{}, apierr.InvalidRequest.Describe(`Field "credential" must be the PublicKeyCredential's JSON object.`)
			}
			v, err := a.Auth.RegisterPasskey(ctx, c, in.Credential, in.Name, client(req))
			if err != nil {
				return reply{}, err
			}
			return reply{status: http.StatusCreated, body: v}, nil
		case RoutePasskeys:
			list, err := a.Auth.ListPasskeys(ctx, c)
			if err != nil {
				return reply{}, err
			}
			return reply{status: http.StatusOK, body: map[string]any{"passkeys": list}}, nil
		}
		id := req.PathParameters["id"]
		if !validPasskeyID(id) {
			return reply{}, apierr.NotFound
		}
		if method == http.MethodPatch {
			var in struct {
				Name string `json:"name"`
			}
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			if err := required([2]string{"name", in.Name}); err != nil {
				return reply{}, err
			}
			return reply{status: http.StatusNoContent}, a.Auth.RenamePasskey(ctx, c, id, in.Name)
		}
		var in struct {
			Current string `json:"current_password"`
		}
		if strings.TrimSpace(req.Body) != "" {
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
		}
		return reply{status: http.StatusNoContent}, a.Auth.RemovePasskey(ctx, c, id, in.Current, client(req))
	})
}

func (a *API) passkeyLogin(ctx context.Context, req Request) (reply, error) {
	var in struct {
		Credential  json.RawMessage `json:"credential"`
		DeviceToken string          `json:"device_token"`
	}
	if err := decode(req, &in); err != nil {
		return reply{}, err
	}
	if len(in.Credential) == 0 || in.Credential[0] != '{' {
		return reply{}, apierr.InvalidRequest.Describe(`Field "credential" must be the PublicKeyCredential's JSON object.`)
	}
	cookie, device, c, err := a.tokenRequest(ctx, req, in.DeviceToken)
	if err != nil {
		return reply{}, err
	}
	in.DeviceToken = device
	p, err := a.Auth.LoginWithPasskey(ctx, in.Credential, in.DeviceToken, c)
	if err != nil {
		return reply{}, err
	}
	return a.tokens(ctx, req, p, cookie, "")
}
