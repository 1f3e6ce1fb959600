// Command signup is the Lambda function behind POST /auth/signup.
// The flow lives in httpapi.API.Signup.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Signup); err != nil {
		log.Fatal(err)
	}
}
