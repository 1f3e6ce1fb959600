// Package serverstore opens the stores that live on a server Rotor connects
// to: PostgreSQL and Redis, with credentials from Secrets Manager. A package
// of its own so that only the programs that may use them link pgx and
// go-redis (the API functions, the authorizer, the local server).
package serverstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/sessions"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	rstore "github.com/rotor-auth/rotor/pkg/store/redis"
	"github.com/rotor-auth/rotor/pkg/throttle"
	"github.com/rotor-auth/rotor/pkg/users"
)

// Store is every store interface Rotor's flows use (apifn.Store; the login
// read spelled out, so the authorizer need not link pkg/auth).
type Store interface {
	users.Store
	sessions.Store
	throttle.Store
	GetLogin(ctx context.Context, username string, keys []string) (users.User, []throttle.State, error)
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

// Postgres returns the PostgreSQL store on a pool for url. The pool
// connects on first use; a Lambda function, which serves one request at a
// time, keeps maxConns (when > 0 and the URL sets no pool_max_conns).
func Postgres(ctx context.Context, url string, maxConns int32) (*postgres.Store, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("serverstore: ROTOR_DATABASE_URL does not parse") // may hold a password: not echoed
	}
	if maxConns > 0 && !strings.Contains(url, "pool_max_conns") {
		pc.MaxConns = maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("serverstore: postgres pool: %w", err)
	}
	return postgres.New(pool), nil
}

// Redis returns the Redis store for url (rediss:// for TLS), with the
// cluster client when cfg.RedisCluster is set. It connects on first use, and
// every call ends at its context's deadline (the request's store deadline),
// not at go-redis's own socket timeouts.
func Redis(cfg config.Config, url string) (*rstore.Store, error) {
	if cfg.RedisCluster {
		opt, err := goredis.ParseClusterURL(url)
		if err != nil {
			return nil, errors.New("serverstore: ROTOR_REDIS_URL does not parse as a cluster URL")
		}
		opt.ContextTimeoutEnabled = true
		return rstore.New(goredis.NewClusterClient(opt), cfg.RedisNamespace), nil
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, errors.New("serverstore: ROTOR_REDIS_URL does not parse")
	}
	opt.ContextTimeoutEnabled = true
	return rstore.New(goredis.NewClient(opt), cfg.RedisNamespace), nil
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
		return Postgres(ctx, u, maxConns)
	case "redis":
		u, err := ConnectionURL(ctx, sm, cfg.RedisURL, cfg.RedisSecretID)
		if err != nil {
			return nil, err
		}
		return Redis(cfg, u)
	}
	return nil, nil
}
