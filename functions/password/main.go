// Command password is the Lambda function behind POST /auth/password.
// The flow lives in httpapi.API.Password.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := app.RunAPI(context.Background(), (*httpapi.API).Password); err != nil {
		log.Fatal(err)
	}
}
