// Command mfa is the Lambda function behind /auth/mfa/*: TOTP enrolment,
// confirmation, removal, recovery codes, and a login's second step (by
// code or by passkey). The flows live in httpapi.API.MFA; the WebAuthn
// relying party the passkey step verifies with is built here from the
// config, so this function links go-webauthn as the passkeys function does
// (/auth/mfa/verify is one API route, served by one function).
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/passkey/relyingparty"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).MFA, relyingparty.WithRP); err != nil {
		log.Fatal(err)
	}
}
