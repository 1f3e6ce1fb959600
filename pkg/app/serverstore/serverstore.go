// Package serverstore opens the stores that live on a server Rotor connects
// to: PostgreSQL and Redis, with credentials from Secrets Manager. A package
// of its own so that only the programs that may use them link pgx and
// go-redis (the API functions, the authorizer, the local server). The Lambda
// build leaves each out unless asked for (build tags rotor_nopostgres and
// rotor_noredis, set by the Makefile from ROTOR_STORES), so a DynamoDB
// deployment's binaries carry neither client.
package serverstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/dpop"
	"github.com/rotor-auth/rotor/pkg/mfa"
	"github.com/rotor-auth/rotor/pkg/onetime"
	"github.com/rotor-auth/rotor/pkg/outbox"
	"github.com/rotor-auth/rotor/pkg/passkey"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Store is every store interface Rotor's flows and its operator CLI use
// (apifn.Store; the login read and auth.AccountStore spelled out, so the
// authorizer need not link pkg/auth; apifn checks at compile time that a
// Store is an auth.AccountStore). A wrapper that embeds a Store forwards
// every method, the account operations included.
type Store interface {
	users.Store
	users.Locker
	sessions.Store
	throttle.Store
	// mfa.Store: every store keeps factors, so no deployment can run with
	// MFA silently off (a login reads the factor through it).
	mfa.Store
	// passkey.Store: every store keeps passkeys and their challenges.
	passkey.Store
	// dpop.ReplayCache: every store spends DPoP proofs for all containers.
	dpop.ReplayCache
	GetLogin(ctx context.Context, username string, keys []string) (users.User, []throttle.State, error)
	ReserveLogin(ctx context.Context, username string, counters []throttle.Counter, now time.Time) (users.User, time.Time, throttle.Reservation, error)

	// auth.AccountStore, method by method.
	CreateAccount(ctx context.Context, u users.User, verify onetime.Record, sent, taken outbox.Message) error
	IssueToken(ctx context.Context, rec onetime.Record, msgs ...outbox.Message) error
	GetToken(ctx context.Context, id string) (onetime.Record, error)
	UseToken(ctx context.Context, u onetime.Use) (users.User, error)
	UserByEmail(ctx context.Context, email string) (users.User, error)
	ChangePassword(ctx context.Context, username, userID string, epoch int64, hash string, now time.Time, msgs ...outbox.Message) error
	AddMessages(ctx context.Context, msgs ...outbox.Message) error
}

// SecretValueAPI is the Secrets Manager call that reads connection credentials.
type SecretValueAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Credentials reads a connection secret: JSON with "username" and "password"
// (the shape of an RDS-managed or ElastiCache user secret), or a bare
// password. The username may be empty (Redis's default user).
func Credentials(secret string) (username, password string, err error) {
	s := strings.TrimSpace(secret)
	if !strings.HasPrefix(s, "{") {
		if s == "" {
			return "", "", errors.New("serverstore: empty connection secret")
		}
		return "", s, nil
	}
	var v struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "", "", errors.New("serverstore: connection secret is neither JSON {username, password} nor a password")
	}
	if v.Password == "" {
		return "", "", errors.New("serverstore: connection secret has no password")
	}
	return v.Username, v.Password, nil
}

// WithCredentials returns rawURL with its user and password replaced (the
// user kept when username is empty).
func WithCredentials(rawURL, username, password string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", errors.New("serverstore: connection URL does not parse") // the URL may hold a password: not echoed
	}
	if username == "" && u.User != nil {
		username = u.User.Username()
	}
	u.User = url.UserPassword(username, password)
	return u.String(), nil
}

// ConnectionURL is rawURL with the credentials of secretID when it is set.
func ConnectionURL(ctx context.Context, sm SecretValueAPI, rawURL, secretID string) (string, error) {
	if secretID == "" {
		return rawURL, nil
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return "", fmt.Errorf("serverstore: read connection secret: %w", err)
	}
	user, pw, err := Credentials(aws.ToString(out.SecretString))
	if err != nil {
		return "", err
	}
	return WithCredentials(rawURL, user, pw)
}

// Open returns the PostgreSQL or Redis store cfg names, its credentials read
// from Secrets Manager (sm) when cfg names a secret; nil for any other store.
func Open(ctx context.Context, cfg config.Config, sm SecretValueAPI, maxConns int32) (Store, error) {
	switch cfg.Store {
	case "postgres":
		u, err := ConnectionURL(ctx, sm, cfg.DatabaseURL, cfg.DatabaseSecretID)
		if err != nil {
			return nil, err
		}
		return openPostgres(ctx, u, maxConns)
	case "redis":
		u, err := ConnectionURL(ctx, sm, cfg.RedisURL, cfg.RedisSecretID)
		if err != nil {
			return nil, err
		}
		return openRedis(cfg, u)
	}
	return nil, nil
}

// notBuilt is the error of a store this binary was built without.
func notBuilt(store, tag string) error {
	return fmt.Errorf("serverstore: this binary was built without the %s store (build tag %s): build with ROTOR_STORES=%s, e.g. `ROTOR_STORES=%s sam build`", store, tag, store, store)
}
