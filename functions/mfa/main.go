// Command mfa is the Lambda function behind /auth/mfa/*: TOTP enrolment,
// confirmation, removal, recovery codes, and a login's second step. The
// flows live in httpapi.API.MFA.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).MFA); err != nil {
		log.Fatal(err)
	}
}
