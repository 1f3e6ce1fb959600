// Command password is the Lambda function behind POST /auth/password.
// The flow lives in httpapi.API.Password.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Password); err != nil {
		log.Fatal(err)
	}
}
