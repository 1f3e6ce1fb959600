// Command login is the Lambda function behind POST /auth/login.
// The flow lives in httpapi.API.Login.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Login); err != nil {
		log.Fatal(err)
	}
}
