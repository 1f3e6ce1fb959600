package mac

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotor-auth/rotor/pkg/cached"
)

// Source gives the keyring in force.
type Source interface {
	Keyring(ctx context.Context) (Keyring, error)
}

// Static is a Source that never changes: local runs and tests.
type Static Keyring

// Keyring returns the keyring.
func (s Static) Keyring(context.Context) (Keyring, error) { return Keyring(s), nil }

// SecretsAPI is the part of the Secrets Manager client Fetch uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Parse turns one secret version into key material. The template generates
// the secret as a random string; its bytes are the key.
func Parse(secret string) ([]byte, error) {
	if secret == "" {
		return nil, ErrNoKey
	}
	if len(secret) < MinKeyLen {
		return nil, ErrShortKey
	}
	return []byte(secret), nil
}

// Fetch reads the AWSCURRENT version of the secret (which tags) and the
// AWSPREVIOUS one if there is one (which still verifies).
func Fetch(ctx context.Context, api SecretsAPI, secretID string) (Keyring, error) {
	cur, err := fetchVersion(ctx, api, secretID, "AWSCURRENT")
	if err != nil {
		return Keyring{}, err
	}
	prev, err := fetchVersion(ctx, api, secretID, "AWSPREVIOUS")
	var notFound *smtypes.ResourceNotFoundException
	switch {
	case err == nil:
		return NewKeyring(cur, prev)
	case errors.As(err, &notFound):
		return NewKeyring(cur)
	}
	return Keyring{}, err
}

func fetchVersion(ctx context.Context, api SecretsAPI, secretID, stage string) ([]byte, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID), VersionStage: aws.String(stage)})
	if err != nil {
		return nil, fmt.Errorf("mac: fetch %s: %w", stage, err)
	}
	k, err := Parse(aws.ToString(out.SecretString))
	if err != nil {
		return nil, fmt.Errorf("mac: parse %s: %w", stage, err)
	}
	return k, nil
}

// Cache is a Source that calls Fetch at most once per TTL: a cached.Value of
// the keyring, whose fields it has. A failed re-fetch keeps the last good
// keyring and retries after RetryAfter; with none yet it returns the error,
// so callers fail closed. No lock is held during a fetch, one fetch runs at
// a time, and while it runs a caller holding a keyring (even one past TTL)
// gets it at once. Set the fields before the first call; do not copy a Cache
// after.
type Cache cached.Value[Keyring]

// Keyring returns the cached keyring, fetching it when older than TTL.
func (c *Cache) Keyring(ctx context.Context) (Keyring, error) {
	return (*cached.Value[Keyring])(c).Get(ctx)
}
