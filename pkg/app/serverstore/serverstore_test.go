package serverstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/rotor-auth/rotor/pkg/app/serverstore"
	"github.com/rotor-auth/rotor/pkg/config"
	"github.com/rotor-auth/rotor/pkg/store/postgres"
	rstore "github.com/rotor-auth/rotor/pkg/store/redis"
)

func TestCredentials(t *testing.T) {
	tests := []struct {
		name, secret, user, pw string
		bad                    bool
	}{
		{"RDS-managed secret", `{"username":"rotor","password":"p@ss:/word"}`, "rotor", "p@ss:/word", false},
		{"bare password", "  s3cret \n", "", "s3cret", false},
		{"JSON without a password", `{"username":"rotor"}`, "", "", true},
		{"broken JSON", `{"username":`, "", "", true},
		{"empty", " ", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, p, err := serverstore.Credentials(tc.secret)
			if (err != nil) != tc.bad || u != tc.user || p != tc.pw {
				t.Fatalf("Credentials = %q, %q, %v", u, p, err)
			}
			if s := strings.TrimSpace(tc.secret); err != nil && s != "" && strings.Contains(err.Error(), s) {
				t.Fatalf("the error echoes the secret: %v", err)
			}
		})
	}
}

func TestWithCredentials(t *testing.T) {
	tests := []struct{ name, url, user, pw, want string }{
		{"postgres", "postgres://old:x@db:5432/rotor?sslmode=verify-full", "rotor", "p@ss/word", "postgres://rotor:p%40ss%2Fword@db:5432/rotor?sslmode=verify-full"},
		{"keeps the URL's user", "rediss://rotor@cache:6379", "", "pw", "rediss://rotor:pw@cache:6379"},
		{"no user at all", "rediss://cache:6379", "", "pw", "rediss://:pw@cache:6379"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serverstore.WithCredentials(tc.url, tc.user, tc.pw)
			if err != nil || got != tc.want {
				t.Fatalf("WithCredentials = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

type secrets map[string]string

func (s secrets) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := s[aws.ToString(in.SecretId)]
	if !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

// TestOpen: the store follows cfg.Store, with the credentials of the
// named secret; nothing connects before the first call.
func TestOpen(t *testing.T) {
	sm := secrets{"db": `{"username":"rotor","password":"pw"}`, "cache": "pw"}
	ctx := context.Background()
	cfg := config.Default()
	cfg.Store, cfg.DatabaseURL, cfg.DatabaseSecretID = "postgres", "postgres://db.invalid:5432/rotor", "db"
	st, err := serverstore.Open(ctx, cfg, sm, 2)
	if _, ok := st.(*postgres.Store); err != nil || !ok {
		t.Fatalf("postgres: %T, %v", st, err)
	}
	cfg.Store, cfg.RedisURL, cfg.RedisSecretID, cfg.RedisCluster = "redis", "rediss://cache.invalid:6379", "cache", true
	st, err = serverstore.Open(ctx, cfg, sm, 2)
	if _, ok := st.(*rstore.Store); err != nil || !ok {
		t.Fatalf("redis cluster: %T, %v", st, err)
	}
	cfg.RedisSecretID = "missing"
	if _, err := serverstore.Open(ctx, cfg, sm, 2); err == nil {
		t.Fatal("a missing secret must fail the cold start")
	}
	cfg.Store = "dynamodb"
	if st, err := serverstore.Open(ctx, cfg, sm, 2); st != nil || err != nil {
		t.Fatalf("dynamodb: %v, %v; want nil, nil", st, err)
	}
}
