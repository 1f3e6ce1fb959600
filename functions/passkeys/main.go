// Command passkeys is the Lambda function behind /auth/passkeys/*: passkey
// registration, discoverable login, listing, renaming and removal. The
// flows live in httpapi.API.Passkeys; the WebAuthn relying party (the one
// function that links go-webauthn) is built here from the config.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/passkey/relyingparty"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Passkeys, relyingparty.WithRP); err != nil {
		log.Fatal(err)
	}
}
