// Command sessions is the Lambda function behind GET /auth/sessions and DELETE /auth/sessions/{id}.
// The flow lives in httpapi.API.Sessions.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Sessions); err != nil {
		log.Fatal(err)
	}
}
