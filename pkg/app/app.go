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
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/keys"
	"github.com/rotor-auth/rotor/pkg/mac"
	"github.com/rotor-auth/rotor/pkg/store/dynamo"
	"github.com/rotor-auth/rotor/pkg/token"
)

// Logger writes JSON lines to stdout, as CloudWatch Logs expects.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// LambdaAWS is the SDK configuration inside Lambda, read through lookup
// (os.LookupEnv) from the variables Lambda sets: the region, the function
// role's credentials, and AWS_ENDPOINT_URL when not empty (sam local, the
// emulator tests); with cfg's retries and timeouts (Retryer, HTTPClient). It
// skips LoadDefaultConfig's shared files, SSO, IMDS and STS credential chain,
// which a function never uses and which weigh about 2 MB of every bootstrap
// (BENCHMARKS.md).
func LambdaAWS(lookup func(string) (string, bool), cfg config.Config) (aws.Config, error) {
	get := func(k string) string { v, _ := lookup(k); return v }
	region := get("AWS_REGION")
	if region == "" {
		region = get("AWS_DEFAULT_REGION")
	}
	id, secret := get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")
	if region == "" || id == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("app: AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are required (Lambda sets them)")
	}
	c := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, get("AWS_SESSION_TOKEN")),
		Retryer:     Retryer(cfg),
		HTTPClient:  HTTPClient(cfg),
	}
	if u := get("AWS_ENDPOINT_URL"); u != "" {
		c.BaseEndpoint = aws.String(u)
	}
	return c, nil
}

// Retryer and HTTPClient make the SDK's clients give up inside one request's
// store deadline rather than the SDK's defaults (a 30 s dial, backoff up to
// 20 s): at most 3 attempts with backoff capped at a tenth of
// cfg.StoreTimeout, each attempt at most half of it, so one stalled
// connection still leaves time for a retry on a fresh one. No client-side
// retry quota: a quota that ran dry during an outage would fail requests
// after the store came back.
func Retryer(cfg config.Config) func() aws.Retryer {
	return func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = cfg.StoreTimeout / 10
			o.RateLimiter = ratelimit.None
		})
	}
}

// HTTPClient is the SDK's HTTP client with cfg's per-attempt timeouts (see Retryer).
func HTTPClient(cfg config.Config) *awshttp.BuildableClient {
	attempt := cfg.StoreTimeout / 2
	return awshttp.NewBuildableClient().
		WithTimeout(attempt).
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = attempt }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = attempt
			t.ResponseHeaderTimeout = attempt
		})
}

// DynamoStore returns the DynamoDB store for cfg's tables.
func DynamoStore(ac aws.Config, cfg config.Config) (*dynamo.Store, *dynamodb.Client) {
	db := dynamodb.NewFromConfig(ac)
	return dynamo.New(db, Tables(cfg)), db
}

// Tables names cfg's tables.
func Tables(cfg config.Config) dynamo.Tables {
	return dynamo.Tables{Users: cfg.UsersTable, Sessions: cfg.SessionsTable, Attempts: cfg.AttemptsTable, Outbox: cfg.OutboxTable}
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

// DevKeys returns a freshly generated key set for local runs.
func DevKeys(cfg config.Config) (keys.Static, error) {
	k, err := keys.Generate(cfg.SigningAlg, nil, time.Now())
	if err != nil {
		return keys.Static{}, err
	}
	return keys.Static{Current: k}, nil
}

// Verifier returns the access-token verifier for cfg.
func Verifier(cfg config.Config, ks keys.Source) *token.Verifier {
	return &token.Verifier{Keys: ks, Alg: cfg.SigningAlg, Issuer: cfg.Issuer, Audience: cfg.Audience, Leeway: cfg.ClockLeeway}
}
