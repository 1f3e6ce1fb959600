package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

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
	apis := &PinnedAPI{Config: cfg, Deps: d}
	lambda.Start(func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		api, err := apis.For(req)
		if err != nil {
			d.Log.ErrorContext(ctx, "issuer not resolved", "event", "issuer_unresolved", "cause", err.Error())
			return httpapi.Internal(cfg.CORSAllowOrigin), nil
		}
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
	// The authorizer also serves other stacks' APIs: an event's API id says
	// nothing about Rotor's, so the issuer must come whole from the template.
	if cfg.IssuerDeferred() {
		return fmt.Errorf("app: the authorizer needs ROTOR_ISSUER without %s", config.IssuerAPIID)
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

// PinnedAPI builds the API on the first request when the issuer waits for
// the REST API's id (config.IssuerAPIID), and keeps it: one issuer for the
// function's lifetime, taken from what API Gateway put in the request
// context, never from anything the client sent. Later events from another
// API id are refused. Without the placeholder it builds the API at once.
type PinnedAPI struct {
	Config config.Config
	Deps   Deps

	mu    sync.Mutex
	api   *httpapi.API
	apiID string
}

// For returns the API for req's REST API.
func (p *PinnedAPI) For(req httpapi.Request) (*httpapi.API, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := req.RequestContext.APIID
	if p.api != nil {
		if p.Config.IssuerDeferred() && id != p.apiID {
			return nil, fmt.Errorf("%w: pinned to API %q, event from %q", config.ErrIssuer, p.apiID, id)
		}
		return p.api, nil
	}
	iss, err := p.Config.ResolveIssuer(id)
	if err != nil {
		return nil, err
	}
	cfg := p.Config
	cfg.Issuer = iss
	api, err := API(cfg, p.Deps)
	if err != nil {
		return nil, err
	}
	p.api, p.apiID = api, id
	return api, nil
}
