package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/auth"
	"github.com/rotor-auth/rotor/pkg/authorizer"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/httpapi"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/password"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/store/memory"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/token"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Store is everything Rotor keeps.
type Store interface {
	users.Store
	sessions.Store
	throttle.Store
	auth.LoginStore
}

// Deps are the outside world: where state lives and where keys come from.
type Deps struct {
	Store Store
	Keys  keys.Source
	MAC   mac.Source // the server MAC key: tags refresh tokens
	Log   *slog.Logger
}

// Logger writes JSON lines to stdout, as CloudWatch Logs expects.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// AWS loads the SDK configuration the standard way (environment, shared
// files, the Lambda role; AWS_ENDPOINT_URL and friends for local endpoints),
// with retries and timeouts that fit inside cfg.StoreTimeout (see SDKOptions).
func AWS(ctx context.Context, cfg config.Config) (aws.Config, error) {
	c, err := awsconfig.LoadDefaultConfig(ctx, SDKOptions(cfg)...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("app: aws config: %w", err)
	}
	return c, nil
}

// SDKOptions make the SDK's clients give up inside one request's store
// deadline rather than the SDK's defaults (a 30 s dial, backoff up to 20 s):
// at most 3 attempts with backoff capped at a tenth of cfg.StoreTimeout, each
// attempt at most half of it, so one stalled connection still leaves time for
// a retry on a fresh one. No client-side retry quota: a quota that ran dry
// during an outage would fail requests after the store came back.
func SDKOptions(cfg config.Config) []func(*awsconfig.LoadOptions) error {
	attempt := cfg.StoreTimeout / 2
	return []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = cfg.StoreTimeout / 10
				o.RateLimiter = ratelimit.None
			})
		}),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().
			WithTimeout(attempt).
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = attempt }).
			WithTransportOptions(func(t *http.Transport) {
				t.TLSHandshakeTimeout = attempt
				t.ResponseHeaderTimeout = attempt
			})),
	}
}

// DynamoStore returns the DynamoDB store for cfg's tables.
func DynamoStore(ac aws.Config, cfg config.Config) (*dynamo.Store, *dynamodb.Client) {
	db := dynamodb.NewFromConfig(ac)
	return dynamo.New(db, Tables(cfg)), db
}

// Tables names cfg's tables.
func Tables(cfg config.Config) dynamo.Tables {
	return dynamo.Tables{Users: cfg.UsersTable, Sessions: cfg.SessionsTable, Attempts: cfg.AttemptsTable}
}

// SecretKeys returns a key source reading cfg's secret from Secrets Manager,
// cached for cfg.KeyCacheTTL. Nothing is fetched until a key is needed, so
// functions that never touch keys (signup, me) need no access to the secret.
func SecretKeys(ac aws.Config, cfg config.Config) (*keys.Cache, error) {
	if cfg.SigningSecretID == "" {
		return nil, fmt.Errorf("app: ROTOR_SIGNING_SECRET_ID is required")
	}
	sm := secretsmanager.NewFromConfig(ac)
	return &keys.Cache{
		TTL:   cfg.KeyCacheTTL,
		Fetch: func(ctx context.Context) (keys.Set, error) { return keys.Fetch(ctx, sm, cfg.SigningSecretID) },
	}, nil
}

// SecretMAC returns the server MAC key read from cfg's secret, cached like
// the signing keys. Nothing is fetched until a refresh token is made or read.
func SecretMAC(ac aws.Config, cfg config.Config) (*mac.Cache, error) {
	if cfg.MACSecretID == "" {
		return nil, fmt.Errorf("app: ROTOR_MAC_SECRET_ID is required")
	}
	sm := secretsmanager.NewFromConfig(ac)
	return &mac.Cache{
		TTL:   cfg.KeyCacheTTL,
		Fetch: func(ctx context.Context) (mac.Keyring, error) { return mac.Fetch(ctx, sm, cfg.MACSecretID) },
	}, nil
}

// Warm fetches the keys during the cold start, where the authorizer (on the
// path of every protected request) would otherwise pay for it on its first
// request. A failure is not fatal: the first request retries.
func Warm(ctx context.Context, ks keys.Source, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := ks.Keys(ctx); err != nil {
		log.Warn("signing keys not loaded at start; will retry", "event", "keys_unavailable", "cause", err.Error())
		return
	}
	// The cold start's share spent on the key fetch (scripts/coldstart.sh reads it).
	log.Info("signing keys loaded", "event", "keys_loaded", "duration_ms", float64(time.Since(start).Microseconds())/1000)
}

