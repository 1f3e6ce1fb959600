// Command logout is the Lambda function behind POST /auth/logout.
// The flow lives in httpapi.API.Logout.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Logout); err != nil {
		log.Fatal(err)
	}
}
