// Command email is the Lambda function behind POST /auth/email,
// /auth/email/verify and /auth/email/verify/resend. The flows live in
// httpapi.API.Email.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Email); err != nil {
		log.Fatal(err)
	}
}
