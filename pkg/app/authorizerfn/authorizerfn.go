package authorizerfn

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/app"
	"github.com/rotor-auth/rotor/pkg/app/serverstore"
	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/deadline"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/sessions"
)

// Store is what the authorizer reads and writes: sessions, in strict mode,
// and spent DPoP proofs, shared by every container (a proof replayed to
// another container is refused there too).
type Store interface {
	sessions.Store
	dpop.ReplayCache
}

// New returns the Lambda authorizer for cfg: it verifies with ks, caches its
// decisions when cfg.AuthorizerCacheTTL leaves room beyond API Gateway's own
// cache (cfg.GatewayCacheTTL) and, in strict mode, checks the session in st
// (nil is fine otherwise). The routes of cfg.MFARoutes need a token with
// "mfa" in its amr. Unless cfg.DPoP is off, a token bound to a DPoP key
// needs a proof by that key on every request, its jti spent in the replay
// store; with cfg.DPoPNonce the proof carries a nonce made with macs' key
// (the token endpoints' nonces: every container accepts every other's; macs
// may be nil otherwise). With DPoP off the authorizer checks no proof, so a
// bound token (made by token functions configured otherwise) is refused:
// the binding is never dropped.
func New(cfg config.Config, ks keys.Source, st Store, macs mac.Source, log *slog.Logger) *authorizer.Authorizer {
	a := &authorizer.Authorizer{Verifier: app.Verifier(cfg, ks), MFARoutes: cfg.MFARoutes, Log: log,
		RequireDPoP: cfg.DPoP == config.DPoPRequired, GatewayCacheTTL: cfg.GatewayCacheTTL}
	if a.Proofs = app.DPoPVerifier(cfg, st, macs); a.Proofs != nil {
		if cfg.GatewayCacheTTL > 0 {
			// Every bound token will be refused: say why once, at cold start.
			log.Error("DPoP is on but API Gateway may cache this authorizer's answers: bound tokens are refused",
				"event", "authorizer_error", "gateway_cache_ttl", cfg.GatewayCacheTTL.String())
		}
	}
	if cfg.AuthorizerCacheTTL > cfg.GatewayCacheTTL {
		a.Cache = &authorizer.Cache{TTL: cfg.AuthorizerCacheTTL, GatewayTTL: cfg.GatewayCacheTTL}
	}
	if cfg.StrictSessions {
		a.Sessions = &sessions.Manager{Store: st}
	}
	return a
}

// Run is the cold start of the authorizer function: the config, the signing
// keys (fetched now, off the first request's path) and, only in strict mode
// or with DPoP on, the store.
func Run(ctx context.Context) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	// The authorizer also serves other stacks' APIs: an event's API id says
	// nothing about Rotor's, so the issuer must come whole from the template.
	if cfg.IssuerDeferred() {
		return fmt.Errorf("authorizerfn: the authorizer needs ROTOR_ISSUER without %s", config.IssuerAPIID)
	}
	log := app.Logger()
	ac, err := app.LambdaAWS(os.LookupEnv, cfg)
	if err != nil {
		return err
	}
	ks, err := app.SecretKeys(ac, cfg)
	if err != nil {
		return err
	}
	// The store: for the session check in strict mode, and to spend DPoP
	// proofs unless DPoP is off.
	var st Store
	switch {
	case !cfg.StrictSessions && cfg.DPoP == config.DPoPOff:
	case cfg.Store == "postgres" || cfg.Store == "redis":
		if st, err = serverstore.Open(ctx, cfg, secretsmanager.NewFromConfig(ac), 2); err != nil {
			return err
		}
	default:
		st, _ = app.DynamoStore(ac, cfg)
	}
	var macs mac.Source
	if cfg.DPoP != config.DPoPOff && cfg.DPoPNonce {
		if macs, err = app.SecretMAC(ac, cfg); err != nil {
			return err
		}
	}
	app.Warm(ctx, ks, log)
	a := New(cfg, ks, st, macs, log)
	lambda.Start(bounded{a, cfg.StoreTimeout})
	return nil
}

// bounded is the authorizer under the request deadline: min(StoreTimeout,
// the Lambda deadline less a margin), for the key re-read and, in strict
// mode, the session check.
type bounded struct {
	*authorizer.Authorizer
	timeout time.Duration
}

// Invoke implements lambda.Handler.
func (b bounded) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ctx, cancel := deadline.Bound(ctx, b.timeout)
	defer cancel()
	return b.Authorizer.Invoke(ctx, payload)
}
