package app

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/keys"
)

// Route is one handler of httpapi.API, named by method expression, e.g.
// (*httpapi.API).Login.
type Route func(a *httpapi.API, ctx context.Context, req httpapi.Request) (httpapi.Response, error)

// RunAPI is the whole cold start of an API function: read the config, build
// the clients and the API once, and serve route until Lambda stops us.
func RunAPI(ctx context.Context, route Route) error {
	cfg, d, err := fromEnv(ctx)
	if err != nil {
		return err
	}
	api, err := API(cfg, d)
	if err != nil {
		return err
	}
	lambda.Start(func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		return route(api, ctx, req)
	})
	return nil
}

// RunAuthorizer is the cold start of the authorizer function.
func RunAuthorizer(ctx context.Context) error {
	cfg, d, err := fromEnv(ctx)
	if err != nil {
		return err
	}
	Warm(ctx, d.Keys, d.Log)
	a := Authorizer(cfg, d)
	lambda.Start(func(ctx context.Context, raw json.RawMessage) (any, error) {
		ctx, cancel := httpapi.Bound(ctx, cfg.StoreTimeout)
		defer cancel()
		return a.Handle(ctx, raw)
	})
	return nil
}

// fromEnv reads the config and builds the AWS dependencies: a function's cold start.
func fromEnv(ctx context.Context) (config.Config, Deps, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return config.Config{}, Deps{}, err
	}
	d, err := FromAWS(ctx, cfg)
	return cfg, d, err
}

// RunRotation is the cold start of the Secrets Manager rotation function.
func RunRotation(ctx context.Context) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	ac, err := AWS(ctx, cfg)
	if err != nil {
		return err
	}
	r := &keys.Rotator{Secrets: secretsmanager.NewFromConfig(ac), Alg: cfg.SigningAlg, ActivationDelay: cfg.KeyActivationDelay, Log: Logger()}
	lambda.Start(r.Handle)
	return nil
}
