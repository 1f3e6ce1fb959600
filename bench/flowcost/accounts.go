package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/rotor-auth/rotor/internal/testpasskey"
	"github.com/rotor-auth/rotor/pkg/apierr"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/totp"
)

type step = struct {
	name string
	f    func() error
}

// mfaSteps are a TOTP user's flows: enrolment (once per user), a login's
// first step (403 mfa_required) and its second step with a code. *now is
// the service's clock: each code is read one step later than the last.
func mfaSteps(ctx context.Context, svc *auth.Service, client auth.Client, now *time.Time) []step {
	const username, pw = "grace.hopper@example.com", "a ship in port is safe, but that is not what ships are built for"
	var caller auth.Caller
	var secret, mfaToken string
	code := func() (string, error) {
		*now = now.Add(totp.Period) // a fresh step: a code works once
		return totp.Code(secret, *now)
	}
	return []step{
		{"", func() error {
			if _, err := svc.Signup(ctx, username, pw); err != nil {
				return err
			}
			p, err := svc.Login(ctx, username, pw, "", client)
			caller = auth.Caller{UserID: p.UserID, Username: username, SessionID: p.SessionID}
			return err
		}},
		{"totp_enrol", func() error {
			e, err := svc.EnrolTOTP(ctx, caller, "", client)
			if err != nil {
				return err
			}
			secret = e.Secret
			c, err := code()
			if err != nil {
				return err
			}
			_, err = svc.ConfirmTOTP(ctx, caller, c, client)
			return err
		}},
		{"login_mfa_required", func() error {
			_, err := svc.Login(ctx, username, pw, "", client)
			var e *apierr.Error
			if !errors.As(err, &e) || e.Code != "mfa_required" {
				return fmt.Errorf("login of a TOTP user: %v, want mfa_required", err)
			}
			mfaToken = e.Fields["mfa_token"]
			return nil
		}},
		{"mfa_verify_totp", func() error {
			c, err := code()
			if err != nil {
				return err
			}
			_, err = svc.VerifyMFA(ctx, mfaToken, c, "", "", client)
			return err
		}},
	}
}

// passkeySteps are a passkey's ceremonies for a new user, with
// virtualwebauthn as the browser and authenticator (its signing happens
// between the steps, outside them): registration (options, then the
// attestation) and a passkey login (options, then the assertion).
func passkeySteps(ctx context.Context, svc *auth.Service, client auth.Client) []step {
	const username, pw = "alan.turing@example.com", "we can only see a short distance ahead"
	var caller auth.Caller
	var authn virtualwebauthn.Authenticator
	var cred virtualwebauthn.Credential
	var options string
	return []step{
		{"", func() (err error) {
			if _, err := svc.Signup(ctx, username, pw); err != nil {
				return err
			}
			p, err := svc.Login(ctx, username, pw, "", client)
			caller = auth.Caller{UserID: p.UserID, Username: username, SessionID: p.SessionID}
			authn = virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte(p.UserID)})
			cred = testpasskey.Credential()
			return err
		}},
		{"passkey_register_options", func() error {
			raw, err := svc.PasskeyRegistrationOptions(ctx, caller, "", client)
			options = string(raw)
			return err
		}},
		{"passkey_register", func() error {
			o, err := virtualwebauthn.ParseAttestationOptions(options)
			if err != nil {
				return err
			}
			att := virtualwebauthn.CreateAttestationResponse(testpasskey.Local, authn, cred, *o)
			authn.AddCredential(cred)
			_, err = svc.RegisterPasskey(ctx, caller, json.RawMessage(att), "laptop", client)
			return err
		}},
		{"passkey_login_options", func() error {
			raw, err := svc.PasskeyLoginOptions(ctx, client)
			options = string(raw)
			return err
		}},
		{"passkey_login", func() error {
			o, err := virtualwebauthn.ParseAssertionOptions(options)
			if err != nil {
				return err
			}
			a := virtualwebauthn.CreateAssertionResponse(testpasskey.Local, authn, cred, *o)
			_, err = svc.LoginWithPasskey(ctx, json.RawMessage(a), "", client)
			return err
		}},
	}
}
