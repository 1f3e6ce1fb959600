package keys

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
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

// Cache is a Source that calls Fetch at most once per TTL. When a re-fetch
// fails it keeps serving the last good set (they are still genuine keys) and
// tries again after RetryAfter; with no good set it returns the error, so
// callers fail closed. Refresh re-reads sooner, at most once per RefreshEvery.
type Cache struct {
	Fetch      func(ctx context.Context) (Set, error)
	TTL        time.Duration
	RetryAfter time.Duration // default 10s
	// RefreshEvery is the least time between a fetch and one that Refresh
	// asks for (default 5s): however many tokens name unknown key ids, they
	// cause at most one Secrets Manager read per interval.
	RefreshEvery time.Duration
	Now          func() time.Time // default time.Now

	mu        sync.Mutex
	set       Set
	have      bool
	nextFetch time.Time
	lastFetch time.Time
}

// Keys returns the cached set, fetching it when it is older than TTL.
func (c *Cache) Keys(ctx context.Context) (Set, error) { return c.get(ctx, false) }

// Refresh returns the set as Secrets Manager has it now, fetching it unless
// the last fetch is less than RefreshEvery old. A verifier calls it when a
// token names a key id the cached set lacks: the key may be newer than the
// cache. A failed fetch keeps the cached set, as in Keys.
func (c *Cache) Refresh(ctx context.Context) (Set, error) { return c.get(ctx, true) }

func (c *Cache) get(ctx context.Context, refresh bool) (Set, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t := now()
	due := !c.have || !t.Before(c.nextFetch)
	if refresh && !due {
		every := c.RefreshEvery
		if every <= 0 {
			every = 5 * time.Second
		}
		due = !t.Before(c.lastFetch.Add(every))
	}
	if !due {
		return c.set, nil
	}
	c.lastFetch = t
	set, err := c.Fetch(ctx)
	if err != nil {
		if c.have {
			retry := c.RetryAfter
			if retry <= 0 {
				retry = 10 * time.Second
			}
			c.nextFetch = t.Add(retry)
			return c.set, nil
		}
		return Set{}, err
	}
	c.set, c.have, c.nextFetch = set, true, t.Add(c.TTL)
	return set, nil
}
