// Command me is the Lambda function behind GET /me, the example protected route.
// The flow lives in httpapi.API.Me.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Me); err != nil {
		log.Fatal(err)
	}
}
