// Command discovery is the Lambda function behind
// GET /.well-known/openid-configuration and
// GET /.well-known/oauth-authorization-server. The document is
// httpapi.NewMetadata; the handler is httpapi.API.Discovery.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Discovery); err != nil {
		log.Fatal(err)
	}
}
