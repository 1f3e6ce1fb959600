// Command preflight is the Lambda function behind every path's OPTIONS: the
// CORS preflight, unauthenticated (template.yaml, PreflightFunction). It
// reads only the allowed origin and links no flow, store or key code.
// The answer lives in cors.Handler.
package main

import (
	"log"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/cors"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	lambda.Start(cors.Handler(cfg.CORSAllowOrigin))
	return nil
}
