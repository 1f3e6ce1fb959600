// Command refresh is the Lambda function behind POST /auth/refresh.
// The flow lives in httpapi.API.Refresh.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := app.RunAPI(context.Background(), (*httpapi.API).Refresh); err != nil {
		log.Fatal(err)
	}
}
