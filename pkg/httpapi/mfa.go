package httpapi

import (
	"context"
	"net/http"

	"github.com/rotor-auth/rotor/pkg/apierr"
)

// The MFA routes, served by one function (mfa).
const (
	RouteMFATOTP          = "/auth/mfa/totp"
	RouteMFAConfirm       = "/auth/mfa/totp/confirm"
	RouteMFARecoveryCodes = "/auth/mfa/recovery-codes"
	RouteMFAVerify        = "/auth/mfa/verify"
)

// The OAuth grants of a login's second step, after Auth0's MFA grants
// (http://auth0.com/oauth/grant-type/mfa-otp, .../mfa-recovery-code) under
// Rotor's own URN.
const (
	GrantMFAOTP          = "urn:rotor:params:oauth:grant-type:mfa-otp"
	GrantMFARecoveryCode = "urn:rotor:params:oauth:grant-type:mfa-recovery-code"
)

// mfaProof is a body carrying a TOTP code or a recovery code.
type mfaProof struct {
	Code         string `json:"code"`
	RecoveryCode string `json:"recovery_code"`
}

// MFA handles the second-factor routes: POST /auth/mfa/totp
// {"current_password"?} (bearer) → {"secret","otpauth_uri"};
// POST /auth/mfa/totp/confirm {"code"} (bearer) → {"recovery_codes"};
// POST /auth/mfa/recovery-codes {"code"} (bearer) → {"recovery_codes"};
// DELETE /auth/mfa/totp {"code"} or {"recovery_code"} (bearer) → 204;
// POST /auth/mfa/verify {"mfa_token","code"|"recovery_code"[,"device_token"]}
// → the token response, in the cookie transport as a login's.
func (a *API) MFA(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		route, method := endpoint(req), req.HTTPMethod
		if route == RouteMFAVerify && method == http.MethodPost {
			return a.mfaVerify(ctx, req)
		}
		known := route == RouteMFATOTP || route == RouteMFAConfirm || route == RouteMFARecoveryCodes
		if !known {
			return reply{}, apierr.NotFound
		}
		if method != http.MethodPost && !(route == RouteMFATOTP && method == http.MethodDelete) {
			return reply{}, apierr.MethodNotAllowed
		}
		c, err := caller(req)
		if err != nil {
			return reply{}, err
		}
		switch {
		case route == RouteMFATOTP && method == http.MethodPost:
			var in struct {
				Current string `json:"current_password"`
			}
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			e, err := a.Auth.EnrolTOTP(ctx, c, in.Current, client(req))
			if err != nil {
				return reply{}, err
			}
			return reply{status: http.StatusOK, body: e}, nil
		case route == RouteMFATOTP:
			var in mfaProof
			if err := decode(req, &in); err != nil {
				return reply{}, err
			}
			if (in.Code == "") == (in.RecoveryCode == "") {
				return reply{}, apierr.InvalidRequest.Describe(`Send "code" or "recovery_code", one of them.`)
			}
			return reply{status: http.StatusNoContent}, a.Auth.RemoveTOTP(ctx, c, in.Code, in.RecoveryCode, client(req))
		}
		var in struct {
			Code string `json:"code"`
		}
		if err := decode(req, &in); err != nil {
			return reply{}, err
		}
		if err := required([2]string{"code", in.Code}); err != nil {
			return reply{}, err
		}
		var codes []string
		if route == RouteMFAConfirm {
			codes, err = a.Auth.ConfirmTOTP(ctx, c, in.Code, client(req))
		} else {
			codes, err = a.Auth.RegenerateRecoveryCodes(ctx, c, in.Code, client(req))
		}
		if err != nil {
			return reply{}, err
		}
		return reply{status: http.StatusOK, body: map[string][]string{"recovery_codes": codes}}, nil
	})
}

func (a *API) mfaVerify(ctx context.Context, req Request) (reply, error) {
	var in struct {
		mfaProof
		MFAToken    string `json:"mfa_token"`
		DeviceToken string `json:"device_token"`
	}
	if err := decode(req, &in); err != nil {
		return reply{}, err
	}
	if err := required([2]string{"mfa_token", in.MFAToken}); err != nil {
		return reply{}, err
	}
	if (in.Code == "") == (in.RecoveryCode == "") {
		return reply{}, apierr.InvalidRequest.Describe(`Send "code" or "recovery_code", one of them.`)
	}
	cookie, err := a.cookieTransport(req)
	if err != nil {
		return reply{}, err
	}
	if in.DeviceToken == "" {
		in.DeviceToken = cookieValue(req, DeviceCookie)
	}
	p, err := a.Auth.VerifyMFA(ctx, in.MFAToken, in.Code, in.RecoveryCode, in.DeviceToken, client(req))
	if err != nil {
		return reply{}, err
	}
	return a.tokens(req, p, cookie, "")
}
