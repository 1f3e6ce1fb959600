package keys

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/rotor-auth/rotor/pkg/cached"
)

// Source gives the key set in force.
type Source interface {
	Keys(ctx context.Context) (Set, error)
}

// Static is a Source that never changes: development keys and tests.
type Static Set

// Keys returns the set.
func (s Static) Keys(context.Context) (Set, error) { return Set(s), nil }

// SecretsAPI is the part of the Secrets Manager client that Fetch uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Fetch reads the AWSCURRENT and AWSPREVIOUS versions of the secret. A missing
// or placeholder previous version is not an error; a current version without a
// key is ErrNoKey.
func Fetch(ctx context.Context, api SecretsAPI, secretID string) (Set, error) {
	cur, err := fetchVersion(ctx, api, secretID, "AWSCURRENT")
	if err != nil {
		return Set{}, err
	}
	set := Set{Current: cur}
	prev, err := fetchVersion(ctx, api, secretID, "AWSPREVIOUS")
	var notFound *smtypes.ResourceNotFoundException
	switch {
	case err == nil && prev.ID != cur.ID:
		set.Previous = &prev
	case err == nil, errors.As(err, &notFound), errors.Is(err, ErrNoKey):
	default:
		return Set{}, err
	}
	return set, nil
}

func fetchVersion(ctx context.Context, api SecretsAPI, secretID, stage string) (Key, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId:     aws.String(secretID),
		VersionStage: aws.String(stage),
	})
	if err != nil {
		return Key{}, fmt.Errorf("keys: fetch %s: %w", stage, err)
	}
	k, err := Parse([]byte(aws.ToString(out.SecretString)))
	if err != nil {
		return Key{}, fmt.Errorf("keys: parse %s: %w", stage, err)
	}
	return k, nil
}

// Cache is a Source that calls Fetch at most once per TTL: a cached.Value of
// the key set, whose fields it has. When a re-fetch fails it keeps serving
// the last good set (they are still genuine keys) and tries again after
// RetryAfter; with no good set it returns the error, so callers fail closed.
// Refresh re-reads sooner, at most once per RefreshEvery (default 5 s):
// however many tokens name unknown key ids, they cause at most one Secrets
// Manager read per interval. No lock is held during a fetch, one fetch runs
// at a time, and while it runs a caller holding a set (even one past TTL)
// gets it at once. Set the fields before the first call; do not copy a Cache
// after.
type Cache cached.Value[Set]

// Keys returns the cached set, fetching it when it is older than TTL. With a
// fresh set it takes no lock and allocates nothing: it is on the path of
// every token verification.
func (c *Cache) Keys(ctx context.Context) (Set, error) { return (*cached.Value[Set])(c).Get(ctx) }

// Refresh returns the set as Secrets Manager has it now: it waits for the
// fetch in flight if there is one, else fetches unless the last fetch is less
// than RefreshEvery old. A verifier calls it when a token names a key id the
// cached set lacks: the key may be newer than the cache. A failed fetch keeps
// the cached set, as in Keys.
func (c *Cache) Refresh(ctx context.Context) (Set, error) {
	return (*cached.Value[Set])(c).Refresh(ctx)
}
