package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
)

// The MFA routes, served by one function (mfa).
const (
	RouteMFATOTP          = "/auth/mfa/totp"
	RouteMFAConfirm       = "/auth/mfa/totp/confirm"
	RouteMFARecoveryCodes = "/auth/mfa/recovery-codes"
	RouteMFAVerify        = "/auth/mfa/verify"
	// RouteMFAPasskeyOptions: request options for a passkey second step.
	RouteMFAPasskeyOptions = "/auth/mfa/passkey/options"
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
// → the token response, in the cookie transport as a login's;
// POST /auth/mfa/passkey/options {"mfa_token"[,"device_token"]} → request
// options for the token's user's passkeys; POST /auth/mfa/verify
// {"mfa_token","credential"[,"device_token"]} → the token response.
func (a *API) MFA(ctx context.Context, req Request) (Response, error) {
	return a.serve(ctx, req, func(ctx context.Context) (reply, error) {
		route, method := endpoint(req), req.HTTPMethod
		if route == RouteMFAVerify && method == http.MethodPost {
			return a.mfaVerify(ctx, req)
		}
		if route == RouteMFAPasskeyOptions {
			if method != http.MethodPost {
				return reply{}, apierr.MethodNotAllowed
			}
			return a.mfaPasskeyOptions(ctx, req)
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
		MFAToken    string          `json:"mfa_token"`
		DeviceToken string          `json:"device_token"`
		Credential  json.RawMessage `json:"credential"`
	}
	if err := decode(req, &in); err != nil {
		return reply{}, err
	}
	if err := required([2]string{"mfa_token", in.MFAToken}); err != nil {
		return reply{}, err
	}
	withPasskey := len(in.Credential) > 0 && string(in.Credential) != "null"
	n := 0
	for _, given := range []bool{in.Code != "", in.RecoveryCode != "", withPasskey} {
		if given {
			n++
		}
	}
	if n != 1 {
		return reply{}, apierr.InvalidRequest.Describe(`Send "code", "recovery_code" or "credential", one of them.`)
	}
	if withPasskey && in.Credential[0] != '{' {
		return reply{}, apierr.InvalidRequest.Describe(`Field "credential" must be the PublicKeyCredential's JSON object.`)
	}
	// The mfa_token of a login made with a DPoP proof is bound to its key:
	// the second step needs a proof by the same key.
	cookie, device, c, err := a.tokenRequest(ctx, req, in.DeviceToken)
	if err != nil {
		return reply{}, err
	}
	in.DeviceToken = device
	var p auth.Pair
	if withPasskey {
		p, err = a.Auth.VerifyMFAWithPasskey(ctx, in.MFAToken, in.Credential, in.DeviceToken, c)
	} else {
		p, err = a.Auth.VerifyMFA(ctx, in.MFAToken, in.Code, in.RecoveryCode, in.DeviceToken, c)
	}
	if err != nil {
		return reply{}, err
	}
	return a.tokens(ctx, req, p, cookie, "")
}

// mfaPasskeyOptions answers request options for a passkey second step;
// the mfa_token is checked, not used.
func (a *API) mfaPasskeyOptions(ctx context.Context, req Request) (reply, error) {
	var in struct {
		MFAToken    string `json:"mfa_token"`
		DeviceToken string `json:"device_token"`
	}
	if err := decode(req, &in); err != nil {
		return reply{}, err
	}
	if err := required([2]string{"mfa_token", in.MFAToken}); err != nil {
		return reply{}, err
	}
	if in.DeviceToken == "" {
		in.DeviceToken = cookieValue(req, DeviceCookie)
	}
	// The mfa_token is checked, so is the key it is bound to.
	c, err := a.tokenClient(ctx, req)
	if err != nil {
		return reply{}, err
	}
	options, err := a.Auth.MFAPasskeyOptions(ctx, in.MFAToken, in.DeviceToken, c)
	if err != nil {
		return reply{}, err
	}
	return optionsReply(options), nil
}
