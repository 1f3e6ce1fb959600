// Command token is the Lambda function behind POST /oauth/token (RFC 6749
// password and refresh_token grants). The flow lives in httpapi.API.Token.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Token); err != nil {
		log.Fatal(err)
	}
}
