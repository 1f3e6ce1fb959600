// Command revoke is the Lambda function behind POST /oauth/revoke (RFC 7009).
// The flow lives in httpapi.API.Revoke.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Revoke); err != nil {
		log.Fatal(err)
	}
}
