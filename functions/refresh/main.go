// Command refresh is the Lambda function behind POST /auth/refresh.
// The flow lives in httpapi.API.Refresh.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/apifn"
	"github.com/rotor-auth/rotor/pkg/httpapi"
)

func main() {
	if err := apifn.Run(context.Background(), (*httpapi.API).Refresh); err != nil {
		log.Fatal(err)
	}
}
