package rotationfn

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/keys"
)

// Run is the cold start of the Secrets Manager rotation function.
func Run(ctx context.Context) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	ac, err := app.LambdaAWS(os.LookupEnv, cfg)
	if err != nil {
		return err
	}
	r := &keys.Rotator{Secrets: secretsmanager.NewFromConfig(ac), Alg: cfg.SigningAlg, ActivationDelay: cfg.KeyActivationDelay, Log: app.Logger()}
	lambda.Start(r.Handle)
	return nil
}
