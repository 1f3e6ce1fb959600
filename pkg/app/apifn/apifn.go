package apifn

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/app/serverstore"
	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/token"
)

// Store is everything Rotor keeps (the server stores' interface, which the
// DynamoDB and embedded stores meet too).
type Store = serverstore.Store

// A Store is everything the recovery flows need: a store (or a test's
// wrapper) without an account operation does not compile.
var _ auth.AccountStore = Store(nil)

// Deps are the outside world: where state lives and where keys come from.
type Deps struct {
	Store Store
	Keys  keys.Source
	MAC   mac.Source // the server MAC key: tags refresh tokens
	Log   *slog.Logger
	// RP runs the WebAuthn ceremonies: set only by the programs that serve
	// passkeys (the passkeys function, the local server), so no other
	// function links go-webauthn.
	RP auth.RelyingParty
}

// FromAWS builds the production dependencies: the store cfg names (DynamoDB
// by default, or PostgreSQL or Redis) and Secrets Manager.
func FromAWS(ctx context.Context, cfg config.Config) (Deps, error) {
	log := app.Logger()
	ac, err := app.LambdaAWS(os.LookupEnv, cfg)
	if err != nil {
		return Deps{}, err
	}
	var st Store
	if cfg.Store == "postgres" || cfg.Store == "redis" {
		// One request at a time per instance: two connections at most; RDS
		// Proxy multiplexes them onto the database's pool.
		if st, err = serverstore.Open(ctx, cfg, secretsmanager.NewFromConfig(ac), 2); err != nil {
			return Deps{}, err
		}
	} else {
		st, _ = app.DynamoStore(ac, cfg)
	}
	ks, err := app.SecretKeys(ac, cfg)
	if err != nil {
		return Deps{}, err
	}
	d := Deps{Store: st, Keys: ks, Log: log}
	// Functions that never touch refresh tokens (me, jwks, the authorizer,
	// sessions, password) are not given the MAC secret.
	if cfg.MACSecretID != "" {
		if d.MAC, err = app.SecretMAC(ac, cfg); err != nil {
			return Deps{}, err
		}
	}
	return d, nil
}

// Service returns the flows.
func Service(cfg config.Config, d Deps) (*auth.Service, error) {
	h, err := password.NewHasher(password.OWASP, nil)
	if err != nil {
		return nil, err
	}
	ip56, ip48 := cfg.IPv6Budgets()
	return &auth.Service{
		Factors:                d.Store,
		Passkeys:               d.Store,
		RP:                     d.RP,
		AllowCounterRegression: cfg.PasskeyAllowCounterRegression,
		MFAIssuer:              cfg.ProductName,
		Accounts:               d.Store,
		RequireEmail:           cfg.RequireEmail,
		MailThrottle:           throttle.Policy{MaxFailures: cfg.MailLimitPerAddress, Base: cfg.MailLimitBase, Max: cfg.MailLimitMax},
		MailIPThrottle:         throttle.Policy{MaxFailures: cfg.MailLimitPerIP, Base: cfg.MailLimitBase, Max: cfg.MailLimitMax},
		Users:                  d.Store,
		Logins:                 d.Store,
		Attempts:               d.Store,
		Throttle:               throttle.Policy{MaxFailures: cfg.LoginMaxFailures, Base: cfg.LoginBackoffBase, Max: cfg.LoginBackoffMax},
		IPThrottle:             throttle.Policy{MaxFailures: cfg.IPMaxFailures, Base: cfg.IPBackoffBase, Max: cfg.IPBackoffMax},
		MAC:                    d.MAC,
		Sessions: &sessions.Manager{
			Store:      d.Store,
			MAC:        d.MAC,
			IdleTTL:    cfg.RefreshTokenTTL,
			MaxTTL:     cfg.SessionMaxTTL,
			Grace:      cfg.RefreshGrace,
			MaxPerUser: cfg.MaxSessionsPerUser,
			// ROTOR_DPOP=required: a bearer session (one started before)
			// does not refresh, even with a proof.
			RefuseBearer: cfg.DPoP == config.DPoPRequired,
		},
		Passwords:   h,
		Tokens:      &token.Issuer{Keys: d.Keys, Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTokenTTL},
		Log:         d.Log,
		Fingerprint: usernameFingerprint(d.MAC),

		// The wider IPv6 blocks and the username's device tokens together.
		IP56Throttle:   throttle.Policy{MaxFailures: ip56, Base: cfg.IPBackoffBase, Max: cfg.IPBackoffMax},
		IP48Throttle:   throttle.Policy{MaxFailures: ip48, Base: cfg.IPBackoffBase, Max: cfg.IPBackoffMax},
		DeviceThrottle: throttle.Policy{MaxFailures: cfg.DeviceBudget(), Base: cfg.LoginBackoffBase, Max: cfg.LoginBackoffMax},
	}, nil
}

// usernameFingerprint names an unknown username in the log by its keyed
// fingerprint under the server MAC key. Without a key (functions not given
// the secret) there is no fingerprint, and none when the key cannot be read.
func usernameFingerprint(src mac.Source) func(context.Context, string) string {
	if src == nil {
		return nil
	}
	return func(ctx context.Context, name string) string {
		ring, err := src.Keyring(ctx)
		if err != nil {
			return ""
		}
		return ring.Fingerprint("log username", name)
	}
}

// API returns the HTTP handlers.
func API(cfg config.Config, d Deps) (*httpapi.API, error) {
	svc, err := Service(cfg, d)
	if err != nil {
		return nil, err
	}
	return &httpapi.API{Auth: svc, Verifier: app.Verifier(cfg, d.Keys), Keys: d.Keys, CORSOrigin: cfg.CORSAllowOrigin, Log: d.Log, StoreTimeout: cfg.StoreTimeout, Issuer: cfg.Issuer, SigningAlg: cfg.SigningAlg,
		DPoP: app.DPoPVerifier(cfg, d.Store, d.MAC), DPoPRequired: cfg.DPoP == config.DPoPRequired}, nil
}

// Route is one handler of httpapi.API, named by method expression, e.g.
// (*httpapi.API).Login.
type Route func(a *httpapi.API, ctx context.Context, req httpapi.Request) (httpapi.Response, error)

// Run is the whole cold start of an API function: read the config, build
// the clients and the API once, and serve route until Lambda stops us.
// with adds what only this function needs to the dependencies (the
// passkeys function's relying party).
func Run(ctx context.Context, route Route, with ...func(config.Config, *Deps) error) error {
	cfg, d, err := fromEnv(ctx)
	if err != nil {
		return err
	}
	for _, add := range with {
		if err := add(cfg, &d); err != nil {
			return err
		}
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

// fromEnv reads the config and builds the AWS dependencies: a function's cold start.
func fromEnv(ctx context.Context) (config.Config, Deps, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return config.Config{}, Deps{}, err
	}
	d, err := FromAWS(ctx, cfg)
	return cfg, d, err
}

// PinnedAPI builds the API on the first request when the issuer waits for
// the REST API's id (config.IssuerAPIID), and keeps it: one issuer for the
// function's lifetime, taken from what API Gateway put in the request
// context, never from anything the client sent. Later events from another
// API id are refused. Without the placeholder the issuer is the configured
// one; the API is still built on the first request and kept.
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
