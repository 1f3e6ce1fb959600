// Command jwks is the Lambda function behind GET /.well-known/jwks.json.
// The flow lives in httpapi.API.JWKS.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).JWKS); err != nil {
		log.Fatal(err)
	}
}
