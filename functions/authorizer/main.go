// Command authorizer is the API Gateway Lambda authorizer (REST TOKEN and
// REQUEST events, HTTP API v2 events). The logic lives in pkg/authorizer.
package main

import (
	"context"
	"log"

	"github.com/rotor-auth/rotor/pkg/app/authorizerfn"
)

func main() {
	if err := authorizerfn.Run(context.Background()); err != nil {
		log.Fatal(err)
	}
}
