// Command logout is the Lambda function behind POST /auth/logout.
// The flow lives in httpapi.API.Logout.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := app.RunAPI(context.Background(), (*httpapi.API).Logout); err != nil {
		log.Fatal(err)
	}
}
