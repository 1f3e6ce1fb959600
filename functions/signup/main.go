// Command signup is the Lambda function behind POST /auth/signup.
// The flow lives in httpapi.API.Signup.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := app.RunAPI(context.Background(), (*httpapi.API).Signup); err != nil {
		log.Fatal(err)
	}
}