// FromAWS builds the production dependencies: DynamoDB and Secrets Manager.
func FromAWS(ctx context.Context, cfg config.Config) (Deps, error) {
	log := Logger()
	ac, err := AWS(ctx, cfg)
	if err != nil {
		return Deps{}, err
	}
	st, _ := DynamoStore(ac, cfg)
	ks, err := SecretKeys(ac, cfg)
	if err != nil {
		return Deps{}, err
	}
	d := Deps{Store: st, Keys: ks, Log: log}
	// Functions that never touch refresh tokens (me, jwks, the authorizer,
	// sessions, password) are not given the MAC secret.
	if cfg.MACSecretID != "" {
		if d.MAC, err = SecretMAC(ac, cfg); err != nil {
			return Deps{}, err
		}
	}
	return d, nil
}

// DevKeys returns a freshly generated key set for local runs.
func DevKeys(cfg config.Config) (keys.Static, error) {
	k, err := keys.Generate(cfg.SigningAlg, nil, time.Now())
	if err != nil {
		return keys.Static{}, err
	}
	return keys.Static{Current: k}, nil
}

// Memory builds local dependencies: the embedded store and development keys.
func Memory(cfg config.Config, log *slog.Logger) (Deps, error) {
	ks, err := DevKeys(cfg)
	if err != nil {
		return Deps{}, err
	}
	ring, err := mac.Generate(nil)
	if err != nil {
		return Deps{}, err
	}
	return Deps{Store: memory.New(), Keys: ks, MAC: mac.Static(ring), Log: log}, nil
}

// Verifier returns the access-token verifier for cfg.
func Verifier(cfg config.Config, ks keys.Source) *token.Verifier {
	return &token.Verifier{Keys: ks, Alg: cfg.SigningAlg, Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: cfg.ClockLeeway}
}

// Service returns the flows.
func Service(cfg config.Config, d Deps) (*auth.Service, error) {
	h, err := password.NewHasher(password.OWASP, nil)
	if err != nil {
		return nil, err
	}
	return &auth.Service{
		Users:      d.Store,
		Logins:     d.Store,
		Attempts:   d.Store,
		Throttle:   throttle.Policy{MaxFailures: cfg.LoginMaxFailures, Base: cfg.LoginBackoffBase, Max: cfg.LoginBackoffMax},
		IPThrottle: throttle.Policy{MaxFailures: cfg.IPMaxFailures, Base: cfg.IPBackoffBase, Max: cfg.IPBackoffMax},
		MAC:        d.MAC,
		Sessions: &sessions.Manager{
			Store:      d.Store,
			MAC:        d.MAC,
			IdleTTL:    cfg.RefreshTokenTTL,
			MaxTTL:     cfg.SessionMaxTTL,
			Grace:      cfg.RefreshGrace,
			MaxPerUser: cfg.MaxSessionsPerUser,
		},
		Passwords:   h,
		Tokens:      &token.Issuer{Keys: d.Keys, Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTokenTTL},
		Log:         d.Log,
		Fingerprint: usernameFingerprint(d.MAC),
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
	return &httpapi.API{Auth: svc, Verifier: Verifier(cfg, d.Keys), Keys: d.Keys, CORSOrigin: cfg.CORSAllowOrigin, Log: d.Log, StoreTimeout: cfg.StoreTimeout, Issuer: cfg.Issuer, SigningAlg: cfg.SigningAlg}, nil
}

// Authorizer returns the Lambda authorizer; strict mode checks sessions.
func Authorizer(cfg config.Config, d Deps) *authorizer.Authorizer {
	a := &authorizer.Authorizer{Verifier: Verifier(cfg, d.Keys), Log: d.Log}
	if cfg.AuthorizerCacheTTL > 0 {
		a.Cache = &authorizer.Cache{TTL: cfg.AuthorizerCacheTTL}
	}
	if cfg.StrictSessions {
		a.Sessions = &sessions.Manager{Store: d.Store}
	}
	return a
}
