// Command recovery is the Lambda function behind POST /auth/password/forgot
// and /auth/password/reset. The flows live in httpapi.API.Recovery.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Recovery); err != nil {
		log.Fatal(err)
	}
}
